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
# # Measuring the mass distribution
#
# This notebook measures the mass distribution of {doc}`../book/mass_distribution` on pruned token
# trees and tests Assumption B.6 of {cite}`ji2025language`: that it is a Pareto law, with the same
# parameters for every dataset. The trees come from two generated corpora, from continuations of a
# few prompts sampled from a language model, and from the exact top-$k$ tree of the same model.
# Every number on this page is read from `results/<preset>/mass_distribution.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
model = None            # load_model spec of the language model (None: the preset's)
n_bootstrap = None      # bootstrap samples per KS p-value (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("mass_distribution", globals())

# %% [markdown]
# ## The trees
#
# Each row below is one pruned tree: its dataset, its depth $d$, its number of leaves $M$, how many
# distinct values $X = M p$ takes, and whether it had enough distinct values to fit (a tree needs
# twice `min_tail` leaves and ten distinct masses). Shallow trees of a small vocabulary have too
# few leaves; deep trees of sampled continuations see almost every leaf once, so $X$ takes only a
# few values: that is the finite-sample floor of a dataset's tree, not a property of the model.

# %%
plots.trees_table(res)

# %% [markdown]
# Of {glue:md}`n_trees` trees, {glue:md}`n_fitted` had enough distinct leaf values to fit. On
# every tree the mean of $X$ is one up to {glue:md}`max_mean_error`, as Definition B.2 requires.
# The language model is {glue:md}`model_name`: {glue:md}`n_continuations` sampled continuations
# per prompt, and the exact tree of its top {glue:md}`top_k` tokens to depth
# {glue:md}`topk_depth` ({glue:md}`prompts`).
#
# ## Fits
#
# For every tree with enough leaves, two Pareto fits (the whole distribution with $c = \min X$, and
# the tail above the $x_{\min}$ that minimises the KS distance), each with a bootstrap p-value of
# its KS distance and a Vuong test against a lognormal on the same points ($R > 0$ favours
# Pareto).

# %%
plots.fits_table(res)

# %% [markdown]
# A check with a known answer: the Zipfian corpus (token probabilities $\propto r^{-s}$ with
# $s =$ {glue:md}`zipf_s`) pruned to depth two has one leaf per token, and its mass distribution
# has a Pareto tail with $\alpha = 1/s =$ {glue:md}`zipf_expected`
# ({ref}`an exercise <mass-exercises>`). The tail fit finds $\hat\alpha =$ {glue:md}`zipf_alpha`.

# %%
glue_figure("fig_ccdf", plots.mass_ccdf(res))

# %% [markdown]
# ```{glue:figure} fig_ccdf
# :name: fig-mass-ccdf
#
# Complementary CDF of the leaf mass $X = Mp$ on log-log axes, one panel per dataset, one colour
# per pruning depth. At the deepest fitted depth: the whole-distribution Pareto fit (grey dashes),
# and the tail fits above the KS-chosen $x_{\min}$, Pareto (orange) and lognormal (green dots),
# scaled by the share of leaves in the tail. A Pareto law is a straight line here.
# ```

# %%
glue_figure("fig_alpha", plots.mass_alphas(res))

# %% [markdown]
# ```{glue:figure} fig_alpha
# :name: fig-mass-alpha
#
# Fitted Pareto exponent $\alpha$ for every tree, against the pruning depth, with two standard
# errors. Assumption B.6 needs one $\alpha$ (and one $c$) for all datasets at a given depth.
# ```
#
# ## Verdict on Assumption B.6

# %%
plots.homogeneity_table(res)

# %% [markdown]
# Assumption B.6 {glue:md}`verdict`.
#
# - **Is the mass distribution Pareto?** As a law for the whole distribution — what the
#   theorem's integrals from $c$ to $\infty$ use — the Pareto fit is ruled out (bootstrap
#   $p <$ {glue:md}`level`) for {glue:md}`whole_ruled_out`, and the lognormal beats it
#   significantly for {glue:md}`whole_logn_better` (the Pareto law wins in
#   {glue:md}`whole_pareto_better`, a contest between two poor fits: trees built from samples
#   pile up at the few values $M k / N$ of small counts $k$, which neither smooth law describes). The
#   fitted whole laws also break Definition B.2: their means $\alpha c/(\alpha - 1)$ range over
#   {glue:md}`fit_mean_range` where the data have mean one.
# - **Is the tail Pareto?** Above a KS-chosen $x_{\min}$, a Pareto tail is plausible for
#   {glue:md}`tail_plausible`. Against a lognormal tail the Vuong test favours the lognormal
#   in {glue:md}`tail_logn_better`, the Pareto law in {glue:md}`tail_pareto_better`, and cannot tell
#   them apart in {glue:md}`tail_undecided`: a tail that looks straight on log-log axes over one or
#   two decades is what both laws produce.
# - **Are the parameters identical across datasets?** The fitted exponents range over
#   {glue:md}`alpha_range_whole` (whole) and {glue:md}`alpha_range_tail` (tail), with tail onsets
#   $c$ from {glue:md}`c_range_tail`. The Wald test that all datasets at one depth share one
#   $\alpha$ rejects at {glue:md}`hom_rejected_whole` for the whole-distribution fits and
#   at {glue:md}`hom_rejected_tail` for the tail fits. The assumption needs both the
#   exponents and the onsets $c$ to agree.
#
# Whether exponents like these count as the "sufficiently large" $\alpha$ that the proof of the
# theorem assumes is taken up in {doc}`../book/elasticity_theorem`. The per-tree numbers are in
# the two tables above. Two caveats cut both ways: the leaf masses of a
# sampled tree are counts over $N$, so they are discrete and tied, which the continuous KS test
# penalises; and the top-$k$ trees have only $k^{d-1}$ leaves, so their tails are short and their
# tests weak.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/mass_distribution` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-mass-pareto-c"
from fractions import Fraction

alpha = 3
c = Fraction(alpha - 1, alpha)
ex_mass_pareto_c = {"c": c, "fraction": (c / 2) ** alpha}
ex_mass_pareto_c

# %% tags=["solution"] exercise="ex-mass-zipf"
import sympy as sp

s, x = sp.symbols("s x", positive=True)
alpha = sp.Rational(1, 2)  # α = 1/s at s = 2
ex_mass_zipf = {
    "alpha": 1 / s,
    "mean": sp.integrate(x * alpha * x ** (-alpha - 1), (x, 1, sp.oo)),  # oo: no finite mean for α ≤ 1
}
ex_mass_zipf

# %% tags=["solution"] exercise="ex-mass-sampled"
ex_mass_sampled = 1  # M = N leaves of probability 1/N each
ex_mass_sampled
