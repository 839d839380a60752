"""The chapters' figures and printed tables, in one style for the whole book.

Each chapter's notebook shows its results with the functions of its section below; each takes the
``data`` its experiment returned (what :func:`elastic.notebook.run` hands back) and returns a
matplotlib figure to glue, or a table (a :class:`pandas.DataFrame`, which a cell shows as an HTML
table when it ends with the call). No figure computes anything a page states: the
numbers and verdicts come from the experiment's results.
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np

from elastic.errors import ElasticError
from elastic.stats import standard_error
from elastic.tokentree import TokenTree

#: Largest tree :func:`draw_token_tree` will draw; prune bigger ones first.
MAX_DRAWN_NODES = 80


def style() -> None:
    """The book's matplotlib style: small, clean, colour-blind safe."""
    plt.rcParams.update({
        "figure.dpi": 110,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.prop_cycle": plt.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]),
        "font.size": 10,
    })


def draw_token_tree(tree: TokenTree, ax=None, title: str | None = None):
    """Draw a small token tree: circles are prefix nodes labelled with their token and weight,
    squares are EOS leaves labelled with their weight (leaves of weight 0 are left out)."""
    if tree.n_nodes > MAX_DRAWN_NODES:
        raise ElasticError(
            f"tree has {tree.n_nodes} nodes, more than {MAX_DRAWN_NODES} can be drawn: prune it first"
        )
    ax = ax or plt.gca()
    positions: dict[tuple[str, int], tuple[float, float]] = {}
    slot = [0]

    def place(node: int) -> float:
        xs = []
        if tree.eos[node] > 0:
            positions[("eos", node)] = (slot[0], -tree.depth[node] - 1)
            xs.append(slot[0])
            slot[0] += 1
        xs.extend(place(int(c)) for c in tree.children(node))
        x = sum(xs) / len(xs)
        positions[("node", node)] = (x, -tree.depth[node])
        return x

    place(0)
    for (kind, node), (x, y) in positions.items():
        parent = ("node", node) if kind == "eos" else ("node", int(tree.parent[node]))
        if parent in positions and parent != (kind, node):
            px, py = positions[parent]
            ax.plot([px, x], [py, y], color="0.6", lw=1, zorder=1)
        if kind == "node":
            label = "root" if node == 0 else str(tree.token[node])
            ax.scatter(x, y, s=420, color="#56B4E9", zorder=2)
            ax.annotate(label, (x, y), ha="center", va="center", fontsize=8, zorder=3)
            ax.annotate(_weight(tree.weight[node]), (x, y), xytext=(0, 12), textcoords="offset points",
                        ha="center", fontsize=7, color="0.3")
        else:
            ax.scatter(x, y, s=260, marker="s", color="#E69F00", zorder=2)
            ax.annotate(_weight(tree.eos[node]), (x, y), xytext=(0, -14), textcoords="offset points",
                        ha="center", fontsize=7)
    ax.set_axis_off()
    if title:
        ax.set_title(title, pad=16)
    return ax


def _weight(w: float) -> str:
    """A weight as the fraction it is when its denominator is small (1/8, not 0.12, so that the
    labels of a hand-sized tree add up), else with three significant digits."""
    exact = Fraction(float(w)).limit_denominator(64)
    return str(exact) if abs(float(exact) - float(w)) < 1e-9 else f"{float(w):.3g}"


def _table(rows: list[dict], index: list[str]):
    """A table for a cell to show: one dict per row, keyed by column header, its numbers already
    formatted as the page shows them; the ``index`` columns label the rows. A cell that a row lacks
    stays empty."""
    import pandas as pd

    return pd.DataFrame(rows).fillna("").set_index(index)


# --- the token tree (notebooks/token_tree) ---------------------------------------------------------

def example_responses(res: dict) -> list[str]:
    """The hand-sized dataset's responses as strings, the empty one named.

    Chapters: token_tree.
    """
    return ["".join(map(str, s)) or "(empty)" for s in res["example"]["sequences"]]


