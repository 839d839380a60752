"""Elasticity and Hooke's law (Ji et al., §3.3).

The paper compares datasets compressed together to springs in series: the spring constant of
``D_i`` is ``k_i ∝ |D_i|``, one force ``F`` acts on every spring, so the elongations are
``Δl_i = F / k_i`` and ``k_i Δl_i = F`` is the same for all of them. In the model the elongation
is the change ``Δγ_i`` of ``D_i``'s normalized compression rate when a perturbation ``D_3`` joins
the joint compression, and the would-be invariant is ``|D_i| · Δγ_i``.

:func:`series_springs` is the mechanical model; :func:`measure_invariant` measures
``|D_i| · Δγ_i`` on token trees of simulated datasets, so the analogy can be checked rather than
assumed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from elastic import coding
from elastic.errors import ElasticError
from elastic.sources import IIDSource
from elastic.tokentree import TokenTree, mixture, token_tree


def series_springs(stiffness: Sequence[float], force: float) -> dict:
    """Massless springs in series under ``force``: each carries the whole force, so spring ``i``
    stretches by ``F / k_i``; the chain stretches by ``F / k_eff`` with ``1/k_eff = sum 1/k_i``.

    Chapters: hookes_law. Paper: §3.3.
    """
    k = np.asarray(stiffness, dtype=np.float64)
    if k.ndim != 1 or k.size == 0 or not (k > 0).all():
        raise ElasticError(f"spring constants must be positive numbers, got {list(stiffness)}")
    elongation = force / k
    return {"elongation": elongation, "k_times_elongation": k * elongation,
            "total": float(elongation.sum()), "k_eff": float(1 / (1 / k).sum())}


def _tree(source: IIDSource, n: int, seed: int, d: int):
    tokens, lengths = source.sample(n, seed=seed)
    return token_tree(tokens, source.vocab_size, lengths=lengths, depth=d)


def invariant(trees: Sequence[TokenTree], sizes: Sequence[int], perturbation: TokenTree,
              perturbation_size: int, d: int) -> dict:
    """``|D_i| · Δγ_i`` for datasets with token trees ``trees`` and ``sizes`` when a perturbation
    ``D_3`` (its tree and size) joins their joint compression.

    For each dataset the rates are computed before (code on ``D = ∪ D_i``) and after (code on
    ``D ∪ D_3``): the per-segment cross-entropy ``CE_i`` and both normalized rates of
    :mod:`elastic.coding`. Returns, per rate, the changes ``Δγ_i``, the products ``|D_i| Δγ_i``
    and their spread ``max/min`` of the absolute products (1 for a true invariant), plus the
    first-order prediction of ``ΔCE_i`` (:func:`first_order_shift`) and the size-weighted sum
    ``sum_i |D_i| ΔCE_i`` ("conservation") with its first-order value: summing
    :func:`first_order_shift` over datasets with weights ``|D_i|`` gives
    ``|D| eps q / ln 2``, ``q`` the mass ``D_3`` puts on leaves absent from ``D``. So for two
    datasets and ``q = 0``, ``|D_1| ΔCE_1 = -|D_2| ΔCE_2``: Hooke's magnitudes, opposite signs.

    Chapters: hookes_law. Paper: §3.3.
    """
    if len(trees) != len(sizes) or len(sizes) < 2:
        raise ElasticError("give at least two datasets, one size per tree")
    if perturbation_size < 1 or min(sizes) < 1:
        raise ElasticError("dataset and perturbation sizes must be >= 1")
    before = mixture(trees, sizes)
    after = mixture([*trees, perturbation], [*sizes, perturbation_size])
    rates = {
        "cross_entropy": lambda t, j: coding.cross_entropy(t, d, j),
        "acl": lambda t, j: coding.normalized_compression_rate(t, j, d, "acl"),
        "arxiv": lambda t, j: coding.normalized_compression_rate(t, j, d, "arxiv"),
    }
    sizes_arr = np.asarray(sizes, dtype=np.float64)
    eps = perturbation_size / (sizes_arr.sum() + perturbation_size)
    p_joint, p_3 = coding.aligned_leaves([before, perturbation], d)
    new_mass = float(p_3[p_joint == 0].sum())
    out = {"sizes": list(sizes), "perturbation_size": perturbation_size, "d": d,
           "first_order": [first_order_shift(t, before, perturbation, d, eps) for t in trees],
           # conservation law: sum_i |D_i| dCE_i = |D| eps q / ln 2 to first order, q = D_3's mass
           # on leaves D does not have (0 when D_3 stays inside D's support)
           "new_leaf_mass": new_mass,
           "conservation_first_order": float(sizes_arr.sum() * eps * new_mass / np.log(2))}
    for name, rate in rates.items():
        b = np.array([rate(t, before) for t in trees])
        a = np.array([rate(t, after) for t in trees])
        product = np.abs(sizes_arr * (a - b))
        out[name] = {"before": b, "after": a, "delta": a - b, "size_times_delta": sizes_arr * (a - b),
                     "spread": float(product.max() / product.min()) if product.min() > 0 else np.inf}
    out["conservation"] = float((sizes_arr * out["cross_entropy"]["delta"]).sum())
    return out


def first_order_shift(tree: TokenTree, joint: TokenTree, perturbation: TokenTree, d: int,
                      eps: float) -> float:
    """First-order change of ``tree``'s per-segment cost ``CE_i`` when the joint leaves move to
    ``(1 - eps) p^D + eps p^{D_3}``:  ``eps / ln 2 · (1 - sum_j p^{D_i}_j p^{D_3}_j / p^D_j)``."""
    p_i, p_joint, p_3 = coding.aligned_leaves([tree, joint, perturbation], d)
    used = p_joint > 0
    return float(eps / np.log(2) * (1 - (p_i[used] * p_3[used] / p_joint[used]).sum()))


def measure_invariant(sources: Sequence[IIDSource], sizes: Sequence[int], perturbation: IIDSource,
                      perturbation_size: int, d: int, seed: int = 0) -> dict:
    """:func:`invariant` on simulated datasets: ``sizes[i]`` responses of ``sources[i]`` and
    ``perturbation_size`` responses of ``perturbation``, trees built to depth ``d`` (mixing
    commutes with pruning, so nothing deeper is needed).

    Chapters: hookes_law. Paper: §3.3.
    """
    if len(sources) != len(sizes):
        raise ElasticError(f"{len(sources)} sources but {len(sizes)} sizes: give one size per source")
    trees = [_tree(s, n, seed + i, d) for i, (s, n) in enumerate(zip(sources, sizes))]
    perturbed = _tree(perturbation, perturbation_size, seed + len(trees), d)
    return invariant(trees, sizes, perturbed, perturbation_size, d)
