"""The seeded rebound grid (elastic.rebound_grid.SeededGrid) on a tiny model: the panel layout
elastic.claims reads, one θ0 scored on each seed's own pairs, the secondary metric for the first
seed only, KL at the four corners, seed means for the figures, and a rerun that trains and scores
nothing."""

import numpy as np
import pytest

from elastic import claims, config, rebound_grid
from elastic.errors import ElasticError
from elastic.lab import Lab


def grid_config(cache, **overrides):
    fields = {**config.trainer_args("smoke"), "max_length": 48, "num_threads": 1}
    fields.update(preset="smoke", cache_dir=str(cache), seeds=(0, 1), n_pairs=3, n_eval=2, max_new_tokens=4,
                  margin_tokens=8)
    return rebound_grid.GridConfig(**{**fields, **overrides})


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("grid")
    lab = Lab(grid_config(cache), "tiny-1x16@40")
    grid = rebound_grid.Grid("reviews", (4, 8), (4, 8))
    panel = rebound_grid.SeededGrid(lab, grid, kl=True, secondary=True).panel()
    log = cache / "smoke" / "executed.log"
    logged = log.read_text()
    again = rebound_grid.SeededGrid(lab, grid, kl=True, secondary=True).panel()
    return {"panel": panel, "again": again, "logged": logged, "log": log.read_text()}


def test_panel_layout(grid_run):
    panel = grid_run["panel"]
    assert panel["sign"] == 1 and panel["first_sizes"] == [4, 8] and panel["second_sizes"] == [4, 8]
    assert [s["seed"] for s in panel["seeds"]] == [0, 1]
    for seed in panel["seeds"]:
        assert len(seed["base"]) == 3
        assert np.asarray(seed["cells"]).shape == (2, 3, 3)  # (a_i, 0 then b_j, pairs)
    # each seed has pairs of its own, so θ0 scores differently on them
    assert panel["seeds"][0]["base"] != panel["seeds"][1]["base"]
    # every fine-tuned model differs from θ0 and from its parent
    cells = np.asarray(panel["seeds"][0]["cells"])
    assert not np.allclose(cells[0, 0], panel["seeds"][0]["base"]) and not np.allclose(cells[0, 1], cells[0, 0])
    # the figures' seed means are the means over seeds of each seed's mean over pairs
    by_hand = np.mean([np.mean(s["cells"], axis=2) for s in panel["seeds"]], axis=0)
    np.testing.assert_allclose(panel["curves"]["mean"], by_hand)
    assert panel["curves"]["base"] == pytest.approx(np.mean([np.mean(s["base"]) for s in panel["seeds"]]))
    # the claims read it
    assert len(claims.rebound(panel)) == len(claims.gain(panel)) == 2


def test_secondary_metric_and_kl(grid_run):
    panel = grid_run["panel"]
    secondary = panel["secondary"]
    assert len(secondary["prompts"]) == 2 and np.asarray(secondary["cells"]).shape == (2, 3, 2)
    assert all(0 <= x <= 1 for x in secondary["base"])
    assert [k["seed"] for k in panel["kl"]] == [0, 1]
    assert all(k[c] > 0 for k in panel["kl"] for c in ("first_start", "last_start", "first_end", "last_end"))
    values, scales = claims.kl_recovery(panel)
    assert len(values) == len(scales) == 2


def test_rerun_computes_nothing(grid_run):
    assert grid_run["again"] == grid_run["panel"]
    assert grid_run["log"] == grid_run["logged"]


def test_one_first_amount_has_all_four_corners(tmp_path):
    """With one first-stage amount the first and last corners are the same cells (the smoke
    ablations): each name gets its KL, the same value twice, computed once."""
    lab = Lab(grid_config(tmp_path, seeds=(0, 1)), "tiny-1x16@40")
    panel = rebound_grid.SeededGrid(lab, rebound_grid.Grid("reviews", (4,), (4,)), kl=True).panel()
    for k in panel["kl"]:
        assert k["first_start"] == k["last_start"] > 0 and k["first_end"] == k["last_end"] > 0
    assert (tmp_path / "smoke" / "executed.log").read_text().count("kl ") == 2 * 2


def test_bad_grids(tmp_path):
    cfg = grid_config(tmp_path)
    with pytest.raises(ElasticError, match="not whole optimizer steps of 4"):
        rebound_grid.check_sizes(cfg, rebound_grid.Grid("reviews", (4, 6), (4,)))
    with pytest.raises(ElasticError, match="increasing"):
        rebound_grid.check_sizes(cfg, rebound_grid.Grid("reviews", (8, 4), (4,)))
    with pytest.raises(ElasticError, match="at least 2 distinct seeds"):
        grid_config(tmp_path, seeds=(0, 0))
    with pytest.raises(ElasticError, match="set num_train_epochs: 1"):
        grid_config(tmp_path, num_train_epochs=2.0)
