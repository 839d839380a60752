"""The findings page is the chapters' stored verdicts, every outcome rendered as the library states
it; the power figure predicts a design's MDE from the variance components of a run."""

import json

import numpy as np
import pytest

from elastic import claims, findings, power, results
from elastic.errors import ElasticError


def _save(preset, chapter, data):
    path = results.path(chapter, preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": chapter, "preset": preset, "data": data}))


def _rows(table: str) -> dict:
    return {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}


def test_table_holds_each_stored_verdict_and_says_what_has_not_run(results_tmp):
    """Synthetic results of every outcome: each row carries the chapter's verdict exactly as
    claims.describe writes it (what the chapters glue), a chapter that has not run says so, and a
    chapter that ran without a verdict on a claim says that instead."""
    shows = claims.judge("rebound", [1.0, 1.1, 0.9], scale=4.0)
    contradicts = claims.judge("dpo_rebound", [-1.0, -1.1, -0.9], scale=4.0)
    inconclusive = claims.judge("reverse_rebound", [-1.0, 1.0, 0.2], scale=10.0)
    not_judged = claims.not_judged("rebound_size", "one model size")
    assert [v["outcome"] for v in (shows, contradicts, inconclusive)] == [power.SHOWS, power.CONTRADICTS,
                                                                           power.INCONCLUSIVE]
    _save("smoke", "rebound", {"claims": {"rebound": shows}})
    _save("smoke", "ablations", {"claims": {"dpo_rebound": contradicts, "reverse_rebound": inconclusive}})
    _save("smoke", "scaling", {"claims": {"rebound_size": not_judged}})
    table = findings.markdown(("smoke", "cpu"))
    rows = _rows(table)
    assert "`cpu`" not in table.splitlines()[0]  # a preset with no results has no column
    for name, verdict in (("rebound", shows), ("dpo_rebound", contradicts), ("reverse_rebound", inconclusive),
                          ("rebound_size", not_judged)):
        row = rows[findings._cell(claims.CLAIMS[name].paper)]
        assert findings._cell(claims.describe(verdict)) in row and f"{{doc}}`{claims.CLAIMS[name].chapter}`" in row
    assert "MDE" in claims.describe(inconclusive) and "MDE" not in claims.describe(shows)
    assert "not judged by this run's chapter yet" in rows[findings._cell(claims.CLAIMS["rebound_volume"].paper)]
    assert "not run" in rows[findings._cell(claims.CLAIMS["resistance"].paper)]
    assert len(rows) == len(claims.CLAIMS) + len(findings.THEORY)


def test_theory_rows_read_the_audits(results_tmp):
    _save("smoke", "mass_distribution", {"verdict": {"assumption_holds": False},
                                         "summary": {"whole_ruled_out": "7 of 9", "tail_plausible": "5 of 9"}})
    row = _rows(findings.markdown(("smoke",)))[findings.THEORY[2].paper]
    assert "**contradicts**: a Pareto law for the whole distribution is ruled out in 7 of 9" in row


def test_unknown_claim_in_a_results_file_is_an_error(results_tmp):
    _save("smoke", "rebound", {"claims": {"no_such_claim": {}}})
    with pytest.raises(ElasticError, match="unknown claims"):
        findings.markdown(("smoke",))


def test_nothing_run_says_how_to_run_it(results_tmp):
    assert "regenerate" in findings.markdown(("smoke",))


def _lifecycle_data(rng, n_seeds=4, n_pairs=16, effect=0.1, sd=0.05):
    """A lifecycle results file whose main panel has a known per-pair rebound: drop difference
    ~ N(effect, sd) per pair, no seed effect."""
    seeds = []
    for k in range(n_seeds):
        drops = rng.normal(effect, sd, n_pairs)
        cells = np.zeros((2, 3, n_pairs))
        cells[:, 0] = 1.0
        cells[1, 1] = 1.0 - drops - 0.2
        cells[0, 1] = 1.0 - 0.2
        seeds.append({"seed": k, "base": [0.0] * n_pairs, "cells": cells.tolist()})
    panel = {"model": [2, 64], "volume": 100, "sign": 1, "first_sizes": [4, 16], "second_sizes": [4, 8],
             "n_pairs": n_pairs, "seeds": seeds}
    verdict = claims.judge("lifecycle_rebound", claims.rebound(panel), np.mean(claims.gain(panel)))
    return {"panels": [panel], "main": {"model": [2, 64], "volume": 100}, "claims": {"lifecycle_rebound": verdict}}


def test_power_curves_through_a_run_predict_its_own_mde(results_tmp, tmp_path):
    """With no seed effect, the design curve through the run's own design gives the run's own
    MDE (within the noise of the spread's estimate), and more seeds or more pairs never hurt."""
    data = _lifecycle_data(np.random.default_rng(0))
    _save("cpu", "lifecycle", data)
    curves = findings.design_curves("cpu")
    assert list(curves) == ["lifecycle_rebound"]
    c = curves["lifecycle_rebound"]
    assert c["n_seeds"] == 4 and c["n_units"] == 16 and sorted(c["mde_over_scale"]) == [4, 16, 64]
    predicted = c["mde_over_scale"][16][c["seeds"].index(4)]
    assert predicted == pytest.approx(data["claims"]["lifecycle_rebound"]["mde_ratio"], rel=0.5)
    assert all(np.diff(c["mde_over_scale"][16]) < 0) and c["mde_over_scale"][64][0] <= c["mde_over_scale"][4][0]
    text = findings.power_markdown(tmp_path, "cpu")
    assert "power.png" in text and (tmp_path / "power.png").stat().st_size > 1000
    assert "judged" in findings.power_markdown(tmp_path, "smoke")


def test_claims_without_stored_units_get_a_curve_over_seeds(results_tmp):
    _save("cpu", "ablations", {"claims": {"dpo_rebound": claims.judge("dpo_rebound", [0.1, 0.3, 0.2], scale=1.0)}})
    c = findings.design_curves("cpu")["dpo_rebound"]
    assert list(c["mde_over_scale"]) == [1]
    # at the run's own number of seeds the prediction is the run's MDE exactly (same SE, same df)
    assert c["mde_over_scale"][1][c["seeds"].index(3)] == pytest.approx(c["observed"])


def test_one_unit_per_seed_falls_back_to_the_seeds_spread(results_tmp):
    """A resistance run with one cell per seed has no within-seed variance to measure."""
    rows = [{"model": "m", "dataset": "d", "seeds": [
        {"seed": k, "pairs": [{"forward_kl": 0.2 + e, "inverse_kl": 0.1, "forward": 1.0, "inverse": 0.9}]}
        for k, e in enumerate([0.0, 0.02, -0.01])]}]
    from elastic.experiments import resistance

    _save("smoke", "resistance", {"rows": rows, "seeds": [0, 1, 2], "claims": resistance.judge(rows, [0, 1, 2])})
    c = findings.design_curves("smoke")
    assert list(c["resistance"]["mde_over_scale"]) == [1]