def example_tree(res: dict):
    """The hand-sized tree and the same tree pruned to two layers (Def. 2.2).

    Chapters: token_tree.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    draw_token_tree(TokenTree.from_dict(res["example"]["tree"]), axes[0], "full tree")
    draw_token_tree(TokenTree.from_dict(res["example"]["pruned"]), axes[1],
                    f"pruned to d = {res['example']['pruned_depth']} layers")
    return fig


def pruning_sizes(res: dict):
    """Nodes and EOS leaves of the generated corpus's tree against the pruning depth.

    Chapters: token_tree.
    """
    pruning = res["pruning"]
    depths = [p["depth"] for p in pruning]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.semilogy(depths, [p["nodes"] for p in pruning], "o-", label="nodes")
    ax.semilogy(depths, [p["leaves"] for p in pruning], "s--", label="EOS leaves with mass > 0")
    ax.semilogy(depths, [2 ** d - 1 for d in depths], ":", color="0.5", label="$2^d - 1$ (full binary tree)")
    ax.set_xlabel("pruning depth $d$ (layers)")
    ax.set_ylabel("count")
    ax.legend()
    return fig


def mixture_leaves(res: dict):
    """Leaf probabilities of two datasets and of their joint tree (§2.2, the mixture).

    Chapters: token_tree.
    """
    mix = res["mixture"]
    x = np.arange(len(mix["leaf_prefixes"]))
    width = 0.8 / (len(mix["sizes"]) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for i, (probs, size, p1) in enumerate(zip(mix["leaf_probs"]["parts"], mix["sizes"], mix["p_one"])):
        ax.bar(x + i * width, probs, width, label=f"$D_{i + 1}$: {size:,} responses, P(1) = {p1:.2f}")
    ax.bar(x + len(mix["sizes"]) * width, mix["leaf_probs"]["mixture"], width, color="0.3",
           label="joint tree $D$")
    ax.set_xticks(x + width * len(mix["sizes"]) / 2, mix["leaf_prefixes"])
    ax.set_xlabel(f"EOS leaf (prefix) of the tree pruned to d = {mix['depth']}")
    ax.set_ylabel("leaf probability")
    ax.legend(fontsize=8)
    return fig


# --- the compression protocol (notebooks/compression_protocol) -------------------------------------

def huffman_table(res: dict):
    """Entropy and Huffman expected length of the random distributions (Thm 2.5's bounds), one row
    per alphabet size, as a DataFrame.

    Chapters: compression_protocol.
    """
    return _table([{"symbols": f"{r['n']:,}", "entropy H (bits)": f"{r['entropy']:.4f}",
                    "Huffman (bits)": f"{r['huffman']:.4f}"} for r in res["huffman"]["random"]], ["symbols"])


def code_length_by_depth(res: dict):
    """Bits per segment and compression rate against the pruning depth (Def. 2.4, Def. 3.1).

    Chapters: compression_protocol.
    """
    corpus, rows = res["corpus"], res["by_depth"]
    d = [r["d"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(d, [r["entropy"] for r in rows], "o-", label="entropy $H_d$ of the pruned leaves")
    axes[0].plot(d, [r["huffman"] for r in rows], "s--", label="Huffman expected length")
    axes[0].fill_between(d, [r["entropy"] for r in rows], [r["entropy"] + 1 for r in rows],
                         color="0.85", label="$[H_d, H_d + 1)$")
    axes[0].set_xlabel("pruning depth $d$ (layers)")
    axes[0].set_ylabel("bits per segment")
    axes[0].legend(fontsize=8)
    axes[1].plot(d, [r["rate_ideal"] for r in rows], "o-", label=r"$\gamma$, ideal lengths")
    axes[1].plot(d, [r["rate_huffman"] for r in rows], "s--", label=r"$\gamma$, Huffman lengths")
    axes[1].axhline(corpus["full_tree_rate"], color="0.4", ls=":", label="unpruned tree, one segment")
    axes[1].set_xlabel("pruning depth $d$ (layers)")
    axes[1].set_ylabel("bits per token")
    axes[1].legend(fontsize=8)
    return fig


def brute_force_table(res: dict):
    """The enumerated source's expected code length per depth against Thm 2.5, one row per depth
    d, as a DataFrame: the entropy H_d of the pruned leaves, the brute-force expected bits per
    response (ideal lengths, Huffman lengths), the segment count times H_d, and Thm 2.5's bound.

    Chapters: compression_protocol.
    """
    return _table([{"d": r["d"], "H_d": f"{r['entropy']:.3f}", "brute force": f"{r['brute_force']:.3f}",
                    "brute force (Huffman)": f"{r['brute_force_huffman']:.3f}",
                    "segments × H_d": f"{r['parse_segments_times_h']:.3f}", "Thm 2.5": f"{r['thm_2_5']:.3f}"}
                   for r in res["exact"]["by_depth"]], ["d"])


def brute_force(res: dict):
    """Expected bits per response by brute force, by the segment count and by Thm 2.5.

    Chapters: compression_protocol.
    """
    rows = res["exact"]["by_depth"]
    dd = [r["d"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(dd, [r["brute_force"] for r in rows], "o-", label="brute force (ideal lengths)")
    ax.plot(dd, [r["brute_force_huffman"] for r in rows], "s-", label="brute force (Huffman)")
    ax.plot(dd, [r["parse_segments_times_h"] for r in rows], "^--", label=r"$E[\lfloor |x|/(d-1) \rfloor + 1] \cdot H_d$")
    ax.plot(dd, [r["thm_2_5"] for r in rows], "v:", label=r"Theorem 2.5: $E[\lceil |x|/d \rceil] \cdot H_d$")
    ax.set_xlabel("pruning depth $d$ (layers)")
    ax.set_ylabel("expected bits per response")
    ax.legend(fontsize=8)
    return fig


# --- joint compression (notebooks/joint_compression) ------------------------------------------------

def joint_table(res: dict):
    """Own and joint compression rates and both normalized rates per size ratio (Def. 3.1 / 3.12),
    one row per |D1|/|D2|, as a DataFrame.

    Chapters: joint_compression.
    """
    return _table([{"|D1|/|D2|": r["ratio"],
                    **{f"γ{i} {code} code": f"{r[code][i - 1]:.3f}" for i in (1, 2) for code in ("own", "joint")},
                    **{f"{name} {i}": f"{r[name.lower()][i - 1]:.3f}" for name in ("ACL", "arXiv") for i in (1, 2)}}
                   for r in res["rows"]], ["|D1|/|D2|"])


def joint_rates(res: dict):
    """Compression rates and both normalized rates of D1 (growing) and D2 (fixed) against |D1|/|D2|.

    Chapters: joint_compression.
    """
    rows = res["rows"]
    ratio = np.array([r["ratio"] for r in rows])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for i, name in enumerate(("$D_1$ (growing)", "$D_2$ (fixed)")):
        axes[0].semilogx(ratio, [r["joint"][i] for r in rows], "o-", label=f"{name}, joint code")
        axes[0].semilogx(ratio, [r["own"][i] for r in rows], ":", color=f"C{i}", label=f"{name}, own code")
        axes[1].semilogx(ratio, [r["acl"][i] for r in rows], "o-", label=name)
        axes[2].semilogx(ratio, [r["arxiv"][i] for r in rows], "o-", label=name)
    axes[0].set_ylabel(r"$\gamma$ (bits per token)")
    axes[1].set_ylabel(r"ACL: $\log_2 M - CE_i$")
    axes[2].set_ylabel(r"arXiv: $(CE_i - u)/(H_D - u)$")
    for ax in axes:
        ax.set_xlabel(r"$|D_1| / |D_2|$")
        ax.legend(fontsize=7)
    return fig


# --- compression is prediction (notebooks/compression_prediction) ------------------------------------

def coded_texts(res: dict, chars: int = 120):
    """The coded texts as short quoted examples (Markdown), each cut after ``chars`` characters.

    Chapters: compression_prediction.
    """
    from IPython.display import Markdown

    return Markdown("\n\n".join(f"> **{name}** ({res['n_bytes'][name]} bytes): "
                                 f"“{text[:chars].strip()}{' …' if len(text) > chars else ''}”"
                                 for name, text in res["texts"].items()))


def code_lengths_table(res: dict):
    """Every coder's code length of each text, cheapest first (bits per token for models only), as
    a DataFrame with one row per text and coder.

    Chapters: compression_prediction.
    """
    return _table([{"text": r["text"], "coder": r["coder"], "bits": f"{r['bits']:.1f}", "tokens": r["n_tokens"],
                    "bits/token": f"{r['bits_per_token']:.3f}" if r["kind"] == "model" else "-",
                    "bits/byte": f"{r['bits_per_byte']:.3f}"}
                   for r in sorted(res["lengths"], key=lambda r: (r["text"], r["bits_per_byte"]))], ["text", "coder"])


def code_lengths(res: dict):
    """Bits per byte of each text under each coder: classic compressors, models, the true source.

    Chapters: compression_prediction.
    """
    lengths, texts = res["lengths"], list(res["texts"])
    coders = list(dict.fromkeys(r["coder"] for r in lengths))
    bpb = {(r["coder"], r["text"]): r["bits_per_byte"] for r in lengths}
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(coders)
    x = np.arange(len(texts))
    for i, coder in enumerate(coders):
        values = [bpb.get((coder, t), np.nan) for t in texts]
        ax.bar(x + i * width, values, width, label=coder, color="0.25" if coder == "true source" else None)
    ax.axhline(8, color="0.5", ls=":", lw=1)
    ax.text(x[0] - 0.1, 8, "raw UTF-8", va="bottom", ha="left", fontsize=8, color="0.4")
    ax.set_xticks(x + width * (len(coders) - 1) / 2, texts)
    ax.set_ylabel("bits per byte")
    ax.legend(fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.12))
    return fig


def arithmetic_table(res: dict):
    """Each arithmetic-coded text: coded bits against the log-loss, the round trip, and this run's
    timings (``res["run"]``, see :func:`elastic.notebook.run`), as a DataFrame with one row per
    model and text.

    Chapters: compression_prediction.
    """
    return _table([{"model": a["model"], "text": a["text"], "tokens": a["n_tokens"], "bits": a["n_bits"],
                    "log-loss (bits)": f"{a['ideal_bits']:.2f}", "overhead (bits)": f"{a['overhead_bits']:.2f}",
                    "decoded": "yes" if a["tokens_round_trip"] else "NO",
                    "encode (s)": f"{t['encode_seconds']:.1f}", "decode (s)": f"{t['decode_seconds']:.1f}"}
                   for a, t in zip(res["arithmetic"], res["run"]["arithmetic_seconds"])], ["model", "text"])


def coding_overhead(res: dict):
    """Coded bits minus log-loss bits of each arithmetic-coded text, against the 2-bit bound.

    Chapters: compression_prediction.
    """
    arith = res["arithmetic"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [f"{a['model']}\n{a['text']}" for a in arith]
    ax.bar(range(len(arith)), [a["overhead_bits"] for a in arith], color="#0072B2")
    ax.axhline(2, color="#D55E00", ls="--", label="bound: 2 bits")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(range(len(arith)), labels, fontsize=8)
    ax.set_ylabel("coded bits − log-loss bits")
    ax.legend(fontsize=8)
    return fig


def token_costs(res: dict):
    """Bits per token along the prose, one panel per model.

    Chapters: compression_prediction.
    """
    coders = dict.fromkeys(r["coder"] for r in res["lengths"])
    models_run = [c for c in coders if any(r["coder"] == c and r["kind"] == "model" for r in res["lengths"])]
    fig, axes = plt.subplots(len(models_run), 1, figsize=(7, 1.9 * len(models_run)), squeeze=False)
    for ax, model in zip(axes[:, 0], models_run):
        bits = np.asarray(res["token_bits"][f"{model}/prose"], dtype=float)
        ax.plot(bits, lw=0.8)
        ax.axhline(bits.mean(), color="#D55E00", ls="--", lw=1, label=f"mean {bits.mean():.2f} bits/token")
        ax.set_ylabel("bits")
        ax.set_title(f"{model} on the prose", fontsize=9)
        ax.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("token position")
    fig.tight_layout()
    return fig


# --- the mass distribution (notebooks/mass_distribution) --------------------------------------------

def trees_table(res: dict):
    """Every pruned tree as a DataFrame, one row per family, dataset and depth d: leaves M,
    distinct values of X = Mp, mean X, status.

    Chapters: mass_distribution.
    """
    return _table([{"family": f["family"], "dataset": f["dataset"], "d": f["depth"], "M": f["n_leaves"],
                    "distinct X": f["n_distinct"], "mean X": f"{f['mean_x']:.4f}", "status": f["status"]}
                   for f in res["fits"]], ["family", "dataset", "d"])


def _fitted(res: dict) -> list[dict]:
    return [f for f in res["fits"] if f["status"] == "ok"]


def fits_table(res: dict):
    """The whole-distribution and tail Pareto fits of every fitted tree, with their tests, as a
    DataFrame with one row per tree and fit.

    Chapters: mass_distribution.
    """
    return _table([{"tree": f"{f['family']}/{f['dataset']} d={f['depth']}", "fit": kind,
                    "α": f"{r['alpha']:.2f}", "c": f"{r['c']:.3f}", "n tail": r["n_tail"], "KS": f"{r['ks']:.3f}",
                    "p (KS)": f"{r['ks_pvalue']:.2f}", "LR vs lognormal": f"{r['lr_lognormal']:.1f}",
                    "p (LR)": f"{r['lr_lognormal_p']:.3f}", "E[X]": f"{float(r['pareto_mean']):.2f}"}
                   for f in _fitted(res) for kind, r in (("whole", f["whole"]), ("tail", f["tail"]))], ["tree", "fit"])


def _by_dataset(res: dict) -> dict:
    groups = {}
    for f in _fitted(res):
        groups.setdefault((f["family"], f["dataset"]), []).append(f)
    return groups


def _ccdf_panel(ax, group):
    """Empirical P(X >= x) of one dataset at every fitted depth; fitted laws at the deepest."""
    from scipy import stats

    for f in group:
        ax.loglog(f["ccdf"]["x"], f["ccdf"]["p"], ".", ms=3, alpha=0.35 if f is not group[-1] else 1,
                  label=f"data, d = {f['depth']}")
    f = group[-1]
    x = np.geomspace(min(f["ccdf"]["x"]), max(f["ccdf"]["x"]), 200)
    whole, tail = f["whole"], f["tail"]
    ax.loglog(x, (whole["c"] / np.maximum(x, whole["c"])) ** whole["alpha"], "--", color="0.4",
              label=f"Pareto, whole (α={whole['alpha']:.2f})")
    xt = x[x >= tail["c"]]
    share = tail["n_tail"] / tail["n"]
    ax.loglog(xt, share * (tail["c"] / xt) ** tail["alpha"], "-", color="#D55E00",
              label=f"Pareto, tail (α={tail['alpha']:.2f})")
    ln = tail["lognormal"]
    sf = stats.norm.sf(np.log(xt), ln["mu"], ln["sigma"]) / stats.norm.sf(np.log(tail["c"]), ln["mu"], ln["sigma"])
    ax.loglog(xt, share * sf, ":", color="#009E73", lw=2, label="lognormal, tail")
    ax.set_title(f"{f['family']} / {f['dataset']}", fontsize=9)
    ax.set_xlabel("$x$ (leaf mass $X = Mp$)")
    ax.set_ylim(0.5 / tail["n"], 1.5)
    ax.legend(fontsize=6)


def mass_ccdf(res: dict):
    """The leaf mass's complementary CDF per dataset, with the fitted Pareto and lognormal laws
    (Def. B.2, Assumption B.6).

    Chapters: mass_distribution.
    """
    groups = _by_dataset(res)
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.1 * rows), squeeze=False)
    for ax, group in zip(axes.flat, groups.values()):
        _ccdf_panel(ax, group)
    for ax in axes.flat[len(groups):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("$P(X \\geq x)$")
    fig.tight_layout()
    return fig


def mass_alphas(res: dict):
    """Fitted Pareto exponents with two standard errors against the pruning depth.

    Chapters: mass_distribution.
    """
    groups = _by_dataset(res)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    styles = {"generated": "s-", "lm-sampled": "o--", "lm-topk": "^:"}
    for ax, kind in zip(axes, ("whole", "tail")):
        for i, ((family, name), group) in enumerate(groups.items()):
            d = np.array([f["depth"] for f in group]) + 0.08 * (i - len(groups) / 2)
            ax.errorbar(d, [f[kind]["alpha"] for f in group], yerr=[2 * f[kind]["alpha_se"] for f in group],
                        fmt=styles[family], color=plt.cm.tab10(i), ms=4, capsize=2, label=f"{family}/{name}")
        ax.set_xlabel("pruning depth $d$")
        ax.set_title("whole distribution" if kind == "whole" else "tail above $x_{\\min}$")
    axes[0].set_ylabel("fitted $\\alpha$ (± 2 s.e.)")
    axes[0].set_yscale("log")
    axes[1].legend(fontsize=7)
    return fig


def homogeneity_table(res: dict):
    """The Wald test that the datasets at one depth share one alpha, as a DataFrame with one row per
    depth and fit kind.

    Chapters: mass_distribution.
    """
    return _table([{"d": h["depth"], "fit": h["kind"], "Q": f"{h['q']:.1f}", "df": h["df"], "p": f"{h['p']:.2g}",
                    "α of each dataset": ", ".join(f"{a:.2f}" for a in h["alphas"])}
                   for h in res["homogeneity"]], ["d", "fit"])


# --- the elasticity theorem (notebooks/elasticity_theorem) ------------------------------------------

def show_closed_forms(res: dict) -> None:
    """Display what sympy reaches: the proofs' integrals, the Pareto moments, the limits against the
    values printed in Appendix A, the ACL proof's own derivatives and our large-k expansions, then
    name what was not reached in closed form (Thm 3.2 / B.7, Thm 3.13 / A.9).

    Chapters: elasticity_theorem.
    """
    from IPython.display import Math, display

    sym = res["symbolic"]
    for name, latex in sym["integrals"].items():
        display(Math(rf"{name} = {latex}"))
    for name, latex in sym["moments"].items():
        display(Math(rf"\mathbb{{E}}[{name}] = {latex}"))
    for name, value in sym["limits"].items():
        display(Math(rf"\lim {name} = {value['derived']} \quad (\text{{as printed: {'yes' if value['agree'] else 'NO'}}})"))
    acl_printed = sym["paper_acl"]
    display(Math(rf"\text{{ACL proof, printed: }} \frac{{d\gamma_1}}{{dl}} = {acl_printed['dgamma1/dl']}, \quad "
                 rf"\frac{{d\gamma_2}}{{dl}} = {acl_printed['dgamma2/dl']}"))
    display(Math(rf"\lim_{{k\to\infty}} \frac{{k\,d\gamma_1/dl}}{{d\gamma_2/dl}} = {acl_printed['ratio limit']}"
                 rf"\quad \text{{(stated: }} {acl_printed['stated constant']}\text{{)}}"))
    for name in ("acl d1", "acl d2", "arxiv d1", "arxiv ratio / k"):
        display(Math(rf"\text{{large-}}k\text{{ {name}: }} {sym['leading_order'][name]}"))
    for name, reason in sym["unreached"].items():
        print(textwrap.fill(f"not reached in closed form: {name}: {reason}", 80, subsequent_indent="  "))


#: The columns of the theorem's two tables (:func:`show_rows`).
QUADRATURE_COLUMNS = ["alpha", "k", "l", "definition", "d1", "d2", "ratio", "ratio_err", "paper_constant"]
TREE_COLUMNS = ["alpha", "leaves", "k", "l", "definition", "d1", "d1_sem", "d2", "d2_sem", "ratio", "ratio_sem",
                "continuum_ratio", "d1_positive", "d2_positive", "n_trees"]


def show_rows(rows: list[dict], columns: list[str], shown: int = 10) -> None:
    """Display result rows as a table with four significant digits: the first and last ``shown``/2
    rows of a longer table (the results file, offered for download on the page, holds them all).

    Chapters: elasticity_theorem.
    """
    import pandas as pd
    from IPython.display import display

    with pd.option_context("display.float_format", "{:.4g}".format, "display.max_rows", shown,
                           "display.min_rows", shown):
        display(pd.DataFrame(rows)[columns])


def theorem_ratio(res: dict):
    """The ratio the theorem sends to a constant, at l = 0, under both definitions, with the
    constants the paper states (Thm 3.2 / B.7, Thm 3.13 / A.9).

    Chapters: elasticity_theorem.
    """
    import pandas as pd

    table = pd.DataFrame(res["table"])
    acl0 = table[(table.definition == "acl") & (table.l == 0)]
    arx0 = table[(table.definition == "arxiv") & (table.l == 0)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for alpha, group in acl0.groupby("alpha"):
        line, = axes[0].plot(group.k, group.ratio, "o-", label=f"α = {alpha:g}")
        axes[0].axhline(alpha**2, color=line.get_color(), ls=":", lw=1)
    for alpha, group in arx0.groupby("alpha"):
        line, = axes[1].loglog(group.k, group.ratio.abs(), "o-", label=f"α = {alpha:g}")
        axes[1].axhline(group.paper_constant.iloc[0], color=line.get_color(), ls=":", lw=1)
        neg = group[group.ratio < 0]
        axes[1].plot(neg.k, neg.ratio.abs(), "x", color="k", ms=8)
    axes[0].set_xscale("log")
    axes[0].set_title("ACL (Def. 3.1): ratio at l = 0")
    axes[0].set_ylabel(r"$k\,(d\gamma_1/dl)\,/\,(d\gamma_2/dl)$")
    axes[1].set_title("arXiv (Def. 3.12): |ratio| at l = 0")
    for ax in axes:
        ax.set_xlabel("k = |D1| / |D2|")
    axes[0].legend(fontsize=8)
    return fig


def theorem_trees(res: dict):
    """The ratio measured on finite Pareto trees against the independence approximation.

    Chapters: elasticity_theorem.
    """
    import pandas as pd

    trees = pd.DataFrame(res["trees"])
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for (alpha, form), group in trees[trees.l == 0].groupby(["alpha", "definition"]):
        bars = ax.errorbar(group.k, group.ratio.abs(), yerr=group.ratio_sem, fmt="o" if form == "acl" else "s",
                           capsize=3, label=f"{form}, α = {alpha:g}: trees")
        ax.plot(group.k, group.continuum_ratio.abs(), "-" if form == "acl" else "--",
                color=bars[0].get_color(), lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("k = |D1| / |D2|")
    ax.set_ylabel(r"$|k\,(d\gamma_1/dl)\,/\,(d\gamma_2/dl)|$")
    ax.legend(fontsize=8)
    return fig


# --- Hooke's law (notebooks/hookes_law) --------------------------------------------------------------

def springs_table(res: dict):
    """The series springs (§3.3) as a DataFrame, one row per spring i: its constant k_i = |D_i|,
    its elongation F/k_i and their product.

    Chapters: hookes_law.
    """
    model = res["springs"]
    return _table([{"spring i": i, "k_i = |D_i|": f"{k:,}", "elongation F/k_i": f"{e:g}", "k_i × elongation": f"{ke:g}"}
                   for i, (k, e, ke) in enumerate(zip(res["sizes"], model["elongation"], model["k_times_elongation"]), 1)],
                  ["spring i"])


def invariant_table(res: dict):
    """Per family and perturbation size |D3|, each dataset's change of cross-entropy dCE_i and that
    change times its size, as a DataFrame.

    Chapters: hookes_law.
    """
    rows = []
    for name, runs in res["scenarios"].items():
        for r in runs:
            ce = r["cross_entropy"]
            rows.append({"family": name, "|D3|": f"{r['perturbation_size']:,}",
                         **{f"dCE_{i}": f"{v:.3g}" for i, v in enumerate(ce["delta"], 1)},
                         **{f"|D_{i}| dCE_{i}": f"{v:.3g}" for i, v in enumerate(ce["size_times_delta"], 1)}})
    return _table(rows, ["family", "|D3|"])


def hooke_invariant(res: dict):
    """|D_i| times the change of its per-segment code cost, per dataset and perturbation size,
    against Hooke's constant (§3.3).

    Chapters: hookes_law.
    """
    sizes = np.array(res["sizes"], dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, (name, runs) in zip(axes, res["scenarios"].items()):
        for j, r in enumerate(runs):
            prod = np.array(r["cross_entropy"]["size_times_delta"])
            ax.loglog(sizes, np.abs(prod), "-", color=f"C{j}", label=f"$|D_3|$ = {r['perturbation_size']:,}")
            for x, y in zip(sizes, prod):  # filled: the cost went up; open: it went down
                ax.loglog(x, abs(y), "o", color=f"C{j}", mfc=f"C{j}" if y > 0 else "white")
        ref = np.abs(np.array(runs[-1]["cross_entropy"]["size_times_delta"]))
        ax.loglog(sizes, np.full_like(sizes, ref[0]), "k:", label="Hooke: constant")
        ax.loglog(sizes, ref[0] * sizes / sizes[0], "k--", lw=0.8, label=r"$\propto |D_i|$")
        ax.set_title(name)
        ax.set_xlabel("$|D_i|$")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(r"$| \, |D_i| \cdot \Delta CE_i \, |$ (bits)")
    return fig


# --- resistance (notebooks/resistance) ----------------------------------------------------------------

def resistance_table(res: dict):
    """Table 1 of the paper on our runs, as a DataFrame with one row per model, dataset and pair of
    slices: the inverse and forward cross-entropies and forward minus inverse in cross-entropy and
    in KL, means over the seeds.

    Chapters: resistance.
    """
    rows = []
    for row in res["rows"]:
        for n, pair in enumerate(row["seeds"][0]["pairs"]):
            per_seed = [s["pairs"][n] for s in row["seeds"]]
            mean = {key: float(np.mean([p[key] for p in per_seed])) for key in ("inverse", "forward", "inverse_kl", "forward_kl")}
            rows.append({"model": row["model"], "dataset": row["dataset"], "slices": f"θ{pair['i']},θ{pair['j']}",
                         "inverse": f"{mean['inverse']:.4f}", "forward": f"{mean['forward']:.4f}",
                         "Δ CE": f"{mean['forward'] - mean['inverse']:+.4f}",
                         "Δ KL": f"{mean['forward_kl'] - mean['inverse_kl']:+.4f}"})
    return _table(rows, ["model", "dataset", "slices"])


def resistance(res: dict):
    """Forward minus inverse alignment (§4.1) for every pair of slices, in KL and in cross-entropy:
    one dot per seed, the bar its mean; above zero, the inverse path is the easier one.

    Chapters: resistance.
    """
    labels, series = [], {"KL": [], "cross-entropy": []}
    for row in res["rows"]:
        for n, pair in enumerate(row["seeds"][0]["pairs"]):
            labels.append(f"{row['dataset']}\nθ{pair['i']},θ{pair['j']}")
            per_seed = [s["pairs"][n] for s in row["seeds"]]
            series["KL"].append([p["forward_kl"] - p["inverse_kl"] for p in per_seed])
            series["cross-entropy"].append([p["forward"] - p["inverse"] for p in per_seed])
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(labels)), 3.4))
    for offset, (name, values) in zip((-0.2, 0.2), series.items()):
        means = [np.mean(v) for v in values]
        bars = ax.bar(x + offset, means, 0.36, alpha=0.5, label=f"{name}: forward − inverse (mean over seeds)")
        for xi, v in zip(x + offset, values):
            ax.plot([xi] * len(v), v, "o", ms=3.5, color=bars.patches[0].get_facecolor()[:3])
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("forward − inverse (nats/token)")
    ax.legend(fontsize=8)
    return fig


# --- rebound, scaling and the ablations (notebooks/rebound, scaling, ablations) ----------------------

def _second_axis(ax, panel: dict) -> np.ndarray:
    sizes = [0, *panel["second_sizes"]]
    ax.set_xticks(np.arange(len(sizes)), [str(s) for s in sizes])
    second = "positive" if panel["first_side"] == "negative" else "negative"
    ax.set_xlabel(f"{second} samples ({panel['method'].upper()})")
    return np.arange(len(sizes))


def _first_stage_lines(ax, panel: dict, means, errors, cmap) -> None:
    """One line per first-stage amount (darker = more) over the second-stage amounts, with error bars."""
    colours = cmap(np.linspace(0.45, 0.95, len(panel["first_sizes"])))
    x = _second_axis(ax, panel)
    for i, (size, colour) in enumerate(zip(panel["first_sizes"], colours)):
        shift = 0.04 * (i - (len(colours) - 1) / 2)  # bars apart
        ax.errorbar(x + shift, means[i], yerr=errors[i], fmt="o-", capsize=3, color=colour,
                    label=f"{size} {panel['first_side']}")


def rebound_panel(ax, panel: dict, title: str = "") -> None:
    """One seeded rebound grid on the primary metric: the likelihood margin (mean over each seed's
    held-out pairs, then over the seeds, ± one standard error over the seeds) against the amount of
    second-stage data, one line per amount of first-stage data, θ0 dashed (the shape of Figure 4)."""
    curves = panel["curves"]
    _first_stage_lines(ax, panel, curves["mean"], curves["se"], plt.cm.Blues)
    ax.axhline(curves["base"], color="0.3", ls="--", label="θ0 (base)")
    ax.set_ylabel("likelihood margin (nats/token)")
    ax.set_title(title or panel["model"], fontsize=10)
    ax.legend(fontsize=7)


def secondary_panel(ax, panel: dict, title: str = "") -> None:
    """The paper's generate-and-score metric on the first seed's models: mean over the prompts ± one
    standard error over the prompts, in the layout of :func:`rebound_panel`."""
    sec = panel["secondary"]
    values = np.asarray(sec["cells"], dtype=float)  # (first amounts, 1 + second amounts, prompts)
    se = standard_error(values, axis=2)
    _first_stage_lines(ax, panel, values.mean(axis=2), se, plt.cm.Oranges)
    ax.axhline(np.mean(sec["base"]), color="0.3", ls="--", label="θ0 (base)")
    ax.set_ylabel(sec["metric_name"])
    ax.set_title(title or panel["model"], fontsize=10)
    ax.legend(fontsize=7)


def rebound_panels(panels: list[tuple[str, dict]], draw=rebound_panel):
    """A row of panels drawn by ``draw``, each ``(title, panel)``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (title, panel) in zip(axes[0], panels):
        draw(ax, panel, title)
    return fig


def rebound_curves(res: dict):
    """Every seeded rebound grid of the rebound chapter on the likelihood margin, one panel per
    base model and task (Figure 4).

    Chapters: rebound.
    """
    return rebound_panels([(f"{p['model']} · {p['dataset']}", p) for p in res["panels"]])


def rebound_secondary(res: dict):
    """The same grids' first seed on the paper's generate-and-score metric.

    Chapters: rebound.
    """
    return rebound_panels([(f"{p['model']} · {p['dataset']} (seed {p['seeds'][0]['seed']})", p)
                           for p in res["panels"]], draw=secondary_panel)


def rebound_table(res: dict):
    """Each grid's seed-mean margins as a DataFrame, one row per grid and first-stage amount: the
    margin of θ0, then the margin after each amount of second-stage data (the other side's).

    Chapters: rebound, ablations.
    """
    rows = []
    for panel in res["panels"]:
        c = panel["curves"]
        grid = f"{panel['model']} on {panel['dataset']} ({panel['method']}, {len(panel['seeds'])} seeds × {panel['n_pairs']} pairs)"
        for size, margins in zip(panel["first_sizes"], c["mean"]):
            rows.append({"grid": grid, "first stage": f"{size} {panel['first_side']}", "θ0": f"{c['base']:+.4f}",
                         **{f"then {n}": f"{m:+.4f}" for n, m in zip([0, *panel["second_sizes"]], margins)}})
    return _table(rows, ["grid", "first stage"])


def _series_curves(ax, series: dict, dataset: str, title: str) -> None:
    """One line per model of a series: its margin relative to θ0's (seed means), averaged over the
    positive amounts, against the negative amount, shaded ± one standard deviation across the
    positive amounts (the layout of Figures 5 and 6)."""
    panels = series["panels"][dataset]
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(panels)))
    for panel, colour in zip(panels, colours):
        scores = np.asarray(panel["curves"]["mean"]) - panel["curves"]["base"]  # (positive, 1 + negative)
        x = np.arange(scores.shape[1])
        mean, std = scores.mean(axis=0), scores.std(axis=0)
        ax.plot(x, mean, "o-", color=colour, label=panel["label"])
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
    sizes = [0, *panels[0]["second_sizes"]]
    ax.set_xticks(np.arange(len(sizes)), [str(n) for n in sizes])
    ax.set_xlabel("negative samples")
    ax.axhline(0, color="0.3", ls="--", lw=0.8)
    ax.set_ylabel("margin − θ0's (nats/token)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


SERIES_TITLES = {"size": ("model size", "parameters"), "volume": ("pre-training volume", "pre-training volume")}


def scaling_curves(res: dict):
    """The rebound curves of every model of the size and volume series on the likelihood margin
    (Figures 5, 6 and 10), on the chapter's first dataset.

    Chapters: scaling.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (name, (title, _)) in zip(axes, SERIES_TITLES.items()):
        _series_curves(ax, res[name], res["datasets"][0], f"rebound vs {title}")
    fig.tight_layout()
    return fig


def scaling_trends(res: dict):
    """The rebound statistic of each model (mean over seeds ± one standard error over seeds)
    against log10 of its size or pre-training volume, with the series' slope (the mean over
    seeds of the per-seed least-squares lines) when judged: the quantity the verdicts read.

    Chapters: scaling.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    dataset = res["datasets"][0]
    for ax, (name, (title, unit)) in zip(axes, SERIES_TITLES.items()):
        series = res[name]
        lx = np.log10(np.asarray(series["x"], dtype=float))
        values = np.array([p["rebound"] for p in series["panels"][dataset]])  # (models, seeds)
        mean, se = values.mean(axis=1), standard_error(values, axis=1)
        ax.errorbar(lx, mean, yerr=se, fmt="o", capsize=3, color="C0")
        for x, y, label in zip(lx, mean, series["labels"]):
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=7)
        verdict = series["claims"][dataset]
        if verdict["outcome"] != "not judged":
            line = np.linspace(lx.min(), lx.max(), 2)
            ax.plot(line, mean.mean() + verdict["estimate"] * (line - lx.mean()), "--", color="C1",
                    label=f"slope {verdict['estimate']:+.3g}/decade: {verdict['outcome']}")
            ax.legend(fontsize=7)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel(f"log10 {unit}")
        ax.set_ylabel("rebound statistic (nats/token)")
        ax.set_title(f"rebound vs {title}", fontsize=10)
    fig.tight_layout()
    return fig


