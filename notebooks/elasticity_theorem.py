# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Checking the elasticity theorem
#
# This notebook computes the quantities of {doc}`../book/elasticity_theorem` with
# `elastic.theory.elasticity`: the closed forms sympy reaches, the derivatives
# $d\gamma^{\mathcal{D}_1/\mathcal{D}}/dl$ and $d\gamma^{\mathcal{D}_2/\mathcal{D}}/dl$ by
# quadrature for finite $k$ and $l$ under both published definitions of the normalized compression
# rate, and the same derivatives measured on finite token trees whose leaves carry Pareto masses.
# Every number on this page is read from `results/<preset>/theorem.json`, which the first code cell
# writes.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
alphas = None           # Pareto exponents of the quadrature table (None: the preset's)
ks = None               # size ratios k of D1 to D2 (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from myst_nb import glue

from elastic import plots, results
from elastic.experiments import elasticity_theorem
from elastic.notebook import configure, glue_figure, glue_text


def glue_number(name, value):
    """A plain number, for the chapter page's ``{glue:text}`` references to this notebook."""
    glue(name, float(value), display=False)


plots.style()
cfg = configure("elasticity_theorem", globals())
elasticity_theorem.run(cfg)
res = results.load("theorem", cfg.preset)["data"]
table = pd.DataFrame(res["table"])
trees = pd.DataFrame(res["trees"])
sym = res["symbolic"]

# %% [markdown]
# ## What sympy reaches
#
# First the three integrals of the proofs as set up (unevaluated: sympy finds no closed form for
# them at finite $k$). The one-variable Pareto expectations the proof needs all have closed
# forms; with $X = c\,e^{y}$ sympy integrates them without case distinctions.

# %%
from IPython.display import Math, display

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
glue_text("limits_agree", "all three agree" if all(v["agree"] for v in sym["limits"].values())
          else "NOT all agree")
glue_text("sign_alpha", f"{res['arxiv_sign_change_alpha']:.3f}")
glue_number("sign_alpha_num", res["arxiv_sign_change_alpha"])
for name, reason in sym["unreached"].items():
    print(f"not reached in closed form: {name}: {reason}")

# %% [markdown]
# The $k \to \infty$, $l \to 0$ limits of $S_1$, $S_2$ and $H$ that sympy computes and the values
# printed in Appendix A: {glue:md}`limits_agree`. Feeding the ACL proof's own final expressions
# into the ratio $k\,(d\gamma_1/dl)/(d\gamma_2/dl)$ gives the limit printed above, not the
# stated $\alpha^2$; the last lines are our large-$k$ expansions (natural logarithms, $c$ set to
# $(\alpha - 1)/\alpha$), which the quadrature below checks.
#
# ## The derivatives by quadrature
#
# Each row is one $(\alpha, k, l)$ and one definition, with $c = (\alpha-1)/\alpha$ so that the
# mass distribution has mean one. `ratio` is $k\,(d\gamma_1/dl)/(d\gamma_2/dl)$, the quantity the
# proofs send to a constant, and `ratio_err` its quadrature error; `paper_constant` is the constant
# the corresponding version states. ACL derivatives are in bits.

# %%
cols = ["alpha", "k", "l", "definition", "d1", "d2", "ratio", "ratio_err", "paper_constant"]
with pd.option_context("display.float_format", "{:.4g}".format, "display.max_rows", 200):
    display(table[cols])

acl0 = table[(table.definition == "acl") & (table.l == 0)]
arx0 = table[(table.definition == "arxiv") & (table.l == 0)]
acl = table[table.definition == "acl"]
glue_text("acl_ratio_dev", f"{np.abs(acl0.ratio + 1).max():.1e}")
glue_text("acl_identity", f"{np.abs(acl.identity).max():.1e}")
glue_text("acl_n", len(acl))
glue_text("acl_d1_neg", int((acl.d1 < 0).sum()))
glue_text("acl_d2_pos", int((acl.d2 > 0).sum()))
lmax = table.l.max()
acl_l = acl[acl.l == lmax]
glue_text("acl_lmax", f"{lmax:g}")
glue_text("acl_ratio_lmax", f"{acl_l.ratio.min():.3g} to {acl_l.ratio.max():.3g}")
big_k = arx0.k.max()
arx_big = arx0[arx0.k == big_k]
glue_text("arx_bigk", f"{big_k:,.0f}")
glue_text("arx_ratio_bigk", ", ".join(f"{r.ratio:,.4g} (α = {r.alpha:g})" for r in arx_big.itertuples()))
glue_text("arx_d1_pos", f"{int((table[table.definition == 'arxiv'].d1 > 0).sum())} of "
          f"{int((table.definition == 'arxiv').sum())}")
