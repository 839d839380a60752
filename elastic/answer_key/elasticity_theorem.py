"""Exercises of book/elasticity_theorem.md."""

from __future__ import annotations

import math

from elastic.checkers import Expression, Key, Mistake, Number, checked

CHAPTER = "elasticity_theorem"


def _ratio_moment_key() -> Key:
    """``E[X_2/X_1]`` and the leading large-k term of ``dA_1/dl`` from
    :func:`elastic.theory.elasticity.leading_order` (sympy)."""
    import sympy as sp

    from elastic.theory import elasticity

    lead = elasticity.leading_order()
    a = elasticity.ALPHA
    return Key(
        {"E[R]": lead["E[R]"], "dA1/dl": lead["acl d1"]},
        (Mistake("E[R]", sp.Integer(1),
                 "E[X2/X1] = E[X2] E[1/X1], and E[1/X] > 1/E[X] (Jensen): the product is not 1"),
         Mistake("E[R]", a**2 / (a - 1) ** 2,
                 "E[1/X] = ∫ αc^α x^(-α-2) dx over x ≥ c, which is α/((α + 1) c), not α/((α - 1) c)"),
         Mistake("dA1/dl", -lead["acl d1"],
                 "the sign: 1 - E[R] < 0 because E[R] > 1, so dA1/dl is negative"),
         Mistake("dA1/dl", lead["acl d2"],
                 "that is the order-1/k term of dA2/dl; dA1/dl ≈ (1 - E[R])/k² is of order 1/k²")),
    )


checked(
    "ex-elastic-ratio-moment", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="E[X_2/X_1] as a function of α, and the leading term of dA_1/dl for large k",
    parts={"E[R]": Expression(("alpha",)), "dA1/dl": Expression(("alpha", "k"))}, key=_ratio_moment_key,
    hint="by independence E[X2/X1] = E[X2] E[1/X1], both one-variable integrals; then put it into "
         "dA1/dl ≈ (1 - E[R])/k²",
)

#: The three pruned trees and the size ratio k of ex-elastic-two-leaves.
TWO_LEAVES = ((0.9, 0.1), (0.5, 0.5), (0.1, 0.9))
TWO_LEAVES_K = 9


def _two_leaves_key() -> Key:
    """dγ_1/dl and dγ_2/dl at l = 0 from
    :func:`elastic.theory.elasticity.tree_derivatives_exact` (ACL form, bits), in nats."""
    from elastic.theory import elasticity
    from elastic.tokentree import token_tree

    trees = [token_tree([(0,), (1,)], 2, weights=p) for p in TWO_LEAVES]
    bits = elasticity.tree_derivatives_exact(trees, TWO_LEAVES_K, 0.0, 2)
    d1, d2 = (float(b) * math.log(2) for b in bits[:2])
    mistakes = []
    for part, value in (("d1", d1), ("d2", d2)):
        mistakes += [
            Mistake(part, value / math.log(2), "that is in bits: the exercise asks for natural logs"),
            Mistake(part, -value, "dp^D/dl = (p^D3 - p^D)/(k + l + 1): the perturbation's leaves "
                                  "minus the joint ones, not the other way round"),
            Mistake(part, value * (TWO_LEAVES_K + 1),
                    "dp^D/dl carries the factor 1/(k + l + 1) = 1/10"),
        ]
    return Key({"d1": d1, "d2": d2}, tuple(mistakes))


checked(
    "ex-elastic-two-leaves", chapter=CHAPTER, kind="computation", needs="paper",
    ask="dγ_1/dl and dγ_2/dl at l = 0, with natural logs",
    parts={"d1": Number(rtol=5e-3), "d2": Number(rtol=5e-3)}, key=_two_leaves_key,
    hint="at l = 0, p^D = (k p^D1 + p^D2)/(k + 1) and dp^D/dl = (p^D3 - p^D)/(k + 1); then "
         "dγ_j/dl = Σ_i p^Dj_i (dp^D_i/dl) / p^D_i",
)


def _paper_algebra_key() -> Key:
    """The limit that the ACL proof's printed expressions give, from
    :func:`elastic.theory.elasticity.paper_acl`."""
    import sympy as sp

    from elastic.theory import elasticity

    paper = elasticity.paper_acl()
    k = elasticity.K
    return Key(
        {"limit": paper["ratio limit"]},
        (Mistake("limit", paper["stated constant"],
                 "α² is the constant the paper states; the expressions as printed give another one: "
                 "cancel the common factors and let k → ∞"),
         Mistake("limit", sp.simplify(k * paper["dgamma1/dl"] / paper["dgamma2/dl"]),
                 "that still depends on k: take the limit k → ∞")),
    )


checked(
    "ex-elastic-paper-algebra", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="the limit, as a function of α",
    parts={"limit": Expression(("alpha", "k"))}, key=_paper_algebra_key,
    hint="divide the two expressions, cancel the common factors, multiply by k and let k → ∞",
)
