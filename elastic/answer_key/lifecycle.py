"""Exercises of book/lifecycle.md."""

from __future__ import annotations

import math

from elastic.checkers import Key, Mistake, Number, Predicate, checked, open_question, rational

CHAPTER = "lifecycle"
#: ρ_+, ρ_- and the sequence length and positive letters of ex-lifecycle-posterior.
RHO, N_LETTERS, N_POSITIVE = (0.8, 0.2), 5, 3
#: Every (n, m): length n up to 8, m positive letters.
HALF_DOMAIN = tuple((n, m) for n in range(9) for m in range(n + 1))


def _source():
    from elastic.sources import AttributeSource

    return AttributeSource.random(vocab_size=4, rho=RHO, weights=(0.5, 0.5))


def _posterior(n, m) -> float:
    """P(+ | x) by :meth:`elastic.sources.AttributeSource.posterior` for a sequence of ``n``
    letters of which the first ``m`` are positive (tokens of the vocabulary's first half)."""
    import numpy as np

    source = _source()
    tokens = np.array([[0] * m + [source.vocab_size - 1] * (n - m) + [-1]], dtype=np.int64)
    return float(source.posterior(tokens, [n])[0])


def _posterior_key() -> Key:
    p = rational(_posterior(N_LETTERS, N_POSITIVE))
    odds = p / (1 - p)
    return Key(
        {"posterior": p, "half": lambda n, m: math.isclose(_posterior(n, m), 0.5)},
        (Mistake("posterior", rational(N_POSITIVE / N_LETTERS),
                 "the posterior is not the share of positive letters: each positive letter multiplies "
                 "the odds by ρ+/ρ- = 4, each negative one by (1 - ρ+)/(1 - ρ-) = 1/4"),
         Mistake("posterior", rational((RHO[0] / RHO[1]) ** N_POSITIVE / (1 + (RHO[0] / RHO[1]) ** N_POSITIVE)),
                 "the two negative letters count too: each multiplies the odds by 1/4"),
         Mistake("posterior", odds, "that is the odds P(+|x)/P(-|x); the posterior is odds/(1 + odds)"),
         Mistake("half", lambda n, m: False,
                 "the empty sequence keeps the prior w+ = 1/2, and so does every sequence whose positive "
                 "and negative letters cancel")),
    )


checked(
    "ex-lifecycle-posterior", chapter=CHAPTER, kind="computation", needs="paper",
    ask="P(+ | x) for five letters of which three are positive, and the condition on the length n and the number m of positive letters under which the posterior is exactly 1/2",
    parts={"posterior": Number(), "half": Predicate(("n", "m"), HALF_DOMAIN)}, key=_posterior_key,
    hint="Bayes: the odds are w+/w- times ρ+/ρ- per positive letter and (1 - ρ+)/(1 - ρ-) per "
         "negative one; give the condition on the length n and the number m of positive letters",
)

#: Pairs of sources (P_+, P_-) on three sequences, mixed half and half: equal ones, ones with
#: disjoint supports, and overlapping ones.
SOURCE_PAIRS = (
    ((0.5, 0.5, 0.0), (0.5, 0.5, 0.0)), ((1.0, 0.0, 0.0), (1.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (0.0, 0.5, 0.5)), ((0.5, 0.5, 0.0), (0.0, 0.0, 1.0)),
    ((0.8, 0.2, 0.0), (0.2, 0.8, 0.0)), ((0.5, 0.5, 0.0), (0.0, 0.5, 0.5)),
)
#: The mixture weights w of ex-lifecycle-entropy-bounds.
HALVES = (0.5, 0.5)


def _entropies(plus, minus) -> tuple[float, float, float]:
    """``sum_a w_a H(P_a)``, ``H(P_1)`` and ``H(w) + sum_a w_a H(P_a)`` for the mixture of ``plus``
    and ``minus`` with weights ``HALVES``."""
    from elastic import coding

    within = sum(w * coding.entropy(p) for w, p in zip(HALVES, (plus, minus)))
    mixture = [HALVES[0] * a + HALVES[1] * b for a, b in zip(plus, minus)]
    return within, coding.entropy(mixture), coding.entropy(HALVES) + within


def _lower(plus, minus) -> bool:
    low, h, _ = _entropies(plus, minus)
    return math.isclose(h, low, abs_tol=1e-12)


def _upper(plus, minus) -> bool:
    _, h, high = _entropies(plus, minus)
    return math.isclose(h, high, abs_tol=1e-12)


def _bounds_key() -> Key:
    return Key(
        {"lower": _lower, "upper": _upper},
        (Mistake("lower", _upper, "that is when the upper bound is reached, where x reveals the attribute "
                                  "(H(A | X) = 0); the lower one needs H(A | X) = H(A): x reveals nothing"),
         Mistake("upper", _lower, "that is when the lower bound is reached, where x reveals nothing; the upper "
                                  "one needs H(A | X) = 0: every x tells its source"),
         Mistake("upper", lambda plus, minus: plus != minus,
                 "different sources are not enough: x reveals the attribute only when no sequence has both"),
         Mistake("upper", lambda plus, minus: False,
                 "the upper bound is reached when no sequence has both sources: then x reveals the attribute")),
    )


checked(
    "ex-lifecycle-entropy-bounds", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="for two sources P and Q (tuples of the probabilities of the same sequences) mixed with weights 1/2 "
        "and 1/2, the condition on (P, Q) under which the lower bound is reached, and the one under which the "
        "upper bound is",
    parts={"lower": Predicate(("P", "Q"), SOURCE_PAIRS), "upper": Predicate(("P", "Q"), SOURCE_PAIRS)},
    key=_bounds_key,
    hint="H(P_1) = H(w) + sum_a w_a H(P_a) - H(A | X), and 0 ≤ H(A | X) ≤ H(A): ask when the sequence "
         "reveals nothing about the attribute, and when it reveals it",
)
open_question("ex-lifecycle-kl-estimator", chapter=CHAPTER, kind="experiment", needs="paper")
