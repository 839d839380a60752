"""The statistics behind the book's verdicts, in one place.

Every chapter that states a verdict (rebound, resistance, the lifecycle, the theorem's audit on
finite trees, the KL table) computes it from these helpers, so one convention holds throughout:

* a statistic that is *undefined* on its data (a rank correlation of a constant series, a fit
  through fewer than three points) is ``None`` where it is a single number a verdict reads
  (:func:`spearman`), and NaN inside arrays and fits (:func:`standard_error`, :func:`fit_loglog`),
  where a missing value must keep its place; a claim's trend over seeds (:func:`per_seed_slopes`)
  raises instead, since a claim is not judged on too few positions;
* intervals are two-sided ``level`` intervals of Student's t (:func:`t_interval`);
* a verdict that its data cannot decide is ``None``, never ``False`` (:func:`elastic.prose.words`
  puts it in words).

The next issue (decisive experiments) adds powered verdicts here: t-intervals over seeds, the
bootstrap, minimal detectable effects and three-outcome verdicts.
"""

from __future__ import annotations

import numpy as np

from elastic.errors import ElasticError


def standard_error(values, axis: int | None = None):
    """Standard error of the mean: sample standard deviation (``ddof=1``) over ``sqrt(n)``.

    ``values`` are per-prompt scores, their paired differences (rebound, §4.2) or independent
    draws (the theorem's finite trees). With ``axis=None`` a float, NaN for fewer than two values;
    with an ``axis``, an array over the other axes, all NaN for fewer than two draws.

    Chapters: elasticity_theorem.
    """
    values = np.asarray(values, dtype=float)
    if axis is None:
        return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    n = values.shape[axis]
    if n < 2:
        return np.full(np.delete(values.shape, axis), np.nan)
    return values.std(axis=axis, ddof=1) / np.sqrt(n)


def relative_error_of_ratio(mean_a: float, mean_b: float, se_a: float, se_b: float, covariance: float) -> float:
    """Relative standard error of ``mean_a / mean_b`` by the delta method, with the covariance of
    the two means (the finite-tree ratio of the elasticity theorem, Thm 3.2 / B.7).

    Chapters: elasticity_theorem.
    """
    rel_var = (se_a / mean_a) ** 2 + (se_b / mean_b) ** 2 - 2 * covariance / (mean_a * mean_b)
    return float(np.sqrt(max(rel_var, 0.0)))


def spearman(x, y) -> float | None:
    """Spearman's rank correlation of ``x`` and ``y``; None when it is undefined (fewer than two
    points, or either side constant). :func:`elastic.rebound_grid.rebound_verdict` reads it as "the
    drop grows with the amount of first-stage data" (§4.2, Fig. 4).

    Chapters: rebound.
    """
    from scipy.stats import spearmanr

    x, y = list(x), list(y)
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    rho = float(spearmanr(x, y).statistic)
    return rho if np.isfinite(rho) else None


def t_interval(estimate: float, se: float, dof: int, level: float = 0.95) -> list[float]:
    """The two-sided ``level`` interval ``estimate ± t_{(1+level)/2, dof} · se``: of a fitted slope
    (:func:`fit_loglog`), of a mean over seeds (:func:`elastic.power.t_interval`)."""
    from scipy import stats

    half = float(stats.t.ppf((1 + level) / 2, dof)) * se
    return [float(estimate - half), float(estimate + half)]


def fit_loglog(x, y, level: float = 0.95) -> dict:
    """Least-squares slope and intercept of ``log10 y`` on ``log10 x`` with a ``level`` t-interval
    for the slope; points with ``y <= 0`` cannot be logged and are counted as dropped. The lifecycle
    chapter tests the elasticity theorem's ``Θ(k)`` (Thm 3.2) as a slope of 1.

    Chapters: lifecycle.
    """
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = (x > 0) & (y > 0) & np.isfinite(y)
    out = {"n": int(keep.sum()), "dropped": int((~keep).sum()), "level": level}
    if keep.sum() < 3 or np.ptp(np.log10(x[keep])) == 0:
        return {**out, "slope": float("nan"), "intercept": float("nan"), "ci": [float("nan")] * 2}
    fit = stats.linregress(np.log10(x[keep]), np.log10(y[keep]))
    return {**out, "slope": fit.slope, "intercept": fit.intercept,
            "ci": t_interval(fit.slope, fit.stderr, keep.sum() - 2, level)}


def per_seed_slopes(x, values) -> list[float]:
    """Least-squares slopes of ``values[m][k]`` (position m, seed k) on log10(``x[m]``), one per
    seed: the per-seed statistic of a trend of rebound over model size or pre-training volume (Ji et
    al. §4.3, Figs. 5, 6 and 10; :func:`elastic.claims.slope`) and of the lifecycle's elasticity (the
    Θ(k) of Thm 3.2, as a slope of log10 ratios), judged over the seeds.
    Unlike :func:`fit_loglog`, fewer than 3 distinct positions are an error: a claim is not judged
    on them.

    Chapters: scaling, lifecycle.
    """
    lx = np.log10(np.asarray(x, dtype=float))
    if len(lx) < 3 or np.ptp(lx) == 0:
        raise ElasticError(f"a trend needs at least 3 distinct positions, got {list(x)}")
    values = np.asarray(values, dtype=float)
    centred = lx - lx.mean()
    return ((centred @ (values - values.mean(0))) / (centred @ centred)).tolist()


def slope_verdict(fit: dict) -> str:
    """What a fitted log-log slope says about growth like ``k`` (slope 1): ``no_fit`` (fewer
    than 3 points), ``inconclusive`` (the interval holds 0 and 1), ``like_k`` (it holds 1),
    ``slower`` (inside (0, 1)), ``faster`` (above 1) or ``flat`` (holds 0, or lies below it).

    Chapters: lifecycle.
    """
    if fit["n"] < 3 or not np.isfinite(fit["slope"]):
        return "no_fit"
    low, high = fit["ci"]
    if low <= 0 and high >= 1:
        return "inconclusive"
    if low <= 1 <= high:
        return "like_k"
    if low > 1:
        return "faster"
    return "slower" if low > 0 else "flat"


def threshold_crossing(sizes, values, epsilon: float) -> float | None:
    """The smallest amount of data at which ``values`` (over increasing ``sizes``) falls below
    ``epsilon``, linearly interpolated between grid points; None when it never does (the KL table,
    Table 3 of Ji et al.).

    Chapters: ablations.
    """
    for i, (n, v) in enumerate(zip(sizes, values)):
        if v < epsilon:
            if i == 0:
                return float(n)
            n0, v0 = sizes[i - 1], values[i - 1]
            return float(n0 + (v0 - epsilon) / (v0 - v) * (n - n0))
    return None

