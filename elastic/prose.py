"""How the chapters put their results in words: numbers for the prose and the words of stored
verdicts. Every experiment's ``summary`` (the text its page glues) is written with these, so one
verdict reads the same wherever it appears."""

from __future__ import annotations

import math

#: What a stored three-valued verdict says when its data cannot decide it (see :func:`words`).
UNDECIDED = "cannot be judged on this grid (it needs two or more amounts)"

#: The outcomes of :func:`elastic.stats.slope_verdict`, in words.
SLOPE_WORDS = {
    "no_fit": "no line can be fitted, because fewer than three models have a positive ratio",
    "inconclusive": "inconclusive, as the interval holds both 0 and 1",
    "like_k": "consistent with growth like k",
    "slower": "it grows with k, but more slowly than k",
    "faster": "it grows faster than k",
    "flat": "no significant growth with k",
}


def words(verdict: bool | None, yes: str, no: str, undecided: str = UNDECIDED) -> str:
    """The words for a stored three-valued verdict: ``yes``, ``no``, or ``undecided`` for None."""
    if verdict is None:
        return undecided
    return yes if verdict else no


def number(x, digits: int = 3) -> str:
    """A number for the prose with ``digits`` significant digits; "n/a" for an undefined one
    (None, or NaN, which a results file stores as the string "nan")."""
    return "n/a" if x is None or not math.isfinite(float(x)) else f"{float(x):.{digits}g}"

