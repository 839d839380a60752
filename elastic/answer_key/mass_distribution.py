"""Exercises of book/mass_distribution.md."""

from __future__ import annotations

from elastic.checkers import Key, Mistake, Number, Sampled, checked, open_question, rational

CHAPTER = "mass_distribution"
#: α of ex-mass-pareto-c, and "twice the average leaf probability" (the mean mass is 1).
PARETO_ALPHA, TWICE = 3, 2


def _pareto_c_key() -> Key:
    from elastic.theory import elasticity, mass

    c = rational(elasticity.unit_mean_scale(PARETO_ALPHA))
    above = rational(1 - mass.pareto_cdf(TWICE, PARETO_ALPHA, float(c)))
    return Key(
        {"c": c, "fraction": above},
        (Mistake("c", 1 / c, "E[X] = αc/(α - 1) = 1 gives c = (α - 1)/α, not α/(α - 1)"),
         Mistake("c", -c, "that is (1 - α)/α as the arXiv version's appendix prints it; a scale is "
                          "positive, and E[X] = 1 gives (α - 1)/α"),
         Mistake("fraction", (1 / rational(TWICE)) ** PARETO_ALPHA,
                 "P(X > x) = (c/x)^α: the scale c is missing"),
         Mistake("fraction", (c / TWICE) ** (PARETO_ALPHA + 1),
                 "α + 1 is the exponent of the density; the tail P(X > x) = (c/x)^α has α"),
         Mistake("fraction", 1 - above, "that is P(X ≤ 2): the question asks for more than twice the average")),
    )


checked(
    "ex-mass-pareto-c", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the scale c, and the fraction of leaves with X > 2",
    parts={"c": Number(), "fraction": Number()}, key=_pareto_c_key,
    hint="the mass distribution has mean 1, which fixes c; then use P(X > x) = (c/x)^α with x = 2",
)

#: Vocabulary of the Zipfian dataset whose mass distribution the answer key fits.
ZIPF_VOCAB = 2**14
S_POINTS = tuple({"s": s} for s in (0.3, 0.5, 0.7))


def _zipf_alpha(s) -> float:
    """The Pareto exponent that :func:`elastic.theory.mass.fit_pareto` finds in the tail of the
    mass distribution of one-token responses with Zipfian probabilities ``r^-s``."""
    import numpy as np

    from elastic.theory import mass
    from elastic.tokentree import token_tree

    v = ZIPF_VOCAB
    tree = token_tree(np.arange(v)[:, None], v, lengths=np.ones(v, dtype=np.int64),
                      weights=mass.zipf_probs(v, float(s)))
    return mass.fit_pareto(mass.mass_values(tree)).alpha


#: An exponent s >= 1 of ex-mass-zipf, where α = 1/s, and the Pareto scale its mean is taken with.
LARGE_S, SCALE = 2, 1


def _pareto_mean(alpha) -> float:
    """The mean of a Pareto law with exponent ``alpha`` and scale ``SCALE``: inf when it diverges."""
    from elastic.theory import elasticity

    return float(elasticity.expect(lambda x: x, alpha=alpha, c=SCALE))


def _zipf_key() -> Key:
    import sympy as sp

    from elastic.theory import elasticity

    alpha = 1 / sp.Integer(LARGE_S)  # the first part's α = 1/s, checked against the fitted tails
    closed_form = elasticity.expect(lambda x: x)  # αc/(α - 1), which assumes α > 1
    return Key(
        {"alpha": _zipf_alpha, "mean": _pareto_mean(alpha)},
        (Mistake("alpha", lambda s: 1 / _zipf_alpha(s),
                 "the ranks with mass at least x are r ≤ (V/(xZ))^(1/s): the exponent of the tail is "
                 "the inverse of s"),
         Mistake("alpha", lambda s: _zipf_alpha(s) + 1,
                 "1 + 1/s is the exponent of the density; α is the exponent of the tail P(X ≥ x)"),
         Mistake("alpha", lambda s: _zipf_alpha(s) - 1,
                 "P(X ≥ x) = r(x)/V ∝ x^(-1/s): count the ranks whose mass is at least x"),
         Mistake("mean", 1, "E[X] = 1 holds for the mass distribution by construction, but a Pareto law with "
                            "α = 1/s ≤ 1 has no finite mean: that is what goes wrong"),
         Mistake("mean", float(closed_form.subs({elasticity.ALPHA: alpha, elasticity.C: SCALE})),
                 "αc/(α - 1) holds only for α > 1; for α ≤ 1 the integral of x times the density diverges"),
         Mistake("mean", _pareto_mean(LARGE_S), f"α = 1/s: s = {LARGE_S} gives α = 1/{LARGE_S}, not {LARGE_S}")),
    )


checked(
    "ex-mass-zipf", chapter=CHAPTER, kind="derivation", needs="paper",
    ask=f"α as a function of s, and the mean of a Pareto law with that α at s = {LARGE_S} and scale c = {SCALE} "
        "(math.inf or sp.oo if it is infinite)",
    parts={"alpha": Sampled(("s",), S_POINTS, rtol=1e-2), "mean": Number()}, key=_zipf_key,
    hint="a leaf has mass X = V p_r; count the ranks r with V p_r ≥ x to get P(X ≥ x), and read α "
         "as its exponent (give α as a function of s); then ask whether E[X] = ∫ x αc^α x^(-α-1) dx converges",
)

open_question("ex-mass-mixture", chapter=CHAPTER, kind="derivation", needs="paper")

#: N of ex-mass-sampled: any number of distinct sampled continuations.
SAMPLED_N = 20


def _sampled_key() -> Key:
    """The mass distribution of a tree of N distinct continuations, each sampled once."""
    import numpy as np

    from elastic.theory import mass
    from elastic.tokentree import token_tree

    tree = token_tree(np.arange(SAMPLED_N)[:, None], SAMPLED_N, lengths=np.ones(SAMPLED_N, dtype=np.int64))
    (value,) = np.unique(mass.mass_values(tree))
    return Key(
        {"X": rational(value)},
        (Mistake("X", rational(value / SAMPLED_N),
                 "that is each leaf's probability 1/N; the mass X = M p multiplies it by the number of leaves M = N"),
         Mistake("X", rational(value * SAMPLED_N), "X = M p, with p = 1/N and M = N leaves")),
    )


checked(
    "ex-mass-sampled", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="the mass X that every leaf carries",
    parts={"X": Number()}, key=_sampled_key,
    hint="every sampled continuation is its own leaf with probability 1/N; give the mass X = M p "
         "that every leaf carries",
    open_part="how large N must be before the sampled tree can say anything about the model's tail",
)
