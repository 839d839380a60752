"""The pre-registered statistics on hand-made panels whose answers are computed by hand."""

import math

import numpy as np
import pytest

from elastic import claims, power
from elastic.errors import ElasticError


def panel(cells_per_seed, base_per_seed, sign=+1, second_sizes=(10, 20, 40)):
    """A panel of 2 first-stage amounts, second stage at ``second_sizes``; ``cells_per_seed[k][i][j]``
    is one number (the same on each of 2 pairs) or a list per pair."""
    def pairs(v):
        return list(v) if isinstance(v, (list, tuple)) else [v, v]
    return {"sign": sign, "first_sizes": [4, 16], "second_sizes": list(second_sizes),
            "seeds": [{"seed": k, "base": pairs(b), "cells": [[pairs(v) for v in row] for row in cells]}
                      for k, (cells, b) in enumerate(zip(cells_per_seed, base_per_seed))]}


# seed 0: more positive data, higher start and a larger first fall (0.3 against 0.1), then slower
SEED0 = [[0.5, 0.4, 0.35, 0.3], [0.9, [0.5, 0.7], 0.55, 0.5]]
SEED1 = [[0.4, 0.35, 0.3, 0.3], [0.8, 0.6, 0.5, 0.45]]


def test_gain_rebound_and_deceleration_by_hand():
    p = panel([SEED0, SEED1], [0.2, 0.1])
    assert claims.gain(p) == pytest.approx([0.7, 0.7])
    assert claims.gain(p, 0) == pytest.approx([0.3, 0.3])
    # drops at b1: seed 0 (0.1 vs mean(0.4, 0.2) = 0.3), seed 1 (0.05 vs 0.2)
    assert claims.rebound(p) == pytest.approx([0.2, 0.15])
    np.testing.assert_allclose(claims.rebound_pairs(p), [[0.3, 0.1], [0.15, 0.15]])
    values, scales = claims.deceleration(p)
    # seed 0, largest amount: early (0.9 - 0.6) / 10, late (0.55 - 0.5) / 20; scale (0.9 - 0.5) / 40
    assert values == pytest.approx([0.03 - 0.0025, 0.02 - 0.0025])
    assert scales == pytest.approx([0.01, 0.35 / 40])
    # a cost-like sign reads the same numbers the other way round
    flipped = panel([SEED0, SEED1], [0.2, 0.1], sign=-1)
    assert claims.rebound(flipped) == pytest.approx([-0.2, -0.15])
    assert claims.gain(flipped) == pytest.approx([-0.7, -0.7])


def test_step_rates_divide_by_the_step():
    assert claims.step_rates([0.0, -100.0, -200.0, -500.0], [100, 200, 500]) == pytest.approx((1.0, 1.0))
    assert claims.step_rates([1.0, 0.5, 0.4], [1, 2]) == pytest.approx((0.5, 0.1))


def test_slope_of_the_rebound_over_panels():
    panels = [panel([SEED0, SEED1], [0.2, 0.1]), panel([SEED1, SEED0], [0.1, 0.2]),
              panel([SEED0, SEED0], [0.2, 0.2])]
    slopes, scale = claims.slope([1e3, 1e4, 1e5], panels)
    # rebounds per model (seeds): (0.2, 0.15), (0.15, 0.2), (0.2, 0.2); gains all 0.7; span 2 decades
    assert slopes == pytest.approx([0.0, 0.025])
    assert scale == pytest.approx(0.35)


def test_kl_recovery_log_ratios():
    p = {"kl": [{"first_start": 0.01, "last_start": 0.04, "first_end": 0.02, "last_end": 0.005},
                {"first_start": 0.01, "last_start": 0.1, "first_end": 0.01, "last_end": 0.01}]}
    values, scales = claims.kl_recovery(p)
    assert values == pytest.approx([math.log(4), 0.0]) and scales == pytest.approx([math.log(4), math.log(10)])


def test_judge_attaches_the_registry_and_the_bar():
    v = claims.judge("rebound", [0.2, 0.15, 0.25], scale=0.7)
    assert v["outcome"] == power.SHOWS and v["claim"]["name"] == "rebound" and v["n_seeds"] == 3
    assert v["decisive_or_powered"]
    weak = claims.judge("rebound", [0.2, -0.15, 0.05], scale=0.1)
    assert weak["outcome"] == power.INCONCLUSIVE and weak["mde_ratio"] > claims.MDE_BAR
    assert not weak["decisive_or_powered"]
    assert "MDE" in claims.describe(weak) and "**inconclusive**" in claims.describe(weak)
    with pytest.raises(ElasticError, match="unknown claim"):
        claims.judge("rebounds", [1, 2], 1.0)
    with pytest.raises(ElasticError, match="at least 2"):
        claims.judge("rebound", [1.0], 1.0)


def test_every_claim_states_its_terms():
    for c in claims.CLAIMS.values():
        assert c.paper and c.statistic and c.scale and c.metric and c.unit and c.direction in (1, -1)
        assert c.chapter in ("resistance", "rebound", "scaling", "ablations", "lifecycle")
