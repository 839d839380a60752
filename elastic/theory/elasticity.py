"""The elasticity theorem of Ji et al.: Thm 3.2 / B.7 of the ACL version and Thm 3.13 / A.9 of the
earlier arXiv version, set up symbolically, evaluated numerically and measured on finite trees.

Setting (Assumption B.6 / A.8, Remark B.3 / A.5). The leaf masses ``X_1, X_2, X_3`` of the pruned
trees of ``D_1, D_2, D_3`` are independent Pareto variables, density ``alpha c^alpha / x^(alpha+1)``
on ``x >= c``; the joint tree's leaf mass is the size-weighted average

    X = (k X_1 + X_2 + l X_3) / (k + l + 1),   k = |D_1| / |D_2|,   l = |D_3| / |D_2|.

The mass distribution has mean 1 (Def. B.2), which fixes ``c = (alpha - 1) / alpha``
(:func:`unit_mean_scale`); every function takes ``c`` but defaults to that value.

By Lemma B.4 / A.6 the quantities the proofs differentiate are

* ``A_j = E[X_j log X]`` (``= alpha^3 c^(3 alpha) S_j`` in the paper's notation), so that the ACL
  normalized rate ``log M - gamma^{D_j}`` (Def. 3.1) is ``A_j``;
* ``H = E[X log X]``, so that the arXiv ratio (Def. 3.12) is ``A_j / H``.

Logarithms are natural in the symbolic part (as in the paper's integrals); the numeric derivatives
are reported in bits for the ACL form, to match :mod:`elastic.coding` (the arXiv form is a ratio and
has no unit).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
import sympy as sp

from elastic import coding
from elastic.errors import ElasticError
from elastic.tokentree import TokenTree, mixture, token_tree

FORMS = coding.FORMS

# ----------------------------------------------------------------------------------------------
# Symbolic part (sympy)
# ----------------------------------------------------------------------------------------------

ALPHA, C, K, L = sp.symbols("alpha c k l", positive=True)
X1, X2, X3 = sp.symbols("x_1 x_2 x_3", positive=True)
_Y = sp.Symbol("y", positive=True)

#: What sympy does not reach in closed form (checked by hand in the book; see ``integrals``).
UNREACHED = {
    "S1, S2, H at finite k, l": (
        "the innermost integral over x_1 is a Lerch transcendent (sympy returns lerchphi); the two "
        "outer integrals of it have no closed form sympy finds"
    ),
    "derivatives at l > 0": "same integrands with a third variable inside the logarithm",
    "derivatives at l = 0 for non-integer alpha": (
        "z^(alpha-1)/(k+z) on (0, 1) is a Lerch/hypergeometric function of k; for rational alpha "
        "sympy finds elementary forms but slowly (alpha = 5/2 took about 90 s), so only integer "
        "alpha is offered (acl_derivative_at_zero)"
    ),
}


def pareto_density(x, alpha=ALPHA, c=C):
    """Assumption B.6 / A.8: ``alpha c^alpha / x^(alpha + 1)`` on ``x >= c`` (zero below)."""
    return alpha * c**alpha / x ** (alpha + 1)


def expect(f, alpha=ALPHA, c=C):
    """``E[f(X)]`` for one Pareto mass ``X``, through ``X = c e^y`` (then ``y ~ Exp(alpha)``),
    which keeps sympy away from the piecewise conditions of the direct integral."""
    integrand = alpha * sp.exp(-alpha * _Y) * f(c * sp.exp(_Y))
    return sp.simplify(sp.integrate(integrand, (_Y, 0, sp.oo), conds="none"))


@functools.cache
def _moments() -> dict[str, sp.Expr]:
    return {
        "1": expect(lambda x: 1),
        "X": expect(lambda x: x),
        "1/X": expect(lambda x: 1 / x),
        "log X": expect(lambda x: sp.log(x)),
        "X log X": expect(lambda x: x * sp.log(x)),
    }


def moments() -> dict[str, sp.Expr]:
    """The one-variable expectations the proofs use, in closed form (valid for ``alpha > 1``).

    Chapters: elasticity_theorem. Paper: the proofs of Thm B.7 and A.9.
    """
    return dict(_moments())


def unit_mean_scale(alpha: float) -> float:
    """The Pareto scale with ``E[X] = alpha c / (alpha - 1) = 1`` (Def. B.2): ``c = (alpha-1)/alpha``.
    (Appendix A of the arXiv version prints ``(1 - alpha) / alpha``, which is negative.)

    Chapters: elasticity_theorem.
    """
    _check_alpha(alpha)
    return (alpha - 1) / alpha


def integrals() -> dict[str, sp.Integral]:
    """``S_1``, ``S_2`` (both versions) and ``H`` (arXiv only) as the paper writes them: unevaluated
    triple integrals over ``[c, oo)^3``, without the factor ``alpha^3 c^(3 alpha)``.

    Chapters: elasticity_theorem.
    """
    log_mix = sp.log((K * X1 + X2 + L * X3) / (K + L + 1))
    box = [(v, C, sp.oo) for v in (X1, X2, X3)]
    return {
        "S1": sp.Integral(log_mix / (X1**ALPHA * X2 ** (ALPHA + 1) * X3 ** (ALPHA + 1)), *box),
        "S2": sp.Integral(log_mix / (X1 ** (ALPHA + 1) * X2**ALPHA * X3 ** (ALPHA + 1)), *box),
        "H": sp.Integral((K * X1 + X2 + L * X3) / (K + L + 1) * log_mix
                         / (X1 * X2 * X3) ** (ALPHA + 1), *box),
    }


def _separable(powers: Sequence, log_first: bool = False) -> sp.Expr:
    """``prod_i int_c^oo x^(-p_i) dx``, with ``log x`` in the first factor if ``log_first``."""
    x = sp.Symbol("x", positive=True)
    out = sp.Integer(1)
    for i, p in enumerate(powers):
        f = sp.log(x) / x**p if (log_first and i == 0) else 1 / x**p
        # int_c^oo x^-p (log x)^j dx through x = c e^y, as in ``expect``
        g = f.subs(x, C * sp.exp(_Y)) * C * sp.exp(_Y)
        out *= sp.integrate(sp.expand(g), (_Y, 0, sp.oo), conds="none")
    return sp.simplify(out)


@functools.cache
def limits() -> dict[str, dict[str, sp.Expr]]:
    """``k -> oo, l -> 0`` limits of ``S_1, S_2, H`` (arXiv Eqs. 72, 76, 80): there ``X -> X_1`` and
    each integral separates into one-variable integrals. ``derived`` is sympy's value, ``paper``
    the printed one."""
    a = ALPHA
    return {
        "S1": {"derived": _separable((a, a + 1, a + 1), log_first=True),
               "paper": ((a - 1) * sp.log(C) + 1) / (a**2 * (a - 1) ** 2 * C ** (3 * a - 1))},
        "S2": {"derived": _separable((a + 1, a, a + 1), log_first=True),
               "paper": (a * sp.log(C) + 1) / (a**3 * (a - 1) * C ** (3 * a - 1))},
        "H": {"derived": _separable((a, a + 1, a + 1), log_first=True),
              "paper": ((a - 1) * sp.log(C) + 1) / (a**2 * (a - 1) ** 2 * C ** (3 * a - 1))},
    }


def paper_acl() -> dict[str, sp.Expr]:
    """What the ACL proof of Thm B.7 prints: the limits of ``dS_1/dl`` and ``dS_2/dl`` (Eq. 9 and
    the line after), the derivatives ``alpha^3 c^(3 alpha) dS_j/dl``, and the limit of
    ``k (dgamma_1/dl) / (dgamma_2/dl)`` that those expressions actually give (the paper writes
    ``alpha^2``).

    Chapters: elasticity_theorem.
    """
    a = ALPHA
    ds1 = 1 / (K * (K + 1) * a**2 * (a - 1) * C ** (3 * a - 1))
    ds2 = (K + a**2) / (K * (K + 1) * a**2 * (a - 1) ** 2 * (a + 1) * C ** (3 * a - 1))
    scale = a**3 * C ** (3 * a)
    return {
        "dS1/dl": ds1, "dS2/dl": ds2,
        "dgamma1/dl": sp.simplify(scale * ds1), "dgamma2/dl": sp.simplify(scale * ds2),
        "ratio limit": sp.factor(sp.limit(K * ds1 / ds2, K, sp.oo)),
        "stated constant": a**2,
    }


def paper_arxiv_constant() -> sp.Expr:
    """The limiting constant of Thm A.9 (arXiv Eq. 93).

    Chapters: elasticity_theorem.
    """
    return ALPHA * (ALPHA + 1) * (1 - sp.log(C))


@functools.cache
def leading_order() -> dict[str, sp.Expr]:
    """Our large-``k`` expansion at ``l = 0`` with ``E[X] = 1`` (natural logs), derived in the book:

    * ``dA_1/dl = E[X_1/(kX_1+X_2)] - 1/(k+1) ~ (1 - E[R]) / k^2`` with ``R = X_2/X_1``;
    * ``dA_2/dl = -k dA_1/dl`` exactly (the mixing identity), ``~ (E[R] - 1) / k``;
    * ``dH/dl ~ (m - h) / k``, with ``m = E[log X]``, ``h = E[X log X]``;
    * arXiv ``d(A_j/H)/dl = (A_j' H - H' A_j) / H^2`` with ``A_1 -> h``, ``A_2 -> m``, ``H -> h``.
    """
    a = ALPHA
    mom = moments()
    unit = {C: (a - 1) / a}
    r = sp.simplify((mom["X"] * mom["1/X"]).subs(unit))
    m = sp.expand_log(mom["log X"].subs(unit), force=True)
    h = sp.expand_log(sp.simplify(mom["X log X"].subs(unit)), force=True)
    acl1 = (1 - r) / K**2
    acl2 = (r - 1) / K
    dh = (m - h) / K
    arx1 = (acl1 * h - dh * h) / h**2
    arx2 = (acl2 * h - dh * m) / h**2
    return {
        "E[R]": r, "m": m, "h": h,
        "acl d1": sp.simplify(acl1), "acl d2": sp.simplify(acl2), "acl ratio": sp.Integer(-1),
        "arxiv d1": sp.simplify(sp.limit(K * arx1, K, sp.oo) / K),
        "arxiv d2": sp.simplify(arx2),
        "arxiv ratio / k": sp.simplify(sp.limit(arx1 / arx2, K, sp.oo)),
    }


def acl_derivative_at_zero(alpha: int) -> sp.Expr:
    """Exact ``dA_1/dl`` at ``l = 0`` as a function of ``k`` for integer ``alpha`` (``E[X] = 1``).

    ``dA_1/dl = E[(1 - R)/(k + R)] / (k + 1)`` where ``log R = log X_2 - log X_1`` is Laplace with
    scale ``1/alpha``; with ``z = R^(-1)`` on ``(0, 1]`` (and its mirror) the expectation is the
    rational integral ``alpha/2 int_0^1 z^(alpha-1) [(1-z)/(k+z) + (z-1)/(kz+1)] dz``.
    """
    if int(alpha) != alpha or alpha < 2:
        raise ElasticError(f"alpha={alpha} must be an integer >= 2 for the rational closed form")
    z = sp.Symbol("z", positive=True)
    n = int(alpha)
    f = sp.Rational(n, 2) * z ** (n - 1) * ((1 - z) / (K + z) + (z - 1) / (K * z + 1))
    return sp.integrate(sp.apart(f, z), (z, 0, 1)) / (K + 1)


# ----------------------------------------------------------------------------------------------
# Numeric part: the expectations by product Gauss-Legendre quadrature
# ----------------------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> None:
    if not alpha > 1:
        raise ElasticError(f"alpha={alpha} must be > 1: a Pareto mass with alpha <= 1 has no mean (Def. B.2)")


def _check_sizes(k: float, l: float) -> None:
    if not k > 0 or not l >= 0:
        raise ElasticError(f"need k = |D1|/|D2| > 0 and l = |D3|/|D2| >= 0, got k={k}, l={l}")


def _nodes(alpha: float, c: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pareto quantiles ``x = c u^(-1/alpha)`` at Gauss-Legendre nodes in ``t``, ``u = t^p``.

    The power ``p`` flattens the heavy tail: the integrands grow at most like ``x log x``, and in
    ``t`` that becomes ``t^(p(1-1/alpha)-1) log t``, which is smooth enough for Gauss-Legendre
    once ``p(1 - 1/alpha) - 1 >= 3``.
    """
    p = 4 * alpha / (alpha - 1)
    t, w = np.polynomial.legendre.leggauss(n)
    t, w = (t + 1) / 2, w / 2
    return c * t ** (-p / alpha), w * p * t ** (p - 1)


