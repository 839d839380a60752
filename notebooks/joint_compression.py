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
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("joint_compression", globals())

# %%
glue_figure("fig_joint", plots.joint_rates(res))
plots.joint_table(res)

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
ce1, ce2 = sp.log((k + 1) / k, 2), sp.log(k + 1, 2)
ex_joint_two_leaves = {
    "CE1": ce1, "CE2": ce2,
    "CE1_limit": sp.limit(ce1, k, sp.oo),  # 0: the large dataset codes almost for free
    "CE2_limit": sp.limit(ce2, k, sp.oo),  # oo: the small one pays more and more
}
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