def ablation_curves(res: dict):
    """The DPO and reverse rebound grids on the likelihood margin (Figures 7-9).

    Chapters: ablations.
    """
    return rebound_panels([(f"DPO: {p['model']}", p) for p in res["dpo"]["panels"]]
                          + [(f"reverse: {p['model']}", p) for p in res["reverse"]["panels"]])


def kl_table(res: dict):
    """Table 3 on our runs, from the KL corners of each grid (seed means), as a DataFrame with one
    row per model and positive amount (the smallest and the largest): KL to θ0 after it, then after
    the most negative data, and the negative data that brings it below ε.

    Chapters: ablations.
    """
    from elastic.experiments import ablations

    rows = []
    for panel in res["kl"]["panels"]:
        t = panel["table"]
        for row in ablations.kl_rows(t):
            needed = ablations.negative_needed(row)
            rows.append({"model": panel["model"], "positive samples": row["positive_size"],
                         "KL to θ0": f"{row['post_alignment_kl']:.4g}", "negative samples": t["negative_size"],
                         "KL to θ0 after them": f"{row['kl_after_negative']:.4g}", "ε": f"{t['epsilon']:g}",
                         "negative samples to reach ε": needed})
    return _table(rows, ["model", "positive samples"])


def kl_curves(res: dict):
    """The KL to θ0 of the smallest and the largest positive amount, before and after the most
    negative data, per seed (thin) and their mean (thick), with ε (Table 3).

    Chapters: ablations.
    """
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for panel in res["kl"]["panels"]:
        t = panel["table"]
        for which, colour in (("first", "tab:blue"), ("last", "tab:red")):
            label = f"{panel['model']}, {t['rows'][which]['positive_size']} positive"
            for k in panel["kl"]:
                ax.plot([0, 1], [k[f"{which}_start"], k[f"{which}_end"]], "-", color=colour, alpha=0.3, lw=1)
            row = t["rows"][which]
            ax.plot([0, 1], [row["post_alignment_kl"], row["kl_after_negative"]], "o-", color=colour, lw=2, label=label)
        ax.axhline(t["epsilon"], color="0.3", ls="--", label="ε")
        ax.set_xticks([0, 1], ["0", str(t["negative_size"])])
    ax.set_yscale("log")
    ax.set_xlabel("negative samples")
    ax.set_ylabel("KL to θ0 (nats/token)")
    ax.legend(fontsize=7)
    return fig


