"""Intervals, MDEs and verdicts on cases with known answers, and by simulation: a planted effect of
one MDE is found with the stated power, a null effect is declared at the stated rate."""

import math

import numpy as np
import pytest

from elastic import power
from elastic.errors import ElasticError

T975_2, T80_2 = 4.302652729749464, 1.0606601717798212   # Student t quantiles, df = 2


def test_t_interval_and_mde_known_answers():
    out = power.t_interval([1.0, 2.0, 3.0])
    se = 1 / math.sqrt(3)
    assert out["estimate"] == 2.0 and out["df"] == 2
    assert out["se"] == pytest.approx(se)
    assert out["interval"] == pytest.approx([2 - T975_2 * se, 2 + T975_2 * se])
    assert power.mde(1.0, 2) == pytest.approx(T975_2 + T80_2)
    # with many seeds the t quantiles approach the normal ones: 1.96 + 0.84
    assert power.mde(1.0, 10**6) == pytest.approx(1.959964 + 0.841621, rel=1e-5)


def test_verdict_outcomes_directions_and_scale():
    shows = power.verdict([1.0, 1.1, 0.9], scale=4.0)
    assert shows["outcome"] == power.SHOWS and shows["effect_ratio"] == pytest.approx(0.25)
    assert power.verdict([1.0, 1.1, 0.9], direction=-1)["outcome"] == power.CONTRADICTS
    assert power.verdict([-1.0, -1.1, -0.9], direction=-1)["outcome"] == power.SHOWS
    flat = power.verdict([-1.0, 1.0, 0.2], scale=10.0)
    assert flat["outcome"] == power.INCONCLUSIVE
    assert flat["mde"] == pytest.approx((T975_2 + T80_2) * np.std([-1, 1, 0.2], ddof=1) / math.sqrt(3))
    assert flat["mde_ratio"] == pytest.approx(flat["mde"] / 10.0)
    assert power.verdict([0.1, 0.2], scale=0.0)["mde_ratio"] is None
    with pytest.raises(ElasticError, match="at least two"):
        power.verdict([1.0])
    with pytest.raises(ElasticError, match="direction"):
        power.verdict([1.0, 2.0], direction=0)


def test_planted_effect_found_and_null_rejected_at_the_stated_rates():
    """K = 3 seeds, sd 1: an effect of one MDE is found with power ~0.8 (the MDE formula is the
    normal approximation with t quantiles, slightly conservative for the non-central t); with no
    effect, the interval excludes zero on either side 5% of the time."""
    rng = np.random.default_rng(0)
    k, n = 3, 4000
    effect = power.mde(1 / math.sqrt(k), k - 1)
    found = [power.verdict(rng.normal(effect, 1.0, k))["outcome"] == power.SHOWS for _ in range(n)]
    null = [power.verdict(rng.normal(0.0, 1.0, k))["outcome"] for _ in range(n)]
    assert 0.77 < np.mean(found) < 0.86
    false_shows, false_contradicts = null.count(power.SHOWS) / n, null.count(power.CONTRADICTS) / n
    assert 0.015 < false_shows < 0.035 and 0.015 < false_contradicts < 0.035


def test_variance_components_known_and_recovered():
    # no interaction: the table is seed effect + pair effect, and both components are exact
    s, p = np.array([0.0, 1.0, 5.0]), np.array([2.0, -1.0, 0.0, 3.0])
    comp = power.variance_components(s[:, None] + p[None, :])
    assert comp["seed"] == pytest.approx(np.var(s, ddof=1)) and comp["pair"] == pytest.approx(np.var(p, ddof=1))
    # simulated: the seed and pair effects as drawn, plus an interaction (error) of sd 1.6
    rng = np.random.default_rng(1)
    s, p = rng.normal(0, 0.5, 200), rng.normal(0, 1.2, 300)
    comp = power.variance_components(s[:, None] + p[None, :] + rng.normal(0, 1.6, (200, 300)))
    assert comp["seed"] == pytest.approx(np.var(s, ddof=1), rel=0.1)
    assert comp["pair"] == pytest.approx(np.var(p, ddof=1) + 1.6**2, rel=0.02)


def test_nested_components_and_predicted_mde_match_simulation():
    """A design with fresh pairs per seed: the predicted MDE gives power ~0.8 in simulation."""
    comp = {"seed": 0.04, "pair": 1.0}
    k, p = 4, 16
    effect = power.predicted_mde(comp, k, p)
    assert effect == pytest.approx(power.mde(math.sqrt((0.04 + 1 / 16) / 4), 3))
    rng = np.random.default_rng(2)
    hits, estimates = 0, []
    for _ in range(2000):
        table = effect + rng.normal(0, 0.2, (k, 1)) + rng.normal(0, 1.0, (k, p))
        hits += power.verdict(table.mean(1))["outcome"] == power.SHOWS
        estimates.append(power.nested_components(table))
    assert 0.76 < hits / 2000 < 0.87
    assert np.mean([e["pair"] for e in estimates]) == pytest.approx(1.0, rel=0.05)
    assert np.mean([e["seed"] for e in estimates]) == pytest.approx(0.04, abs=0.02)