def expectations(alpha: float, k: float, l: float, c: float | None = None, n: int = 48) -> dict:
    """``A_j = E[X_j log X]``, ``H = E[X log X]`` and their ``l``-derivatives (natural logs).

    With ``S = k X_1 + X_2 + l X_3``, ``W = k + l + 1`` and ``X = S / W``,
    ``dX/dl = (X_3 - X) / W``, so ``dA_j/dl = E[X_j X_3 / S] - E[X_j] / W`` and
    ``dH/dl = E[(X_3 - X)(log X + 1)] / W``; the expectations are product Gauss-Legendre sums
    with ``n`` nodes per variable.
    """
    _check_alpha(alpha)
    _check_sizes(k, l)
    c = unit_mean_scale(alpha) if c is None else c
    x, w = _nodes(alpha, c, n)
    x1, x2, x3 = x[:, None, None], x[None, :, None], x[None, None, :]
    weight = w[:, None, None] * w[None, :, None] * w[None, None, :]
    s = k * x1 + x2 + l * x3
    big_w = k + l + 1
    mix = s / big_w
    log_mix = np.log(mix)

    def mean(f) -> float:
        return float((weight * f).sum())

    out = {}
    for j, xj in enumerate((x1, x2, x3), start=1):
        out[f"A{j}"] = mean(xj * log_mix)
        out[f"dA{j}"] = mean(xj * (x3 - mix) / s)
    out["H"] = mean(mix * log_mix)
    out["dH"] = mean((x3 - mix) * (log_mix + 1)) / big_w
    return out


