"""Powered verdicts: intervals over seeds, minimum detectable effects, and the variance components
that size a design (issue #12 of this book; the claims themselves live in :mod:`elastic.claims`).

Every empirical verdict of §4 is computed from a *per-seed statistic*: one number per training
seed, itself a mean over that seed's held-out pairs of a paired difference of likelihood margins
(:mod:`elastic.margin`). Each seed trains its own models on its own draw of the data and is scored
on its own held-out pairs, so the K per-seed values are independent draws whose spread holds both
sources of noise,

    Var(per-seed statistic) = σ²_seed + σ²_pair / P,

and a Student-t interval over the K values (df = K - 1) covers the mean over seeds *and* pairs.
We chose the t-interval over a hierarchical bootstrap because with the few seeds a CPU allows
(3 to 8) a bootstrap over seeds has at most a few dozen distinct resamples and under-covers, while
the t-interval is exact under normality and its price for few seeds is explicit: the quantile
t_{0.975, K-1} is 4.30 for K = 3 against 2.78 for K = 5.

The verdict has three outcomes (:func:`verdict`): *shows* when the 95% interval lies entirely on
the paper's side of zero, *contradicts* when it lies entirely on the other side, *inconclusive*
otherwise, and then the design's minimum detectable effect (MDE) says how large an effect it could
have seen: at level α and power 1-β,

    MDE = (t_{1-α/2, df} + t_{1-β, df}) · SE,

the effect whose t-statistic would exceed the critical value with probability 1-β (the usual
normal-approximation formula with t quantiles). :func:`predicted_mde` gives the MDE of a design
(K seeds, P pairs) from variance components measured by a pilot (:func:`variance_components`).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

from elastic import stats
from elastic.errors import ElasticError
from elastic.stats import standard_error

#: Outcomes of a verdict.
SHOWS, CONTRADICTS, INCONCLUSIVE = "shows", "contradicts", "inconclusive"


@functools.lru_cache(maxsize=256)
def _t(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def t_interval(values: Sequence[float], level: float = 0.95) -> dict:
    """Mean, standard error, df and the two-sided ``level`` Student-t interval of ``values``
    (one per seed). Needs at least two values."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) < 2 or not np.all(np.isfinite(x)):
        raise ElasticError(f"a t-interval needs at least two finite values (one per seed), got {x.tolist()}")
    if not 0 < level < 1:
        raise ElasticError(f"level={level} must lie in (0, 1)")
    mean, se, df = float(x.mean()), standard_error(x), len(x) - 1
    return {"estimate": mean, "se": se, "df": df, "level": level, "interval": stats.t_interval(mean, se, df, level)}


def mde(se: float, df: int, level: float = 0.95, power: float = 0.8) -> float:
    """Minimum detectable effect of a two-sided test at ``level`` with ``power``:
    ``(t_{(1+level)/2, df} + t_{power, df}) · se``."""
    if df < 1 or not se >= 0:
        raise ElasticError(f"mde needs df >= 1 and se >= 0, got df={df}, se={se}")
    return (_t((1 + level) / 2, df) + _t(power, df)) * se


def verdict(values: Sequence[float], *, direction: int = +1, scale: float | None = None,
            level: float = 0.95, power: float = 0.8) -> dict:
    """The three-outcome verdict on per-seed ``values`` of a statistic whose paper-predicted sign
    is ``direction`` (+1: the claim predicts a positive statistic).

    Returns the t-interval, the outcome (:data:`SHOWS`, :data:`CONTRADICTS`, :data:`INCONCLUSIVE`),
    the MDE, and, given the claim's natural ``scale`` (e.g. the alignment gain for rebound), the
    effect and the MDE in units of that scale (``mde_ratio``: the issue's bar is <= 1/4).
    """
    if direction not in (+1, -1):
        raise ElasticError(f"direction={direction} must be +1 or -1")
    out = t_interval(values, level)
    low, high = (direction * v for v in out["interval"])
    low, high = min(low, high), max(low, high)
    out["outcome"] = SHOWS if low > 0 else CONTRADICTS if high < 0 else INCONCLUSIVE
    out["direction"] = direction
    out["values"] = [float(v) for v in values]
    out["power"] = power
    out["mde"] = mde(out["se"], out["df"], level, power)
    out["scale"] = None if scale is None else float(scale)
    ok = scale is not None and np.isfinite(scale) and scale != 0
    out["effect_ratio"] = out["estimate"] / abs(scale) if ok else None
    out["mde_ratio"] = out["mde"] / abs(scale) if ok else None
    return out


# --- sizing a design --------------------------------------------------------------------------------


def variance_components(table) -> dict:
    """Seed and pair variance of a statistic measured on a crossed pilot: ``table[k, p]`` is the
    statistic of seed k on held-out pair p, every seed scored on the same pairs.

    Two-way random-effects ANOVA without replication: ``x_kp = μ + s_k + p_p + e_kp``, with
    expected mean squares ``MS_seed = P σ²_s + σ²_e``, ``MS_pair = K σ²_p + σ²_e``,
    ``MS_error = σ²_e``. Returns ``seed`` (σ²_s, truncated at 0) and ``pair`` (σ²_p + σ²_e: the
    variance of one pair's statistic around its seed's mean, which is what a design with fresh
    pairs per seed averages over), and the mean.
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2 or min(x.shape) < 2:
        raise ElasticError(f"variance components need a seeds x pairs table with >= 2 of each, got shape {x.shape}")
    k, p = x.shape
    grand = x.mean()
    seed_means, pair_means = x.mean(1), x.mean(0)
    ms_seed = p * np.sum((seed_means - grand) ** 2) / (k - 1)
    ms_pair = k * np.sum((pair_means - grand) ** 2) / (p - 1)
    resid = x - seed_means[:, None] - pair_means[None, :] + grand
    ms_error = np.sum(resid ** 2) / ((k - 1) * (p - 1))
    sigma_e = ms_error
    sigma_p = max((ms_pair - ms_error) / k, 0.0)
    sigma_s = max((ms_seed - ms_error) / p, 0.0)
    return {"mean": float(grand), "seed": float(sigma_s), "pair": float(sigma_p + sigma_e),
            "n_seeds": k, "n_pairs": p}


def nested_components(per_seed: Sequence[Sequence[float]]) -> dict:
    """The same components from a nested design, each seed scored on pairs of its own:
    ``per_seed[k]`` holds seed k's per-pair statistics. ``pair`` is the pooled within-seed
    variance; ``seed`` is the between-seed variance of the seed means minus ``pair / P``
    (truncated at 0)."""
    rows = [np.asarray(r, dtype=float) for r in per_seed]
    if len(rows) < 2 or min(len(r) for r in rows) < 2:
        raise ElasticError("nested components need >= 2 seeds with >= 2 pairs each")
    within = float(np.mean([r.var(ddof=1) for r in rows]))
    means = np.array([r.mean() for r in rows])
    n_pairs = float(np.mean([len(r) for r in rows]))
    return {"mean": float(means.mean()), "seed": float(max(means.var(ddof=1) - within / n_pairs, 0.0)),
            "pair": within, "n_seeds": len(rows), "n_pairs": int(n_pairs)}


def predicted_se(components: dict, n_seeds: int, n_pairs: int) -> float:
    """Standard error of the mean over ``n_seeds`` seeds of a statistic averaged over ``n_pairs``
    fresh pairs per seed: ``sqrt((σ²_s + σ²_pair / P) / K)``."""
    return math.sqrt((components["seed"] + components["pair"] / n_pairs) / n_seeds)


def predicted_mde(components: dict, n_seeds: int, n_pairs: int, level: float = 0.95, power: float = 0.8) -> float:
    """The MDE of a design with ``n_seeds`` seeds (df = K - 1) and ``n_pairs`` pairs per seed."""
    if n_seeds < 2:
        raise ElasticError(f"n_seeds={n_seeds}: an interval over seeds needs at least 2")
    return mde(predicted_se(components, n_seeds, n_pairs), n_seeds - 1, level, power)
