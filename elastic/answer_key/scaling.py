"""Exercises of book/scaling.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, NumberSet, checked, open_question, rational

CHAPTER = "scaling"
#: The number of models of ex-scaling-rank.
N_MODELS = 3


def _rank_key() -> Key:
    """Every order of three distinct rebound strengths through
    :func:`elastic.experiments.scaling.trend`: its rank correlation and its strict-increase test."""
    from itertools import permutations

    from elastic.experiments.scaling import trend

    labels = [f"model {i}" for i in range(N_MODELS)]
    values, accepted = set(), set()
    for order in permutations(range(1, N_MODELS + 1)):
        panels = [{"dataset": "d", "verdict": {"rebound_strength": float(s)}} for s in order]
        verdict = trend(panels, ["d"], labels)["d"]
        rho = rational(verdict["rank_correlation"])
        values.add(rho)
        if verdict["increases"]:
            accepted.add(rho)
    return Key(
        {"values": frozenset(values), "accepted": frozenset(accepted)},
        (Mistake("values", frozenset(values | {0}),
                 "with three distinct ranks Σd² is 0, 2, 6 or 8, never 4, so ρ = 0 cannot occur"),
         Mistake("values", frozenset(v for v in values if abs(v) == 1),
                 "one swap of neighbours gives Σd² = 2, so ρ = ±1/2 occur too"),
         Mistake("accepted", frozenset(v for v in values if v > 0),
                 "a strict increase needs every step up: only the identity order, ρ = 1")),
    )


checked(
    "ex-scaling-rank", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the values the rank correlation can take, and those the strict-increase test accepts",
    parts={"values": NumberSet(), "accepted": NumberSet()}, key=_rank_key,
    hint="list the 6 orders of (1, 2, 3), compute ρ = 1 - 6Σd²/(n(n² - 1)) for each, and ask which "
         "are strictly increasing",
)

open_question("ex-scaling-confound", chapter=CHAPTER, kind="experiment", needs="paper")