arx_neg = table[(table.definition == "arxiv") & (table.d2 < 0)]
glue_text("arx_d2_neg", f"{len(arx_neg)} of {int((table.definition == 'arxiv').sum())}")
glue_text("arx_d2_neg_alphas", ", ".join(f"{a:g}" for a in sorted(arx_neg.alpha.unique())) or "none")
glue_text("quad_err", f"{(table.ratio_err / table.ratio.abs()).max():.1e}")
lead = acl0[acl0.k == acl0.k.max()]
glue_text("acl_lead_rel", f"{np.abs(lead.d1 / lead.leading_d1 - 1).max():.1e}")
glue_text("acl_lead_k", f"{acl0.k.max():,.0f}")
glue_number("quad_err_num", (table.ratio_err / table.ratio.abs()).max())
glue_number("acl_ratio_dev_num", np.abs(acl0.ratio + 1).max())
glue_number("acl_identity_num", np.abs(acl.identity).max())
glue_number("arx_identity_num", np.abs(table[table.definition == "arxiv"].identity).max())
glue_number("acl_d1_neg_frac", (acl.d1 < 0).mean())
glue_number("acl_lead_rel_num", np.abs(lead.d1 / lead.leading_d1 - 1).max())
alpha_show = 2.0 if 2.0 in set(arx_big.alpha) else arx_big.alpha.iloc[0]
row = arx_big[arx_big.alpha == alpha_show].iloc[0]
glue_number("arx_alpha_num", alpha_show)
glue_number("arx_ratio_over_k_num", row.ratio / row.k)
glue_number("arx_constant_a2_num", row.paper_constant)

# %%
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
glue_figure("fig_ratio", fig)

# %% [markdown]
# ```{glue:figure} fig_ratio
# :name: fig-theorem-ratio
#
# The ratio the theorem sends to a constant, at $l = 0$. Dotted lines: the constants the paper
# states ($\alpha^2$ for the ACL version, $\alpha(\alpha+1)(1-\log c)$ for the arXiv version, one
# per $\alpha$, same colour). Left: the ACL ratio is $-1$ for every $\alpha$ and $k$. Right: the
# arXiv ratio grows in proportion to $k$ instead of levelling off; crosses mark negative ratios.
# ```
#
# In numbers: at $l = 0$ the ACL ratio differs from $-1$ by at most {glue:md}`acl_ratio_dev`, and
# $k\,d\gamma_1/dl + d\gamma_2/dl + l\,d\gamma_3/dl$ is at most {glue:md}`acl_identity` in all
# {glue:md}`acl_n` ACL rows. $d\gamma_1/dl$ is negative in {glue:md}`acl_d1_neg` of them and
# $d\gamma_2/dl$ positive in {glue:md}`acl_d2_pos`; at $k =$ {glue:md}`acl_lead_k` the large-$k$
# formula $d\gamma_1/dl \approx -1/((\alpha^2 - 1)k^2)$ (in nats) is off by {glue:md}`acl_lead_rel`
# (relative). At $l =$ {glue:md}`acl_lmax` the ACL ratio ranges over
# {glue:md}`acl_ratio_lmax`. For the arXiv form the ratio at $k =$ {glue:md}`arx_bigk` is
# {glue:md}`arx_ratio_bigk`, to be compared with the stated constant $\alpha(\alpha+1)(1-\log c)$
# (column `paper_constant`);
# $d\gamma_1/dl > 0$ in {glue:md}`arx_d1_pos` rows, while $d\gamma_2/dl < 0$ in
# {glue:md}`arx_d2_neg` rows (at $\alpha =$ {glue:md}`arx_d2_neg_alphas`; the large-$k$ sign change
# is at $\alpha \approx$ {glue:md}`sign_alpha`). The largest relative quadrature error of a ratio
# is {glue:md}`quad_err`.
#
# ## Finite token trees
#
# Here nothing is approximated: three binary trees of depth $d$ with $2^{d-1}$ leaves each carry
# Pareto masses normalized to sum one, they are mixed with `elastic.tokentree.mixture` at sizes
# $(k, 1, l)$, the normalized rates come from `elastic.coding.normalized_compression_rate`, and the
# derivatives are finite differences in $l$. Each row gives the means and standard errors over
# independent draws of the three trees; `ratio` is $k$ times the ratio of the mean derivatives, and
# `continuum_ratio` the quadrature value of the independence approximation at the same $\alpha$.

# %%
cols = ["alpha", "leaves", "k", "l", "definition", "d1", "d1_sem", "d2", "d2_sem", "ratio", "ratio_sem",
        "continuum_ratio", "d1_positive", "d2_positive", "n_trees"]
with pd.option_context("display.float_format", "{:.4g}".format, "display.max_rows", 200):
    display(trees[cols])
