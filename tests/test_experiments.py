"""The experiments of §4 and Appendix C: verdicts on hand-made curves and corners, clear errors for
bad input, identical results from identical seeds, and a seeded rebound grid that survives SIGKILL
(the claims' statistics on hand-made panels are in test_claims.py)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from elastic import experiments
from elastic.errors import ElasticError
from elastic import rebound_grid, tasks
from elastic.experiments import ablations, rebound, resistance

#: A rebound grid small enough for a test: 1 pre-training run; per seed 1 first pass with 2 slices
#: and 2 second passes with 2 slices each; 7 margin cells per seed, 7 secondary cells for seed 0.
TINY_GRID = {"models": ("tiny-1x16@40",), "positive_sizes": (4, 8), "negative_sizes": (4, 8),
             "seeds": (0, 1), "n_pairs": 2, "n_eval": 2, "max_new_tokens": 6, "max_length": 48,
             "num_threads": 1}


def tiny_config(cache, **overrides):
    return experiments.load_config("rebound", "smoke", cache_dir=str(cache), **{**TINY_GRID, **overrides})


# --- verdicts on numbers computed by hand ----------------------------------------------------------

def hand_curve(sizes, cells):
    """A curve from each model's per-prompt scores (constants stand for prompts that agree)."""
    cells = [c if isinstance(c, list) else [c] * 4 for c in cells]
    return {"second_sizes": sizes, "metric": [float(np.mean(c)) for c in cells], "per_prompt": cells}


def test_rebound_verdict_on_hand_made_curves():
    # more positive data: higher start, larger first fall; every curve falls fast, then slowly
    curves = [hand_curve([0, 10, 20, 40], [[0.9, 0.7, 0.8, 0.8], [0.7, 0.7, 0.6, 0.8], 0.65, 0.6]),
              hand_curve([0, 10, 20, 40], [0.9, 0.6, 0.55, 0.5])]
    v = rebound_grid.rebound_verdict(curves, +1)
    assert v["initial_drop"] == pytest.approx([0.1, 0.3])
    assert v["drop_grows_with_first_size"] and v["fast_then_slow"]
    assert v["early_rate"] == pytest.approx((0.01 + 0.03) / 2)
    assert v["late_rate"] == pytest.approx((0.05 / 20 + 0.05 / 20) / 2)
    assert v["rebound_strength"] == pytest.approx(0.2)
    # paired over the 4 prompts: drops (0.2, 0, 0.2, 0) and 0.3 each; their sd is 0.2/sqrt(3)
    assert v["initial_drop_se"] == pytest.approx([0.1 / np.sqrt(3), 0.0])
    assert v["drop_difference"] == pytest.approx(0.2)
    assert v["drop_difference_se"] == pytest.approx(0.1 / np.sqrt(3))
    assert v["drop_difference_beyond_noise"]  # 0.2 > 2 * 0.0577
    # a cost (lower is more aligned): the same numbers read the other way round
    flipped = rebound_grid.rebound_verdict(curves, -1)
    assert flipped["initial_drop"] == pytest.approx([-0.1, -0.3])
    assert not flipped["drop_grows_with_first_size"]
    # scores that rise under negative data show no rebound, however the rises compare
    rising = [hand_curve([0, 10, 20], [0.5, 0.51, 0.6]), hand_curve([0, 10, 20], [0.5, 0.5, 0.55])]
    v = rebound_grid.rebound_verdict(rising, +1)
    assert v["initial_drop"] == pytest.approx([-0.01, 0.0])
    assert v["drop_grows_with_first_size"] is False and v["fast_then_slow"] is False
    assert rebound_grid.rebound_verdict(rising[:1], +1)["drop_grows_with_first_size"] is None


def test_a_difference_inside_its_noise_is_not_beyond_noise():
    # drops (0.4, -0.2, 0.4, -0.2) against 0.1 each: mean difference 0, clearly noise
    curves = [hand_curve([0, 10], [[0.9, 0.5, 0.9, 0.5], [0.5, 0.7, 0.5, 0.7]]), hand_curve([0, 10], [0.6, 0.5])]
    v = rebound_grid.rebound_verdict(curves, +1)
    assert v["drop_difference"] == pytest.approx(0.0, abs=1e-12)
    assert v["drop_difference_se"] == pytest.approx(np.std([0.3, -0.3, 0.3, -0.3], ddof=1) / 2)
    assert v["drop_difference_beyond_noise"] is False


