"""Exercises of book/rebound.md."""

from __future__ import annotations

from elastic.checkers import Choice, Key, Mistake, Number, checked, rational

CHAPTER = "rebound"
#: The amounts of negative data of ex-rebound-rates.
REBOUND_SIZES = (100, 200, 500, 1000, 2000)
#: The numbers of def-rebound that ex-rebound-saturation chooses from.
NUMBERS = ("positive score", "initial drop", "alignment gain")
#: The aligned score of the base model, and the one every positive model saturates at.
BASE_SCORE, SATURATED = 0.5, 1.0


def _saturated(falls) -> dict:
    """The numbers of a grid whose score saturates, a(p, 0) = 1 for every p, and then falls by
    ``falls[i]`` after the first negative data, by :func:`elastic.rebound_grid.rebound_verdict`."""
    import numpy as np

    from elastic.rebound_grid import rebound_verdict

    scores = [np.array([SATURATED, SATURATED - fall]) for fall in falls]
    curves = [{"metric": a, "second_sizes": REBOUND_SIZES[:2], "per_prompt": np.stack([a, a], axis=1)} for a in scores]
    return {"positive score": [a[0] for a in scores], "initial drop": rebound_verdict(curves, sign=1)["initial_drop"],
            "alignment gain": scores[-1][0] - BASE_SCORE}


def _saturation_key() -> Key:
    """The number that tells a saturated grid with rebound (a larger p falls further) from one without."""
    rebound, none = _saturated((0.1, 0.2, 0.3)), _saturated((0.2, 0.2, 0.2))
    (shows,) = [name for name in NUMBERS if rebound[name] != none[name]]
    return Key(
        {"number": shows},
        (Mistake("number", "positive score",
                 "a(p, 0) is 1 for every p once the score saturates: it cannot tell the positive models apart"),
         Mistake("number", "alignment gain",
                 "G = a(p_a, 0) - a_0 is the scale of the statistics, the same whether the model rebounds or not")),
    )


checked(
    "ex-rebound-saturation", chapter=CHAPTER, kind="experiment", needs="paper",
    ask=f"which of the numbers can still show rebound: {' or '.join(map(repr, NUMBERS))}",
    parts={"number": Choice(NUMBERS)}, key=_saturation_key,
    hint="with a(p, 0) the same for every p, ask which number still depends on what the positive models "
         "do after the first negative data",
    open_part="why the paper's evaluation on held-out prompts matters here",
)


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
