"""Exercises of book/rebound.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, Number, checked, open_question, rational

CHAPTER = "rebound"
#: The amounts of negative data of ex-rebound-rates.
REBOUND_SIZES = (100, 200, 500, 1000, 2000)

open_question("ex-rebound-saturation", chapter=CHAPTER, kind="experiment", needs="cpu")


def _rates(sizes) -> dict:
    """:func:`elastic.rebound_grid.rebound_verdict` of a score that falls by the same
    amount per sample over ``REBOUND_SIZES``, with the rates taken per step of ``sizes``."""
    import numpy as np

    from elastic.rebound_grid import rebound_verdict

    metric = -np.asarray(REBOUND_SIZES, dtype=float)
    curve = {"metric": metric, "second_sizes": list(sizes), "per_prompt": np.stack([metric, metric], axis=1)}
    return rebound_verdict([curve], sign=1)


def _rates_key() -> Key:
    per_sample = _rates(REBOUND_SIZES)
    per_step = _rates(range(len(REBOUND_SIZES)))  # not divided by the step in n
    return Key(
        {"late_over_early": rational(per_step["late_rate"] / per_step["early_rate"])},
        (Mistake("late_over_early", rational(per_sample["late_rate"] / per_sample["early_rate"]),
                 "that is the ratio per sample, with the division; without it each rate is the fall over "
                 "a whole step"),
         Mistake("late_over_early", rational(per_step["early_rate"] / per_step["late_rate"]),
                 "late over early: the last step adds 1,000 samples, the first 100")),
    )


checked(
    "ex-rebound-rates", chapter=CHAPTER, kind="computation", needs="paper",
    ask="for a score that falls by the same amount per sample, the fall over the last step divided by the fall over the first (not divided by the steps in n)",
    parts={"late_over_early": Number()}, key=_rates_key,
    hint="for a score that falls at a constant rate per sample, give the fall over the last step "
         "divided by the fall over the first step",
)