def test_kl_table_from_the_corners():
    # two seeds; the smallest positive amount starts at KL 0.05 and ends at 0.02, the largest
    # starts at 0.08 and ends at 0.005 after 200 negative samples: only the latter crosses ε = 0.01
    corners = {"first_start": 0.05, "last_start": 0.08, "first_end": 0.02, "last_end": 0.005}
    panel = {"first_sizes": [10, 20], "second_sizes": [100, 200], "kl": [corners, corners]}
    table = ablations.kl_table(panel, 0.01)
    first, last = table["rows"]["first"], table["rows"]["last"]
    assert (first["positive_size"], last["positive_size"], table["negative_size"]) == (10, 20, 200)
    assert (first["post_alignment_kl"], last["kl_after_negative"]) == (0.05, 0.005)
    assert first["negative_needed"] is None
    assert last["negative_needed"] == pytest.approx(200 * 0.07 / 0.075)


def test_kl_sentences_name_each_amount_once_and_say_when_no_data_is_needed():
    """One positive amount gives one row, not "4 and 4"; a KL below ε before any negative data
    needs none (not "0.0"); a KL the grid never brings below ε is said to be out of the grid."""
    def data(first_sizes, corners):
        panel = {"model": "m", "seeds": [0, 1], "n_pairs": 2, "first_sizes": first_sizes, "second_sizes": [4, 8],
                 "kl": [corners] * 2}
        panel["table"] = ablations.kl_table(panel, 0.01)
        verdict = {"outcome": "not judged", "claim": "c", "reason": "one amount of positive data"}
        return {"dpo": {"panels": [panel]}, "kl": {"panels": [panel]},
                "claims": {"dpo_rebound": verdict, "reverse_rebound": verdict, "kl_table": verdict}}

    one = ablations.summary(data([4], {"first_start": 0.005, "last_start": 0.005, "first_end": 0.002, "last_end": 0.002}), None)
    assert (one["ab_kl_amounts"], one["ab_kl_post"]) == ("4", "0.005")
    assert one["ab_kl_needed"] == "none: it is below ε before any"
    two = ablations.summary(data([4, 16], {"first_start": 0.05, "last_start": 0.08, "first_end": 0.02, "last_end": 0.005}), None)
    assert two["ab_kl_amounts"] == "4 and 16" and two["ab_kl_end"] == "0.02 and 0.005"
    assert two["ab_kl_needed"] == f"not within the grid and {8 * 0.07 / 0.075:.1f} samples"


def test_one_amount_is_not_judged():
    seed = {"seed": 0, "base": [0.0, 0.0], "cells": [[[1.0, 1.0], [0.5, 0.5]]]}
    panel = {"sign": 1, "first_sizes": [4], "second_sizes": [4], "seeds": [seed, {**seed, "seed": 1}]}
    v = rebound.verdicts(panel)
    assert v["rebound"]["outcome"] == v["rebound_decelerates"]["outcome"] == "not judged"
    assert "one amount of positive data" in v["rebound"]["reason"]
    kl = {**panel, "kl": [{"first_start": 1, "last_start": 1, "first_end": 1, "last_end": 1}] * 2}
    assert all(x["outcome"] == "not judged" for x in ablations.verdicts(panel, panel, kl).values())


def _resistance_rows(kl_gaps, ce_gaps):
    """One model and dataset; per seed, per pair of slices: forward minus inverse in KL and CE
    around residual KLs of 1.0 (so the natural scale is 1.0)."""
    def pair(kl, ce):
        return {"forward_kl": 1 + kl / 2, "inverse_kl": 1 - kl / 2, "forward": 3 + ce, "inverse": 3.0}
    return [{"model": "m", "dataset": "d",
             "seeds": [{"seed": k, "pairs": [pair(*g) for g in zip(kl, ce)]} for k, (kl, ce) in enumerate(zip(kl_gaps, ce_gaps))]}]


