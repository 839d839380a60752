"""The Hooke's-law chapter: the series-spring model, and the would-be invariant |D_i| Δγ_i
measured on token trees of datasets of several sizes under one perturbation D3: sampled from
overlapping and from disjoint sources, and with the paper's own Pareto leaf masses."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from elastic import results, springs
from elastic.config import ExperimentConfig
from elastic.sources import IIDSource
from elastic.theory.elasticity import pareto_tree


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    sizes: tuple[int, ...] = (100000, 10000, 1000)      #: |D_i|, largest first
    perturbation_sizes: tuple[int, ...] = (10, 30, 100, 300)  #: |D_3| values
    p_one: tuple[float, ...] = (0.2, 0.35, 0.5)         #: binary sources of the D_i ("overlap")
    perturbation_p_one: float = 0.85
    stop_prob: float = 0.15
    max_len: int = 24
    d: int = 6                                           #: pruning depth (layers)
    pareto_alpha: float = 3.0        #: Pareto exponent of the leaf masses in the "pareto" family
    pareto_depth: int = 10           #: its depth: 2^(d-1) shared leaves (the paper takes M large)


def _scenarios(cfg: Config) -> dict:
    """Two families of datasets. ``overlap``: binary sources that differ only in P(1), so all
    datasets share leaves. ``disjoint``: dataset i writes only tokens {2i, 2i+1} of a larger
    vocabulary, so datasets share no leaf but the empty response (the D_i are as "distinct and
    independent" as token trees allow)."""
    n = len(cfg.sizes)
    overlap = [IIDSource((1 - p, p), cfg.stop_prob, cfg.max_len) for p in cfg.p_one]
    q = cfg.perturbation_p_one

    def sliced(i, p):  # tokens 2i, 2i+1 with probabilities 1-p, p; vocabulary of n+1 slices
        probs = [0.0] * (2 * (n + 1))
        probs[2 * i], probs[2 * i + 1] = 1 - p, p
        return IIDSource(tuple(probs), cfg.stop_prob, cfg.max_len)

    return {
        "overlap": (overlap, IIDSource((1 - q, q), cfg.stop_prob, cfg.max_len)),
        "disjoint": ([sliced(i, p) for i, p in enumerate(cfg.p_one)], sliced(n, q)),
    }


def run(cfg: Config) -> dict:
    start = time.perf_counter()
    model = springs.series_springs(cfg.sizes, force=1.0)
    data = {"sizes": list(cfg.sizes), "d": cfg.d, "stop_prob": cfg.stop_prob, "springs": model,
            "scenarios": {}}
    for name, (sources, perturbation) in _scenarios(cfg).items():
        data["scenarios"][name] = [
            springs.measure_invariant(sources, cfg.sizes, perturbation, n3, cfg.d, seed=cfg.seed)
            for n3 in cfg.perturbation_sizes
        ]
    # the paper's setting (Assumptions A.3/A.8, B.6): every dataset puts i.i.d. Pareto masses on
    # the same 2^(d-1) leaves of the deepest layer
    rng = np.random.default_rng(cfg.seed)
    trees = [pareto_tree(cfg.pareto_alpha, cfg.pareto_depth, rng) for _ in cfg.sizes]
    perturbation = pareto_tree(cfg.pareto_alpha, cfg.pareto_depth, rng)
    data["scenarios"]["pareto"] = [
        springs.invariant(trees, cfg.sizes, perturbation, n3, cfg.pareto_depth)
        for n3 in cfg.perturbation_sizes
    ]
    data["pareto"] = {"alpha": cfg.pareto_alpha, "depth": cfg.pareto_depth}
    return results.save("hookes_law", cfg, data, time.perf_counter() - start, summary=summary)


def first_order_error(run: dict) -> float:
    """The largest relative error of the first-order prediction of the changes ``Δ CE_i`` (the
    conservation argument of §3.3) in one measurement of :func:`elastic.springs.invariant`."""
    delta = np.array(run["cross_entropy"]["delta"])
    return np.max(np.abs(np.array(run["first_order"]) - delta) / np.abs(delta))


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    sizes = np.array(data["sizes"], dtype=float)
    scenarios = data["scenarios"]
    out = {
        "sizes": ", ".join(f"{int(s):,}" for s in sizes),
        "d": str(data["d"]),
        "alpha": str(data["pareto"]["alpha"]),
        "n_leaves": f"{2 ** (data['pareto']['depth'] - 1):,}",
        "size_span": f"{sizes.max() / sizes.min():,.0f}",
    }
    for name, runs in scenarios.items():
        for form in ("cross_entropy", "arxiv"):
            spread = [r[form]["spread"] for r in runs]
            out[f"spread_{form}_{name}"] = f"{min(spread):.1f} to {max(spread):.1f}"
        signs = {" ".join("+" if x > 0 else "−" for x in r["cross_entropy"]["delta"]) for r in runs}
        out[f"signs_{name}"] = "; ".join(sorted(signs))
    for end, i in (("small", 0), ("large", -1)):
        out[f"first_order_err_{end}"] = f"{max(first_order_error(runs[i]) for runs in scenarios.values()):.1%}"
    out["n3_small"] = f"{scenarios['overlap'][0]['perturbation_size']:,}"
    out["n3_large"] = f"{scenarios['overlap'][-1]['perturbation_size']:,}"
    out["one_minus_empty"] = f"{1 - data['stop_prob']:.2f}"
    # disjoint supports: each change against log2(1 + |D3| / |D|), the change for disjoint leaves
    disjoint = scenarios["disjoint"]
    closed = [np.log2(1 + r["perturbation_size"] / sizes.sum()) for r in disjoint]
    ratios = [np.array(r["cross_entropy"]["delta"]) / c for r, c in zip(disjoint, closed)]
    out["disjoint_ratio"] = f"{min(x.min() for x in ratios):.2f} to {max(x.max() for x in ratios):.2f}"
    top_two = [abs(r["cross_entropy"]["size_times_delta"][1] / r["cross_entropy"]["size_times_delta"][0])
               for r in scenarios["pareto"]]
    out["pareto_top_two"] = f"{min(top_two):.2f} to {max(top_two):.2f}"
    for name in ("overlap", "pareto"):
        conservation = [abs(r["conservation"]) / np.abs(r["cross_entropy"]["size_times_delta"]).sum()
                        for r in scenarios[name]]
        out[f"conservation_{name}"] = f"{max(conservation):.1%}"
    return out
