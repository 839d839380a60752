"""The elasticity-theorem chapter: Thm 3.2 / B.7 (ACL) and Thm 3.13 / A.9 (arXiv) derived with
sympy, evaluated by quadrature for finite ``k`` and ``l``, and measured on finite token trees."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sympy as sp
from tqdm.auto import tqdm

from elastic import results
from elastic.prose import count
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
    return results.save(RESULTS, cfg, data, time.perf_counter() - start, summary=summary)


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows], dtype=float)


def _where(rows: list[dict], **values) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in values.items())]


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`). The ``*_num`` entries are
    plain numbers for the theorem page's ``{glue:text}`` references."""
    sym, table, trees = data["symbolic"], data["table"], data["trees"]
    out = {
        "limits_agree": "all three agree" if all(v["agree"] for v in sym["limits"].values()) else "NOT all agree",
        "sign_alpha": f"{data['arxiv_sign_change_alpha']:.3f}",
        "sign_alpha_num": float(data["arxiv_sign_change_alpha"]),
    }
    # the quadrature table
    acl, arx = _where(table, definition="acl"), _where(table, definition="arxiv")
    acl0, arx0 = _where(acl, l=0), _where(arx, l=0)
    col = _column
    lmax = col(table, "l").max()
    acl_l = _where(acl, l=lmax)
    big_k = col(arx0, "k").max()
    arx_big = _where(arx0, k=big_k)
    arx_neg = [r for r in arx if r["d2"] < 0]
    lead = _where(acl0, k=col(acl0, "k").max())
    quad_err = (col(table, "ratio_err") / np.abs(col(table, "ratio"))).max()
    ratio_dev = np.abs(col(acl0, "ratio") + 1).max()
    lead_rel = np.abs(col(lead, "d1") / col(lead, "leading_d1") - 1).max()
    out.update({
        "acl_ratio_dev": f"{ratio_dev:.1e}",
        "acl_identity": f"{np.abs(col(acl, 'identity')).max():.1e}",
        "acl_n": str(len(acl)),
        "acl_d1_neg": str(int((col(acl, "d1") < 0).sum())),
        "acl_d2_pos": str(int((col(acl, "d2") > 0).sum())),
        "acl_lmax": f"{lmax:g}",
        "acl_ratio_lmax": f"{col(acl_l, 'ratio').min():.3g} to {col(acl_l, 'ratio').max():.3g}",
        "arx_bigk": f"{big_k:,.0f}",
        "arx_ratio_bigk": ", ".join(f"{r['ratio']:,.4g} (α = {r['alpha']:g})" for r in arx_big),
        "arx_d1_pos": count((col(arx, 'd1') > 0).sum(), "row", of=len(arx)),
        "arx_d2_neg": count(len(arx_neg), "row", of=len(arx)),
        "arx_d2_neg_alphas": ", ".join(f"{a:g}" for a in sorted({r["alpha"] for r in arx_neg})) or "none",
        "quad_err": f"{quad_err:.1e}",
        "acl_lead_rel": f"{lead_rel:.1e}",
        "acl_lead_k": f"{col(acl0, 'k').max():,.0f}",
        "quad_err_num": float(quad_err),
        "acl_ratio_dev_num": float(ratio_dev),
        "acl_identity_num": float(np.abs(col(acl, "identity")).max()),
        "arx_identity_num": float(np.abs(col(arx, "identity")).max()),
        "acl_d1_neg_frac": float((col(acl, "d1") < 0).mean()),
        "acl_lead_rel_num": float(lead_rel),
    })
    alphas = [r["alpha"] for r in arx_big]
    row = _where(arx_big, alpha=2.0 if 2.0 in alphas else alphas[0])[0]
    out.update({"arx_alpha_num": float(row["alpha"]), "arx_ratio_over_k_num": float(row["ratio"] / row["k"]),
                "arx_constant_a2_num": float(row["paper_constant"])})
    # the finite trees
    tacl, tarx = _where(trees, definition="acl"), _where(trees, definition="arxiv")
    tacl0, tarx0 = _where(tacl, l=0), _where(tarx, l=0)
    ratio0 = np.abs(col(tacl0, "ratio") + 1).max()
    k_d1 = col(tarx0, "k") * col(tarx0, "d1")
    d1_rel = np.abs(col(tarx0, "d1") / col(tarx0, "continuum_d1") - 1).max()
    out.update({
        "tree_leaves": f"{int(trees[0]['leaves']):,}",
        "tree_n": str(int(trees[0]["n_trees"])),
        "tree_acl_ratio0": f"{ratio0:.1e}",
        "tree_acl_ratio0_num": float(ratio0),
        "tree_fd_exact": f"{col(tacl, 'fd_vs_exact').max():.1e}",
        "tree_identity": f"{col(tacl, 'identity').max():.1e}",
        "tree_acl_d1_pos": count(col(tacl, 'd1_positive').sum(), "ACL tree draw", of=col(tacl, 'n_trees').sum()),
        "tree_arx_d1_rel": f"{d1_rel:.1%}",
        "tree_arx_d1_rel_num": float(d1_rel),
        "tree_arx_kd1": f"{k_d1.min():.3g} to {k_d1.max():.3g}",
        "tree_arx_ks": f"{col(tarx0, 'k').min():g} to {col(tarx0, 'k').max():g}",
        "tree_arx_d2_pos": count(col(tarx0, 'd2_positive').sum(), "draw", of=col(tarx0, 'n_trees').sum()),
        "tree_arx_ratio": "; ".join(
            f"{r['ratio']:,.3g} ± {r['ratio_sem']:,.2g} (continuum {r['continuum_ratio']:,.3g}; α = {r['alpha']:g}, k = {r['k']:g})"
            for r in tarx0),
    })
    return out
