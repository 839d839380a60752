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

open_question("ex-lifecycle-entropy-bounds", chapter=CHAPTER, kind="derivation", needs="paper")
open_question("ex-lifecycle-kl-estimator", chapter=CHAPTER, kind="experiment", needs="paper")