def _rates_derivatives(e: dict, form: str) -> tuple[float, float, float]:
    """``(dgamma_1/dl, dgamma_2/dl, dgamma_3/dl)`` of the normalized rate ``form``."""
    if form == "acl":
        return tuple(e[f"dA{j}"] / math.log(2) for j in (1, 2, 3))
    return tuple((e[f"dA{j}"] * e["H"] - e["dH"] * e[f"A{j}"]) / e["H"] ** 2 for j in (1, 2, 3))


def derivatives(alpha: float, k: float, l: float, form: str = "acl", c: float | None = None,
                n: int = 48) -> dict:
    """``dgamma^{D_1/D}/dl``, ``dgamma^{D_2/D}/dl`` and the ratio ``k (dgamma_1/dl)/(dgamma_2/dl)``
    that the proofs take to a constant (Eq. 7 / 43), in the independence approximation of
    Lemma B.4 / A.6. Errors are ``|Q_n - Q_{n/2}|`` between two quadrature orders.

    ``identity`` is the residual of the mixing identity, exactly 0 in theory: ACL
    ``k d_1 + d_2 + l d_3 = 0`` (the joint leaves sum to one); arXiv
    ``k d_1 + d_2 + l d_3 = 1 - gamma_3`` (from ``sum_j |D_j| gamma_j = sum_j |D_j|``).

    Chapters: elasticity_theorem.
    """
    if form not in FORMS:
        raise ElasticError(f"form={form!r}; valid forms: {', '.join(FORMS)}")
    e = expectations(alpha, k, l, c, n)
    d1, d2, d3 = _rates_derivatives(e, form)
    coarse = _rates_derivatives(expectations(alpha, k, l, c, max(n // 2, 4)), form)
    e1, e2 = abs(d1 - coarse[0]), abs(d2 - coarse[1])
    ratio = k * d1 / d2
    target = 0.0 if form == "acl" else 1 - e["A3"] / e["H"]
    return {
        "d1": d1, "d2": d2, "err1": e1, "err2": e2, "ratio": ratio,
        "ratio_err": abs(ratio) * math.hypot(e1 / abs(d1), e2 / abs(d2)),
        "identity": k * d1 + d2 + l * d3 - target,
    }


# ----------------------------------------------------------------------------------------------
# Finite trees: normalized leaves, no independence approximation
# ----------------------------------------------------------------------------------------------


def pareto_tree(alpha: float, d: int, rng: np.random.Generator) -> TokenTree:
    """A binary token tree pruned to ``d`` layers whose ``M = 2^(d-1)`` leaves (all prefixes of
    length ``d - 1``) carry Pareto(``alpha``) masses, normalized to sum 1 (so the leaves are not
    independent, unlike in Lemma B.4).

    Chapters: elasticity_theorem, hookes_law.
    """
    _check_alpha(alpha)
    if d < 2:
        raise ElasticError(f"depth d={d} must be >= 2 so the tree has leaves below the root")
    m = 2 ** (d - 1)
    prefixes = (np.arange(m)[:, None] >> np.arange(d - 2, -1, -1)) & 1
    masses = rng.uniform(size=m) ** (-1 / alpha)
    return token_tree(prefixes, 2, lengths=np.full(m, d - 1), weights=masses)


def tree_rates(trees: Sequence[TokenTree], k: float, l: float, d: int, form: str) -> tuple[float, float]:
    """``(gamma^{D_1/D}, gamma^{D_2/D})`` from :func:`elastic.coding.normalized_compression_rate`
    with ``D`` the mixture of ``trees`` at sizes ``(k, 1, l)`` (``D_3`` left out when ``l = 0``)."""
    _check_sizes(k, l)
    parts, sizes = (trees, (k, 1.0, l)) if l > 0 else (trees[:2], (k, 1.0))
    joint = mixture(parts, sizes)
    return tuple(coding.normalized_compression_rate(t, joint, d, form=form) for t in trees[:2])


def tree_derivatives(trees: Sequence[TokenTree], k: float, l: float, d: int, form: str,
                     h: float = 1e-3) -> tuple[float, float]:
    """Finite differences in ``l`` of :func:`tree_rates`: central when ``l >= h``, else the
    second-order one-sided formula ``(-3 f(l) + 4 f(l+h) - f(l+2h)) / 2h``.

    Chapters: elasticity_theorem. Paper: Thm 3.2 / B.7, Thm 3.13 / A.9.
    """
    if not h > 0:
        raise ElasticError(f"finite-difference step h={h} must be > 0")
    if l >= h:
        lo, hi = (np.array(tree_rates(trees, k, l + s, d, form)) for s in (-h, h))
        return tuple((hi - lo) / (2 * h))
    f0, f1, f2 = (np.array(tree_rates(trees, k, l + s * h, d, form)) for s in (0, 1, 2))
    return tuple((-3 * f0 + 4 * f1 - f2) / (2 * h))


def tree_derivatives_exact(trees: Sequence[TokenTree], k: float, l: float, d: int) -> np.ndarray:
    """Analytic ``dgamma^{D_j/D}/dl`` (ACL form, bits) for ``j = 1, 2, 3`` on the pruned leaves:
    ``sum_i p^j_i (p^3_i - p^D_i) / ((k + l + 1) p^D_i ln 2)``. Needs trees with one common set of
    leaves (as :func:`pareto_tree` makes).

    Chapters: elasticity_theorem. Paper: Thm 3.2 / B.7.
    """
    _check_sizes(k, l)
    p = np.array([coding.leaf_probabilities(t, d) for t in trees])
    mix = (k * p[0] + p[1] + l * p[2]) / (k + l + 1)
    return (p * (p[2] - mix) / mix).sum(axis=1) / ((k + l + 1) * math.log(2))


def arxiv_sign_change(lo: float = 1.5, hi: float = 10.0) -> float:
    """The ``alpha`` at which the leading large-``k`` term of the arXiv ``dgamma_2/dl`` changes
    sign (positive below, negative above): the root of ``k * leading_order()["arxiv d2"]``.

    Chapters: elasticity_theorem. Paper: Thm 3.13 / A.9.
    """
    from scipy.optimize import brentq

    f = sp.lambdify(ALPHA, K * leading_order()["arxiv d2"], "math")
    return float(brentq(f, lo, hi))