def test_resistance_verdicts_over_seeds_have_known_answers():
    """A planted forward-minus-inverse gap is found, in its own metric only; the estimate is the
    mean over seeds of the seeds' means over their cells."""
    kl = [[0.10, 0.14], [0.11, 0.13], [0.12, 0.12]]      # every seed's mean 0.12: inverse easier in KL
    ce = [[-0.2, 0.1], [0.3, -0.1], [0.0, -0.2]]         # seed means -0.05, 0.1, -0.1: no effect
    v = resistance.judge(_resistance_rows(kl, ce), seeds=[0, 1, 2])
    assert v["resistance"]["outcome"] == "shows" and v["resistance"]["estimate"] == pytest.approx(0.12)
    assert v["resistance"]["scale"] == pytest.approx(1.0) and v["resistance"]["n_seeds"] == 3
    assert v["resistance_loss"]["outcome"] == "inconclusive"
    assert v["resistance_loss"]["estimate"] == pytest.approx(-0.05 / 3)
    flipped = resistance.judge(_resistance_rows([[-x for x in s] for s in kl], ce), seeds=[0, 1, 2])
    assert flipped["resistance"]["outcome"] == "contradicts"


# --- one-line errors that name the fix -------------------------------------------------------------

def one_line(exc) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_unknown_dataset():
    with pytest.raises(ElasticError) as exc:
        tasks.records("imbd", "positive", 4, 0)
    assert "valid datasets" in one_line(exc) and "imdb" in one_line(exc)


def test_size_larger_than_the_split(tmp_path):
    source = tmp_path / "imdb.jsonl"
    source.write_text("".join(json.dumps({"text": f"review {i} was fine", "label": i % 2}) + "\n" for i in range(6)))
    assert len(tasks.records("imdb", "positive", 3, 0, str(source))) == 3
    with pytest.raises(ElasticError) as exc:
        tasks.records("imdb", "positive", 10, 0, str(source))
    assert "only 3" in one_line(exc) and "lower n" in one_line(exc)


