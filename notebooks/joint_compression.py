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
# # Joint compression in code
#
# This notebook compresses two datasets with one code, as in {doc}`../book/joint_compression`:
# $D_1$ grows while $D_2$ stays fixed, and each dataset's compression rate under the joint code is
# computed, with both published normalized rates. Every number on this page is read from
# `results/<preset>/joint_compression.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
small_size = None       # |D2| (None: the preset's)
d = None                # pruning depth in layers (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
import matplotlib.pyplot as plt
import numpy as np

from elastic import plots, results
from elastic.experiments import joint_compression
from elastic.notebook import configure, glue_figure, glue_text

plots.style()
cfg = configure("joint_compression", globals())
joint_compression.run(cfg)
res = results.load("joint_compression", cfg.preset)["data"]

# %%
rows = res["rows"]
ratio = np.array([r["ratio"] for r in rows])
glue_text("p_one_1", res["p_one"][0])
glue_text("p_one_2", res["p_one"][1])
glue_text("small_size", f"{res['small_size']:,}")
glue_text("d", res["d"])
glue_text("ratio_range", f"{ratio.min()} to {ratio.max()}")
glue_text("pooled_diff", f"{res['max_diff_vs_pooled']:.1e}")
excess = [np.array([r["joint"][i] - r["own"][i] for r in rows]) for i in (0, 1)]
glue_text("excess_1", f"{excess[0][0]:.3f} to {excess[0][-1]:.4f}")
glue_text("excess_2", f"{excess[1][0]:.3f} to {excess[1][-1]:.3f}")
glue_text("u_bits", f"{res['uniform_bits']:.0f}")
hj = [r["joint_entropy"] for r in rows]
glue_text("h_joint_range", f"{min(hj):.2f} to {max(hj):.2f}")
glue_text("ce1_last", f"{rows[-1]['ce'][0]:.2f}")
glue_text("ce2_last", f"{rows[-1]['ce'][1]:.2f}")
averages = [(r["ratio"] * r["arxiv"][0] + r["arxiv"][1]) / (r["ratio"] + 1) for r in rows]
glue_text("arxiv_average", f"{min(averages):.6f} to {max(averages):.6f}" if max(averages) - min(averages) > 5e-7
          else f"{averages[0]:.6f}")
glue_text("huffman_gap", f"{max(max(r['joint_huffman'][i] - r['joint'][i] for i in (0, 1)) for r in rows):.3f}")
print(f"{'|D1|/|D2|':>9} {'g1 own':>7} {'g1 joint':>8} {'g2 own':>7} {'g2 joint':>8} {'acl1':>7} {'acl2':>7} {'arxiv1':>7} {'arxiv2':>7}")
for r in rows:
    print(f"{r['ratio']:>9} {r['own'][0]:7.3f} {r['joint'][0]:8.3f} {r['own'][1]:7.3f} {r['joint'][1]:8.3f}"
          f" {r['acl'][0]:7.3f} {r['acl'][1]:7.3f} {r['arxiv'][0]:7.3f} {r['arxiv'][1]:7.3f}")

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
glue_figure("fig_joint", fig)

# %% [markdown]
# $D_1$ writes token 1 with probability {glue:md}`p_one_1`, $D_2$ with probability
# {glue:md}`p_one_2`; $|D_2|$ = {glue:md}`small_size`, the trees are pruned to
# $d$ = {glue:md}`d` layers and $|D_1|/|D_2|$ runs from {glue:md}`ratio_range`.
#
# ```{glue:figure} fig_joint
# :name: fig-joint-rates
#
# Left: each dataset's compression rate under the joint code (solid) and under its own code
# (dotted). Middle and right: the two published normalized rates. As $D_1$ grows the joint code
# becomes $D_1$'s own code, and $D_2$ pays for it.
# ```
#
# Under the joint code $D_1$ pays {glue:md}`excess_1` bits per token more than under its own code
# as the ratio grows, and $D_2$ pays {glue:md}`excess_2`: the joint code serves the larger dataset.
# Huffman lengths cost at most {glue:md}`huffman_gap` bits per token more than ideal lengths.
# Computing the rates from the mixture formula or from a tree of the pooled raw responses agrees to
# {glue:md}`pooled_diff`.
#
# The arXiv ratio needs care. Its reference $u = \log_2 2^{d-1}$ = {glue:md}`u_bits` bits is the
# entropy of a uniform code on the deepest layer, but a pruned tree also has EOS leaves in
# shallower layers, and the joint entropy here runs from {glue:md}`h_joint_range` bits. Where
# $H_D < u$ the denominator is negative, and a dataset's ratio changes sign as its cost $CE_i$
# crosses $u$: at the largest ratio $CE_1$ = {glue:md}`ce1_last` and $CE_2$ = {glue:md}`ce2_last`
# bits. The size-weighted average of the two ratios is {glue:md}`arxiv_average` at every ratio,
# as the identity on the derivation page requires.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/joint_compression` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-joint-two-leaves"
import sympy as sp

k = sp.Symbol("k", positive=True)
ex_joint_two_leaves = {"CE1": sp.log((k + 1) / k, 2), "CE2": sp.log(k + 1, 2)}
ex_joint_two_leaves

# %% tags=["solution"] exercise="ex-joint-average"
import sympy as sp

k = sp.Symbol("k", positive=True)
ex_joint_average = {
    "weighted_sum": k / (k + 1) * sp.log((k + 1) / k, 2) + 1 / (k + 1) * sp.log(k + 1, 2),
    "arxiv_weighted_sum": 1,
}
ex_joint_average

# %% tags=["solution"] exercise="ex-joint-acl-sign"
ex_joint_acl_sign = {"direction": "down", "agrees_with_acl": False}
ex_joint_acl_sign
