"""Exercises of book/ablations.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, Number, checked, open_question, rational

CHAPTER = "ablations"
#: The grid, KL values and threshold ε of ex-ablation-interpolation.
GRID, KL, EPSILON = (0, 100, 200), (0.05, 0.02, 0.005), 0.01


def _interpolation_key() -> Key:
    from elastic.stats import threshold_crossing

    n_star = rational(threshold_crossing(GRID, KL, EPSILON))
    below = next(i for i, v in enumerate(KL) if v < EPSILON)
    return Key(
        {"n_star": n_star},
        (Mistake("n_star", GRID[below], "interpolate between the grid points around ε: the KL reaches "
                                        "ε before n = 200"),
         Mistake("n_star", rational((GRID[below - 1] + GRID[below]) / 2),
                 "interpolate linearly in the KL, not halfway between the grid points"),
         Mistake("n_star", rational(GRID[below - 1] + (EPSILON - KL[below]) / (KL[below - 1] - KL[below])
                                    * (GRID[below] - GRID[below - 1])),
                 "measure from n = 100, where the KL is 0.02: n* = 100 + (0.02 - ε)/(0.02 - 0.005) · 100")),
    )


checked(
    "ex-ablation-interpolation", chapter=CHAPTER, kind="computation", needs="paper",
    ask="n*",
    parts={"n_star": Number()}, key=_interpolation_key,
    hint="find the two grid points between which the KL falls below ε and interpolate linearly",
)

open_question("ex-ablation-reference", chapter=CHAPTER, kind="experiment", needs="paper")