# --- the lifecycle (notebooks/lifecycle) -----------------------------------------------------------

def _lifecycle_runs(res: dict):
    main = res["main"]
    run = next(r for r in res["runs"] if r["model"] == main["model"] and r["volume"] == main["volume"])
    volumes = sorted(r["volume"] for r in res["runs"] if r["model"] == main["model"])
    return run, volumes


def lifecycle_pretraining(res: dict):
    """KL per token of each pre-trained model to the pre-training source, against |D1|.

    Chapters: lifecycle.
    """
    src, margin = res["source"], res["verdicts"]["entropy_gap"]["margin"]
    main, _ = _lifecycle_runs(res)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for run in sorted(res["runs"], key=lambda r: (r["model"], r["volume"])):
        if run["model"] == res["main"]["model"]:
            ax.semilogx(run["volume"], run["pretrain"]["kl_D1"] / src["mean_tokens"], "o", color="C0")
        else:
            ax.semilogx(run["volume"], run["pretrain"]["kl_D1"] / src["mean_tokens"], "s", color="C1")
    ax.plot([], [], "o", color="C0", label=f"model {main['model']} (n_layer, d_model)")
    ax.plot([], [], "s", color="C1", label="smaller models")
    ax.axhline(margin, ls=":", color="0.4", label="stated margin")
    ax.set_xlabel("pre-training volume $|D_1|$ (sequences)")
    ax.set_ylabel("KL$(P_1 \\| q)$ per token (bits)")
    ax.legend(fontsize=8)
    return fig


