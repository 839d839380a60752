"""Exercises of book/hookes_law.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, Number, Numbers, checked, open_question

CHAPTER = "hookes_law"
#: Spring constants (N/m) and force (N) of ex-hooke-springs.
SPRINGS, FORCE = (1000.0, 100.0, 10.0), 1.0


def _springs_key() -> Key:
    from elastic.springs import series_springs

    chain = series_springs(SPRINGS, FORCE)
    return Key(
        {"elongations": tuple(float(x) for x in chain["elongation"]), "total": chain["total"]},
        (Mistake("elongations", tuple(k * FORCE for k in SPRINGS), "Hooke's law is F = k Δl, so Δl = F/k, not kF"),
         Mistake("total", FORCE / sum(SPRINGS),
                 "1/Σk is the rule for springs side by side; in series every spring carries the whole "
                 "force and the elongations add"),
         Mistake("total", chain["k_eff"], "that is k_eff in N/m; the chain stretches F/k_eff")),
    )


checked(
    "ex-hooke-springs", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the elongation of each spring in metres, and the chain's",
    parts={"elongations": Numbers(), "total": Number()}, key=_springs_key,
    hint="each spring in a series carries the whole force F, so it stretches F/k; the chain stretches by the sum",
)

open_question("ex-hooke-disjoint", chapter=CHAPTER, kind="derivation", needs="paper")
open_question("ex-hooke-first-order", chapter=CHAPTER, kind="derivation", needs="paper")