def test_rebound_runs_on_kaggles_imdb_csv(tmp_path, results_tmp):
    """Kaggle's "IMDB Dataset.csv" (review, sentiment = positive/negative) as the imdb source of a
    smoke-sized rebound grid: every held-out prompt comes from the file."""
    import csv

    from elastic import data

    source = tmp_path / "IMDB Dataset.csv"
    with open(source, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        for side in ("positive", "negative"):
            writer.writerows((f"Kaggle{side}{i} {text}<br /><br />The end.", side)
                             for i, text in enumerate(data.reviews(12, side, 0)))
    cfg = tiny_config(tmp_path / "cache", datasets=("imdb",), source=str(source), positive_sizes=(4,),
                      negative_sizes=(4,))
    panel = rebound.run(cfg)["data"]["panels"][0]
    assert panel["dataset"] == "imdb" and panel["task"] == "sentiment"
    assert (panel["first_sizes"], panel["second_sizes"]) == ([4], [4])
    prompts = panel["secondary"]["prompts"]
    assert prompts and all(p.startswith("Kaggle") for p in prompts), prompts


def test_hub_id_offline(tmp_path, results_tmp, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: nothing to fall back on
    with pytest.raises(ElasticError) as exc:
        rebound.run(tiny_config(tmp_path, models=("Qwen/Qwen2.5-0.5B",)))
    # offline with an empty cache: the id is not cached, and the fix is a local copy
    assert "not in the local Hugging Face cache" in one_line(exc) and "local model directory" in one_line(exc)


def test_missing_gguf(tmp_path, results_tmp):
    with pytest.raises(ElasticError) as exc:
        rebound.run(tiny_config(tmp_path, models=(str(tmp_path / "missing.gguf"),)))
    assert "not found" in one_line(exc) and "smollm2" in one_line(exc)


def test_odd_n_eval(tmp_path, results_tmp):
    with pytest.raises(ElasticError, match="must be even"):
        rebound.run(tiny_config(tmp_path, n_eval=3))


@pytest.mark.parametrize("bad, match", [({"seeds": (0,)}, "at least 2 distinct seeds"),
                                        ({"positive_sizes": (8, 4)}, "increasing"),
                                        ({"negative_sizes": (2, 4)}, "not whole optimizer steps"),
                                        ({"n_eval": 4}, "more than n_pairs")])
def test_bad_grids_name_the_fix(tmp_path, results_tmp, bad, match):
    with pytest.raises(ElasticError, match=match) as exc:
        rebound.run(tiny_config(tmp_path, **bad))
    one_line(exc)


# --- determinism and resumption ---------------------------------------------------------------------
# Two runs of the same grid from empty caches, one of them killed with SIGKILL after its first cells
# and resumed: together they test resumption and determinism at the cost of two grids.

PER_SEED = rebound_grid.n_cells(rebound_grid.Grid("reviews", TINY_GRID["positive_sizes"], TINY_GRID["negative_sizes"]))
N_CELLS = PER_SEED * len(TINY_GRID["seeds"]) + PER_SEED  # margins of every seed, secondary of the first


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    """The tiny grid run once, uninterrupted, from an empty cache."""
    base = tmp_path_factory.mktemp("fresh")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELASTIC_RESULTS", str(base / "results"))
        return rebound.run(tiny_config(base / "cache"))["data"]


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """The same grid in a subprocess, SIGKILLed once two cells are on disk, then run again."""
    base = tmp_path_factory.mktemp("killed")
    cache, out = base / "cache", base / "results"
    cells, log = cache / "smoke" / "cells", cache / "smoke" / "executed.log"
    script = ("from elastic import experiments; from elastic.experiments import rebound; "
              f"rebound.run(experiments.load_config('rebound', 'smoke', cache_dir={str(cache)!r}, **{TINY_GRID!r}))")
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "ELASTIC_RESULTS": str(out)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while proc.poll() is None and len(list(cells.glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in cells.glob("*.json")}
    results_after_kill = (out / "smoke" / "rebound.json").exists()
    logged_before = len(log.read_text().splitlines())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELASTIC_RESULTS", str(out))
        data = rebound.run(tiny_config(cache))["data"]
    rerun = [line.split()[1] for line in log.read_text().splitlines()[logged_before:]]
    return {"data": data, "finished": finished, "cells": cells, "rerun": rerun,
            "results_after_kill": results_after_kill, "results": out / "smoke" / "rebound.json"}


def test_killed_grid_resumes_without_recomputing(killed_run):
    finished, cells = killed_run["finished"], killed_run["cells"]
    assert 2 <= len(finished) < N_CELLS, "the grid was killed after its first cells, before its last"
    assert not killed_run["results_after_kill"], "the results file appears only when the grid is complete"
    for name, (mtime, text) in finished.items():
        assert ((cells / name).stat().st_mtime_ns, (cells / name).read_text()) == (mtime, text)
    assert len(killed_run["rerun"]) == N_CELLS - len(finished), "the rerun computes only the missing cells"
    assert not {f"{key}.json" for key in killed_run["rerun"]} & set(finished)
    assert json.loads(killed_run["results"].read_text())["data"] == killed_run["data"]


def test_same_seed_same_results(fresh_run, killed_run):
    assert killed_run["data"] == fresh_run
    panel = fresh_run["panels"][0]
    secondary = [m for row in panel["secondary"]["cells"] for cell in row for m in cell]
    assert all(0 <= m <= 1 for m in secondary)
    # every fine-tuned model differs from θ0, and the seeds differ from each other
    margins = [np.asarray(s["cells"]) for s in panel["seeds"]]
    assert all((m != np.asarray(s["base"])).any(axis=-1).all() for m, s in zip(margins, panel["seeds"]))
    assert not np.array_equal(margins[0], margins[1])
    assert set(fresh_run["claims"]) == {"rebound", "rebound_decelerates"}
    assert all(v["outcome"] in ("shows", "contradicts", "inconclusive") for v in fresh_run["claims"].values())


def test_a_slice_that_answers_with_eos_at_once_is_scored_at_the_prompts_end():
    """An empty response (the slice emitted EOS first) leaves one scored context, the prompt's end:
    there, H(p, p) is the entropy of the next-token distribution and KL(p || p) is 0."""
    import types

    import torch

    from elastic import models

    tok = models.byte_tokenizer()
    model = models.tiny_model(tok, n_layer=1, d_model=16, n_head=2, seed=0).eval()
    lab = types.SimpleNamespace(tokenizer=tok)
    out = resistance._distances(lab, ["Question: why?"], model, model, [""])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([tok("Question: why?")["input_ids"]])).logits[0, -1]
    p = torch.softmax(logits.double(), -1)
    assert out["ce"] == pytest.approx(float(-(p * p.log()).sum()), rel=1e-4)
    assert out["kl"] == pytest.approx(0.0, abs=1e-6)
