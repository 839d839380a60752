"""The elasticity-theorem chapter: Thm 3.2 / B.7 (ACL) and Thm 3.13 / A.9 (arXiv) derived with
sympy, evaluated by quadrature for finite ``k`` and ``l``, and measured on finite token trees."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sympy as sp
from tqdm.auto import tqdm

from elastic import results
from elastic.stats import relative_error_of_ratio, standard_error
from elastic.config import ExperimentConfig
from elastic.theory import elasticity as el


#: The issue names this chapter's results file `theorem.json`.
RESULTS = "theorem"


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    alphas: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 10.0)   #: Pareto tail exponents
    ks: tuple[float, ...] = (10.0, 100.0, 1000.0, 10000.0)  #: k = |D1| / |D2|
    ls: tuple[float, ...] = (0.0, 0.01, 0.1)                #: l = |D3| / |D2|
    quad_nodes: int = 48                                    #: Gauss-Legendre nodes per variable
    tree_alphas: tuple[float, ...] = (2.0, 5.0)             #: alpha of the finite trees' leaves
    tree_depth: int = 13                                    #: d: trees have 2^(d-1) leaves
    tree_ks: tuple[float, ...] = (10.0, 100.0, 1000.0)
    tree_ls: tuple[float, ...] = (0.0, 0.01)
    n_trees: int = 10                                       #: independent (D1, D2, D3) draws
    fd_step: float = 1e-3                                   #: finite-difference step in l


def symbolic() -> dict:
    """Closed forms for the page, as LaTeX (natural logarithms)."""
    acl = el.paper_acl()
    lead = el.leading_order()
    return {
        "integrals": {k: sp.latex(v) for k, v in el.integrals().items()},
        "moments": {k: sp.latex(v) for k, v in el.moments().items()},
        "limits": {k: {"derived": sp.latex(v["derived"]), "paper": sp.latex(v["paper"]),
                       "agree": bool(sp.simplify(v["derived"] - v["paper"]) == 0)}
                   for k, v in el.limits().items()},
        "paper_acl": {k: sp.latex(v) for k, v in acl.items()},
        "leading_order": {k: sp.latex(v) for k, v in lead.items()},
        "arxiv_constant": sp.latex(el.paper_arxiv_constant()),
        "unreached": el.UNREACHED,
    }


def _continuum_rows(cfg: Config) -> list[dict]:
    # the large-k expansion (ACL and arXiv) and the ACL proof's printed derivatives, in nats
    lead, paper = el.leading_order(), el.paper_acl()
    formula = {name: sp.lambdify((el.ALPHA, el.K, el.C), expr, "math") for name, expr in
               [*((f"{f} d{j}", lead[f"{f} d{j}"]) for f in el.FORMS for j in (1, 2)),
                *((f"paper d{j}", paper[f"dgamma{j}/dl"]) for j in (1, 2))]}
    rows = []
    grid = [(a, k, l) for a in cfg.alphas for k in cfg.ks for l in cfg.ls]
    for alpha, k, l in tqdm(grid, desc="quadrature", leave=False):
        c = el.unit_mean_scale(alpha)
        for form in el.FORMS:
            d = el.derivatives(alpha, k, l, form, n=cfg.quad_nodes)
            lo = [formula[f"{form} d{j}"](alpha, k, c) for j in (1, 2)]
            if form == "acl":   # the table is in bits
                lo = [v / np.log(2) for v in lo]
                printed = [formula[f"paper d{j}"](alpha, k, c) / np.log(2) for j in (1, 2)]
                constant = alpha**2
            else:
                printed = [None, None]   # Appendix A gives no finite-k values we can evaluate
                constant = float(el.paper_arxiv_constant().subs({el.ALPHA: alpha, el.C: c}))
            rows.append({"alpha": alpha, "c": c, "k": k, "l": l, "definition": form, **d,
                         "leading_d1": lo[0], "leading_d2": lo[1],
                         "paper_d1": printed[0], "paper_d2": printed[1], "paper_constant": constant})
    return rows


def _tree_rows(cfg: Config) -> list[dict]:
    rng = np.random.default_rng(cfg.seed)
    rows = []
    for alpha in cfg.tree_alphas:
        draws = [[el.pareto_tree(alpha, cfg.tree_depth, rng) for _ in range(3)] for _ in range(cfg.n_trees)]
        for k in tqdm(cfg.tree_ks, desc=f"trees, alpha={alpha}", leave=False):
            for l in cfg.tree_ls:
                exact = np.array([el.tree_derivatives_exact(t, k, l, cfg.tree_depth) for t in draws])
                for form in el.FORMS:
                    fd = np.array([el.tree_derivatives(t, k, l, cfg.tree_depth, form, cfg.fd_step)
                                   for t in draws])
                    (m1, m2), (s1, s2) = fd.mean(axis=0), standard_error(fd, axis=0)
                    # ratio of the means (d2 of single draws can sit near 0 in the arXiv form); its
                    # error by the delta method with the covariance of d1 and d2 over draws
                    ratio = k * m1 / m2
                    cov = np.cov(fd.T)[0, 1] / len(fd) if len(fd) > 1 else np.nan
                    continuum = el.derivatives(alpha, k, l, form, n=cfg.quad_nodes)
                    row = {"alpha": alpha, "depth": cfg.tree_depth, "leaves": 2 ** (cfg.tree_depth - 1),
                           "k": k, "l": l, "definition": form, "n_trees": cfg.n_trees,
                           "d1": m1, "d1_sem": s1, "d2": m2, "d2_sem": s2,
                           "ratio": ratio, "ratio_sem": abs(ratio) * relative_error_of_ratio(m1, m2, s1, s2, cov),
                           **{f"continuum_{key}": continuum[key] for key in ("d1", "d2", "ratio")},
                           "d1_positive": int((fd[:, 0] > 0).sum()), "d2_positive": int((fd[:, 1] > 0).sum())}
                    if form == "acl":
                        row["fd_vs_exact"] = float(np.abs(fd - exact[:, :2]).max() / np.abs(exact[:, :2]).max())
                        row["identity"] = float(np.abs(k * exact[:, 0] + exact[:, 1] + l * exact[:, 2]).max())
                    rows.append(row)
    return rows


def run(cfg: Config) -> dict:
    start = time.perf_counter()
    data = {
        "symbolic": symbolic(),
        "arxiv_sign_change_alpha": el.arxiv_sign_change(),
        "table": _continuum_rows(cfg),
        "trees": _tree_rows(cfg),
    }
    return results.save(RESULTS, cfg, data, time.perf_counter() - start)
