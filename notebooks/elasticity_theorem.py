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
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("elasticity_theorem", globals())

# %% [markdown]
# ## What sympy reaches
#
# First the three integrals of the proofs as set up (unevaluated: sympy finds no closed form for
# them at finite $k$). The one-variable Pareto expectations the proof needs all have closed
# forms; with $X = c\,e^{y}$ sympy integrates them without case distinctions.

# %%
plots.show_closed_forms(res)

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
plots.show_rows(res["table"], plots.QUADRATURE_COLUMNS)
glue_figure("fig_ratio", plots.theorem_ratio(res))

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
# $d\gamma_1/dl > 0$ in {glue:md}`arx_d1_pos`, while $d\gamma_2/dl < 0$ in
# {glue:md}`arx_d2_neg` (at $\alpha =$ {glue:md}`arx_d2_neg_alphas`; the large-$k$ sign change
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
plots.show_rows(res["trees"], plots.TREE_COLUMNS)
glue_figure("fig_trees", plots.theorem_trees(res))

# %% [markdown]
# On trees of {glue:md}`tree_leaves` leaves ({glue:md}`tree_n` independent draws per row), the ACL
# ratio at $l = 0$ differs from $-1$ by at most {glue:md}`tree_acl_ratio0` (finite-difference
# error), the finite differences match the analytic tree derivative to {glue:md}`tree_fd_exact`
# (relative), and $k\,d\gamma_1/dl + d\gamma_2/dl + l\,d\gamma_3/dl$ vanishes to
# {glue:md}`tree_identity` in every draw. $d\gamma_1/dl$ was positive in
# {glue:md}`tree_acl_d1_pos`.
#
# For the arXiv form, $k \cdot d\gamma_1/dl$ lies in the range {glue:md}`tree_arx_kd1` for every $\alpha$ and $k$ ($k$ runs
# from {glue:md}`tree_arx_ks`): $d\gamma_1/dl$ falls like $1/k$, not like $1/k^2$ as a bounded ratio
# would need, and it agrees with the independence approximation to within
# {glue:md}`tree_arx_d1_rel`. $d\gamma_2/dl$ is small and its sign varies from draw to draw (positive in
# {glue:md}`tree_arx_d2_pos`), so the tree ratio is poorly determined:
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
