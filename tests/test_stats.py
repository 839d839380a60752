"""elastic.stats: the statistics behind every verdict, on numbers computed by hand."""

import numpy as np
import pytest

from elastic import prose, stats
from elastic.errors import ElasticError


def test_threshold_crossing_interpolates_between_grid_points():
    assert stats.threshold_crossing([0, 100, 200], [0.05, 0.02, 0.005], 0.01) == pytest.approx(100 + 100 / 1.5)
    assert stats.threshold_crossing([0, 100], [0.005, 0.001], 0.01) == 0.0
    assert stats.threshold_crossing([0, 100], [0.5, 0.2], 0.01) is None


def test_fit_loglog_recovers_a_power_law_and_drops_nonpositive_points():
    k = np.array([1.0, 10, 100, 1000, 5])
    y = 3 * k ** 1.0 * np.array([1.1, 0.9, 1.05, 0.95, 1.0])
    y[-1] = -2.0
    fit = stats.fit_loglog(k, y)
    assert fit["n"] == 4 and fit["dropped"] == 1
    assert fit["ci"][0] < 1 < fit["ci"][1] and fit["slope"] == pytest.approx(1, abs=0.05)


def test_slopes_per_seed_on_log10():
    # two seeds, three models at 10, 100, 1000: rebound 1, 2, 3 (seed 0) and 3, 2, 1 (seed 1)
    assert stats.per_seed_slopes([10, 100, 1000], [[1, 3], [2, 2], [3, 1]]) == pytest.approx([1.0, -1.0])
    with pytest.raises(ElasticError, match="at least 3"):
        stats.per_seed_slopes([10, 100], [[1], [2]])


@pytest.mark.parametrize("ci, verdict", [
    ((-0.5, 1.5), "inconclusive"), ((0.5, 1.2), "like_k"), ((0.1, 0.5), "slower"),
    ((1.2, 2.0), "faster"), ((-0.3, 0.4), "flat"), ((-0.9, -0.2), "flat"),
])
def test_slope_verdict(ci, verdict):
    assert stats.slope_verdict({"n": 5, "slope": sum(ci) / 2, "ci": list(ci)}) == verdict
    assert stats.slope_verdict({"n": 2, "slope": float("nan"), "ci": list(ci)}) == "no_fit"


def test_spearman_is_none_when_undefined_and_exact_on_ranks():
    assert stats.spearman([1, 2, 3], [10, 30, 20]) == pytest.approx(0.5)
    assert stats.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert stats.spearman([1], [2]) is None
    assert stats.spearman([1, 2, 3], [5, 5, 5]) is None
    assert stats.spearman([4, 4, 4], [1, 2, 3]) is None


def test_standard_error_of_values_and_over_draws():
    assert stats.standard_error([1.0, 3.0]) == pytest.approx(1.0)  # sd sqrt(2), n = 2
    assert np.isnan(stats.standard_error([1.0]))
    draws = np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 13.0]])
    np.testing.assert_allclose(stats.standard_error(draws, axis=0), [1 / np.sqrt(3), np.sqrt(3) / np.sqrt(3)])
    assert np.isnan(stats.standard_error(draws[:1], axis=0)).all()


def test_ratio_error_by_the_delta_method():
    # independent means 2 +- 0.2 and 4 +- 0.2: relative variances 0.01 + 0.0025
    assert stats.relative_error_of_ratio(2.0, 4.0, 0.2, 0.2, 0.0) == pytest.approx(np.sqrt(0.0125))
    # a covariance larger than the variances allow is cut at zero, not a NaN
    assert stats.relative_error_of_ratio(1.0, 1.0, 0.1, 0.1, 1.0) == 0.0


def test_t_interval():
    low, high = stats.t_interval(1.0, 0.5, 10, level=0.95)
    assert (high - low) / 2 == pytest.approx(2.228139 * 0.5, rel=1e-6)  # t_{0.975, 10}


def test_verdicts_and_numbers_in_words():
    assert prose.words(True, "yes", "no") == "yes" and prose.words(False, "yes", "no") == "no"
    assert prose.words(None, "yes", "no") == prose.UNDECIDED
    assert prose.number(0.123456) == "0.123" and prose.number(-1.0, 2) == "-1"
    assert prose.number(None) == prose.number("nan") == prose.number(float("nan")) == "n/a"
    assert set(prose.SLOPE_WORDS) == {"no_fit", "inconclusive", "like_k", "slower", "faster", "flat"}
