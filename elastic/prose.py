"""How the chapters put their results in words: numbers for the prose and the words of stored
verdicts. Every experiment's ``summary`` (the text its page glues) is written with these, so one
verdict reads the same wherever it appears."""

from __future__ import annotations

import math

from elastic.errors import ElasticError

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



def count(n: int, noun: str, of: int | None = None, plural: str | None = None) -> str:
    """``n`` things in words, with the zero, one and all cases handled: "no panels", "1 panel",
    "3 panels"; with ``of`` (a part of a whole): "2 of 3 panels", "all 3 panels", "none of the
    3 panels", "the only panel", "not the only panel", and "no panels" when there are none at all.
    ``plural`` is the plural of ``noun`` when adding "s" is wrong ("copy", plural="copies")."""
    n, many = int(n), plural or f"{noun}s"
    if of is None:
        return "no " + many if n == 0 else f"{n:,} {noun if n == 1 else many}"
    total = int(of)
    if not 0 <= n <= total:
        raise ElasticError(f"count({n}, of={total}): a part must lie between 0 and the whole")
    if total == 0:
        return "no " + many
    if total == 1:
        return f"the only {noun}" if n == 1 else f"not the only {noun}"
    if n == total:
        return f"all {total:,} {many}"
    if n == 0:
        return f"none of the {total:,} {many}"
    return f"{n:,} of {total:,} {many}"
