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
# # Hooke's law in code
#
# This notebook measures the would-be invariant of {doc}`../book/hookes_law`: datasets of several
# sizes are compressed together, a perturbation $D_3$ joins them, and for each dataset the change
# $\Delta\gamma_i$ of its compression rate is multiplied by its size. Every number on this page
# is read from `results/<preset>/hookes_law.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
d = None                # pruning depth in layers (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("hookes_law", globals())

# %% [markdown]
# ## The spring model
#
# Springs in series with constants proportional to the dataset sizes, under one force: each
# elongation is inversely proportional to its constant, and $k_i \Delta l_i$ is the same for all.

# %%
plots.springs_table(res)

# %% [markdown]
# ## The invariant on token trees
#
# Datasets of {glue:md}`sizes` responses, trees pruned to $d$ = {glue:md}`d` layers, in three
# families. *overlap*: binary sources that differ in how often they write a 1. *disjoint*: each
# dataset writes its own two tokens, so datasets share no leaf but the empty response. *pareto*:
# the paper's own setting, every dataset putting independent Pareto masses (exponent
# {glue:md}`alpha`) on the same {glue:md}`n_leaves` leaves of the deepest layer.

# %%
glue_figure("fig_hooke", plots.hooke_invariant(res))
plots.invariant_table(res)

# %% [markdown]
# ```{glue:figure} fig_hooke
# :name: fig-hooke-invariant
#
# The product of dataset size and change of per-segment compression cost, for each dataset and
# several perturbation sizes; filled markers where the cost went up, open where it went down.
# Hooke's law predicts a horizontal line (dotted). Disjoint datasets follow the dashed line
# instead: every dataset's cost changes by the same amount.
# ```
#
# The sizes span a factor {glue:md}`size_span`; a true invariant would have a spread (largest over
# smallest $| |D_i| \Delta CE_i |$) of 1. On the cross-entropy — and so on the ACL normalized rate,
# which differs from it by a constant and a sign — the spread is {glue:md}`spread_cross_entropy_overlap`
# for overlapping datasets, {glue:md}`spread_cross_entropy_disjoint` for disjoint ones and
# {glue:md}`spread_cross_entropy_pareto` with Pareto masses; on the arXiv ratio it is
# {glue:md}`spread_arxiv_overlap`, {glue:md}`spread_arxiv_disjoint` and
# {glue:md}`spread_arxiv_pareto`. The signs of $\Delta CE_i$, largest dataset first, are
# {glue:md}`signs_overlap` (overlap), {glue:md}`signs_disjoint` (disjoint) and
# {glue:md}`signs_pareto` (pareto).
#
# *Disjoint.* Each $\Delta CE_i$ is {glue:md}`disjoint_ratio` times $\log_2(1 + |D_3|/|D|)$, the
# change for perfectly disjoint supports, whatever the dataset's size. The factor is close to
# {glue:md}`one_minus_empty`, one minus the probability of the empty response: that is the one
# leaf all datasets share, and the first-order formula gives exactly this factor when every
# dataset has the same share of empty responses.
#
# *Pareto, the paper's setting.* The first-order argument of the derivation page predicts that
# here the two largest datasets behave like Hooke's springs in magnitude but with opposite signs:
# the largest dataset's cost goes up and the others' go down, so their ACL normalized rates move in
# opposite directions rather than both up. Measured, $|D_2 \Delta CE_2| / |D_1 \Delta CE_1|$ is
# {glue:md}`pareto_top_two` (Hooke: 1), with the signs above; the smaller datasets shift by
# similar amounts, so among them the product grows with size again.
#
# *Why.* The size-weighted changes cancel to first order when the perturbation stays inside the
# joint tree's leaves (the conservation law on the derivation page): $\sum_i |D_i| \Delta CE_i$
# is at most {glue:md}`conservation_overlap` (overlap) and {glue:md}`conservation_pareto`
# (pareto) of $\sum_i |D_i| |\Delta CE_i|$. With two datasets that is Hooke's relation with a
# minus sign. The first-order formula predicts every measured $\Delta CE_i$ to within
# {glue:md}`first_order_err_small` (relative) at $|D_3|$ = {glue:md}`n3_small` and to within
# {glue:md}`first_order_err_large` at $|D_3|$ = {glue:md}`n3_large`, where the perturbation is no
# longer small next to the smallest dataset.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/hookes_law` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-hooke-springs"
elongations = tuple(1 / k for k in (1000, 100, 10))
ex_hooke_springs = {"elongations": elongations, "total": sum(elongations)}
ex_hooke_springs