def lifecycle_elasticity(res: dict):
    """The ratio of the changes of the compression rates against k, with the fitted slopes, and
    the Hooke invariant on magnitudes (Thm 3.2, §3.3).

    Chapters: lifecycle.
    """
    el = res["verdicts"]["elasticity"]
    fit, mfit = el["fit"], el["fit_magnitude"]
    points = res["elasticity_points"]
    _, volumes_main = _lifecycle_runs(res)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for p in points:
        colour = f"C{volumes_main.index(p['volume'])}"
        marker = "o" if p["ratio"] > 0 else "x"
        axes[0].loglog(p["k"], abs(p["ratio"]), marker, color=colour)
        axes[1].semilogx(p["k"], np.log10(p["hooke"]), marker, color=colour)
    for i, v in enumerate(volumes_main):
        axes[0].plot([], [], "o", color=f"C{i}", label=f"$|D_1|$ = {v:,}")
    ks = np.array(sorted(p["k"] for p in points))
    for f, style, what in ((fit, "-", "ratio"), (mfit, "--", "|ratio|")):
        if np.isfinite(float(f["slope"])):
            axes[0].loglog(ks, 10 ** (f["intercept"] + f["slope"] * np.log10(ks)), style, color="0.2",
                           label=f"fit to {what}: slope {f['slope']:.2f}")
    axes[0].loglog(ks, ks, ":", color="0.5", label="ratio = $k$")
    axes[0].set_xlabel("$k = |D_1| / |D_2|$")
    axes[0].set_ylabel(r"$|\Delta\gamma_2 / \Delta\gamma_1|$ (x: negative)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(0, ls=":", color="0.5")
    axes[1].set_xlabel("$k$")
    axes[1].set_ylabel(r"$\log_{10} \frac{|D_2||\Delta\gamma_2|}{|D_1||\Delta\gamma_1|}$")
    return fig


def _lifecycle_rebound(ax, panel, title, sizes):
    """One panel's margin curves, means over the seeds and held-out pairs; one colour per
    alignment size of ``sizes`` (all the panels' sizes), whichever sizes this panel has."""
    for i, n in enumerate(panel["first_sizes"]):
        curve = np.mean([np.mean(seed["cells"][i], axis=1) for seed in panel["seeds"]], axis=0)
        ax.plot(np.array([0, *panel["second_sizes"]]) + 1, curve, "o-", ms=3, color=f"C{sizes.index(n)}",
                label=f"$|D_2|$ = {n:,}")
    ax.axhline(np.mean([np.mean(seed["base"]) for seed in panel["seeds"]]), ls=":", color="0.4", label="pre-trained")
    ax.set_xscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("$|D_3| + 1$")


def _lifecycle_panel(res: dict, model, volume) -> dict:
    return next(p for p in res["panels"] if p["model"] == model and p["volume"] == volume)


def lifecycle_rebound(res: dict):
    """The likelihood margin of the main model along the perturbation, per alignment size (Fig. 4's
    shape), the mean over the seeds.

    Chapters: lifecycle.
    """
    main = _lifecycle_panel(res, res["main"]["model"], res["main"]["volume"])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    _lifecycle_rebound(ax, main, f"{main['params']:,} parameters, $|D_1|$ = {main['volume']:,}", main["first_sizes"])
    ax.set_ylabel("margin (bits/token)")
    ax.legend(fontsize=7)
    return fig


def lifecycle_scaling(res: dict):
    """The margin curves per model size (top) and per pre-training volume (bottom).

    Chapters: lifecycle.
    """
    by_size = sorted((p for p in res["panels"] if p["volume"] == res["main"]["volume"]), key=lambda p: p["params"])
    by_volume = sorted((p for p in res["panels"] if p["model"] == res["main"]["model"]), key=lambda p: p["volume"])
    ncol = max(len(by_size), len(by_volume))
    fig, axes = plt.subplots(2, ncol, figsize=(3.2 * ncol, 5.8), sharey=True, squeeze=False)
    sizes = sorted({n for p in res["panels"] for n in p["first_sizes"]})
    for ax, p in zip(axes[0], by_size):
        _lifecycle_rebound(ax, p, f"{p['params']:,} parameters", sizes)
    for ax, p in zip(axes[1], by_volume):
        _lifecycle_rebound(ax, p, f"$|D_1|$ = {p['volume']:,}", sizes)
    for ax in [*axes[0][len(by_size):], *axes[1][len(by_volume):]]:
        ax.set_axis_off()
    for row in axes:
        row[0].set_ylabel("margin (bits/token)")
    axes[1][0].legend(fontsize=7)  # the largest model's row has every alignment size
    fig.tight_layout()
    return fig


def lifecycle_resistance(res: dict):
    """Forward minus inverse KL(target || trained) between pairs of slices (Table 1's analogue), one
    dot per seed, the bar their mean.

    Chapters: lifecycle.
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    first = res["resistance_seeds"][0]
    labels = [f"{r['earlier']:,} vs {r['later']:,}" for r in first]
    gaps = [[seed[n]["forward_kl"] - seed[n]["inverse_kl"] for seed in res["resistance_seeds"]] for n in range(len(first))]
    x = np.arange(len(labels))
    ax.bar(x, [np.mean(g) for g in gaps], 0.5, alpha=0.5, label="mean over seeds")
    for xi, g in zip(x, gaps):
        ax.plot([xi] * len(g), g, "o", ms=4, color="C0")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, labels)
    ax.set_xlabel("slices $|D_2|$ (earlier vs later)")
    ax.set_ylabel("forward − inverse KL (nats/token)")
    ax.legend(fontsize=7)
    return fig


# --- the power analysis (book/reproducibility) -------------------------------------------------------

def power_curves(curves: dict, bar: float):
    """The MDE over each claim's natural scale against the number of training seeds, one panel per
    claim, one line per number of units per seed (:func:`elastic.findings.design_curves`), the
    run's own MDE as a star and the bar as a dotted line.

    Chapters: reproducibility.
    """
    n = len(curves)
    ncol = min(n, 4)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.9 * nrow), squeeze=False)
    for ax, (name, c) in zip(axes.flat, curves.items()):
        for units, values in c["mde_over_scale"].items():
            here = units == c["n_units"]
            label = f"{units} {c['unit']} per seed" + (" (this run)" if here else "") if len(c["mde_over_scale"]) > 1 else "this run's design"
            ax.plot(c["seeds"], values, "o-" if here else "--", ms=3, label=label)
        if c["observed"] is not None:
            ax.plot([c["n_seeds"]], [c["observed"]], "k*", ms=9, label="this run's MDE")
        ax.axhline(bar, color="0.4", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("training seeds")
        ax.set_ylabel("MDE / natural scale")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig
