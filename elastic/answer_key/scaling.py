"""Exercises of book/scaling.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, Number, checked, open_question, rational

CHAPTER = "scaling"
#: The parameter counts and rebound statistics (one seed) of ex-scaling-slope.
PARAMS, REBOUND = (1e5, 1e6, 1e8), (0.01, 0.04, 0.05)


def _slope_key() -> Key:
    """The least-squares slope per decade through :func:`elastic.stats.per_seed_slopes`, the
    statistic of claims ``rebound_size`` and ``rebound_volume``."""
    import math

    from elastic.stats import per_seed_slopes

    slope = per_seed_slopes(PARAMS, [[r] for r in REBOUND])[0]
    decades = math.log10(PARAMS[-1] / PARAMS[0])
    return Key(
        {"slope": rational(slope)},
        (Mistake("slope", rational((REBOUND[-1] - REBOUND[0]) / decades),
                 "that is the slope between the end points only; least squares weighs the middle model too, "
                 "which is not half-way in decades"),
         Mistake("slope", slope / math.log(10),
                 "that is the slope per unit of the natural logarithm; per decade use log10")),
    )


checked(
    "ex-scaling-slope", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the least-squares slope of the rebound statistic per decade of parameters",
    parts={"slope": Number()}, key=_slope_key,
    hint="regress the three statistics on log10 of the parameter counts (5, 6 and 8) and give the slope",
)

open_question("ex-scaling-confound", chapter=CHAPTER, kind="experiment", needs="paper")