tacl = trees[trees.definition == "acl"]
tarx = trees[trees.definition == "arxiv"]
tacl0 = tacl[tacl.l == 0]
tarx0 = tarx[tarx.l == 0]
glue_text("tree_leaves", f"{int(trees.leaves.iloc[0]):,}")
glue_text("tree_n", int(trees.n_trees.iloc[0]))
glue_text("tree_acl_ratio0", f"{(tacl0.ratio + 1).abs().max():.1e}")
glue_number("tree_acl_ratio0_num", (tacl0.ratio + 1).abs().max())
glue_text("tree_fd_exact", f"{tacl.fd_vs_exact.max():.1e}")
glue_text("tree_identity", f"{tacl.identity.max():.1e}")
glue_text("tree_acl_d1_pos", f"{int(tacl.d1_positive.sum())} of {int(tacl.n_trees.sum())}")
k_d1 = tarx0.k * tarx0.d1
glue_text("tree_arx_d1_rel", f"{(tarx0.d1 / tarx0.continuum_d1 - 1).abs().max():.1%}")
glue_number("tree_arx_d1_rel_num", (tarx0.d1 / tarx0.continuum_d1 - 1).abs().max())
glue_text("tree_arx_kd1", f"{k_d1.min():.3g} to {k_d1.max():.3g}")
glue_text("tree_arx_ks", f"{tarx0.k.min():g} to {tarx0.k.max():g}")
glue_text("tree_arx_d2_pos", f"{int(tarx0.d2_positive.sum())} of {int(tarx0.n_trees.sum())}")
glue_text("tree_arx_ratio", "; ".join(
    f"{r.ratio:,.3g} ± {r.ratio_sem:,.2g} (continuum {r.continuum_ratio:,.3g}; α = {r.alpha:g}, k = {r.k:g})"
    for r in tarx0.itertuples()))

# %%
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
glue_figure("fig_trees", fig)

# %% [markdown]
# On trees of {glue:md}`tree_leaves` leaves ({glue:md}`tree_n` independent draws per row), the ACL
# ratio at $l = 0$ differs from $-1$ by at most {glue:md}`tree_acl_ratio0` (finite-difference
# error), the finite differences match the analytic tree derivative to {glue:md}`tree_fd_exact`
# (relative), and $k\,d\gamma_1/dl + d\gamma_2/dl + l\,d\gamma_3/dl$ vanishes to
# {glue:md}`tree_identity` in every draw. $d\gamma_1/dl$ was positive in
# {glue:md}`tree_acl_d1_pos` ACL tree draws.
#
# For the arXiv form, $k \cdot d\gamma_1/dl$ lies in the range {glue:md}`tree_arx_kd1` for every $\alpha$ and $k$ ($k$ runs
# from {glue:md}`tree_arx_ks`): $d\gamma_1/dl$ falls like $1/k$, not like $1/k^2$ as a bounded ratio
# would need, and it agrees with the independence approximation to within
# {glue:md}`tree_arx_d1_rel`. $d\gamma_2/dl$ is small and its sign varies from draw to draw (positive in
# {glue:md}`tree_arx_d2_pos` draws), so the tree ratio is poorly determined:
# {glue:md}`tree_arx_ratio`.
#
# ```{glue:figure} fig_trees
# :name: fig-theorem-trees
#
# The ratio measured on finite trees (markers: ratio of the mean finite-difference derivatives,
# with standard errors over draws) and in the independence approximation at the same $\alpha$
# (lines). ACL (circles, solid): magnitude one in both. arXiv (squares, dashed): see the text; its
# $d\gamma_2/dl$ is close to zero, so the markers carry large errors.
# ```

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/elasticity_theorem` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-elastic-ratio-moment"
import sympy as sp

alpha, k = sp.symbols("alpha k", positive=True)
expected_ratio = alpha**2 / ((alpha - 1) * (alpha + 1))
ex_elastic_ratio_moment = {"E[R]": expected_ratio, "dA1/dl": (1 - expected_ratio) / k**2}
ex_elastic_ratio_moment

# %% tags=["solution"] exercise="ex-elastic-two-leaves"
import numpy as np

p1, p2, p3, k = np.array([0.9, 0.1]), np.array([0.5, 0.5]), np.array([0.1, 0.9]), 9
p_joint = (k * p1 + p2) / (k + 1)
dp_joint = (p3 - p_joint) / (k + 1)
ex_elastic_two_leaves = {"d1": float((p1 * dp_joint / p_joint).sum()), "d2": float((p2 * dp_joint / p_joint).sum())}
ex_elastic_two_leaves

# %% tags=["solution"] exercise="ex-elastic-paper-algebra"
import sympy as sp

alpha = sp.Symbol("alpha", positive=True)
ex_elastic_paper_algebra = alpha**2 - 1
ex_elastic_paper_algebra
