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
# # The lifecycle in code
#
# This notebook runs the grid of {doc}`../book/lifecycle` with `elastic.experiments.lifecycle`:
# small transformers pre-trained from scratch on a source with a known distribution, aligned on its
# positive half, perturbed with its negative half, and measured against the exact probabilities
# after every stage, over {glue:md}`lc_seeds` training seeds. Every number on this page is read
# from `results/<preset>/lifecycle.json`; every verdict in it is computed by
# `elastic.experiments.lifecycle.judge` on the claims pre-registered in `elastic.claims`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
volumes = None          # pre-training volumes |D1| (None: the preset's)
align_sizes = None      # alignment sizes |D2| (None: the preset's)
seed = None             # the source's seed (None: the preset's)
seeds = None            # training seeds, e.g. [0, 1, 2] (None: the preset's)

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("lifecycle", globals())

# %% [markdown]
# ## The source and the pre-trained model
#
# The source has a vocabulary of {glue:md}`lc_vocab` letters. Its pre-training mixture $P_1$ has
# an exact entropy of {glue:md}`lc_h1` bits per sequence, {glue:md}`lc_rate1` bits per token
# (EOS included); the positive source $P_+$ (alignment data) has {glue:md}`lc_h2` bits per
# sequence and the negative one $P_-$ (perturbation data) {glue:md}`lc_h3`.
#
# The largest model, pre-trained on the largest volume, is {glue:md}`lc_gap` bits/token (KL to
# $P_1$ per token) away from the source; the stated margin is {glue:md}`lc_margin` bits/token, so
# it is {glue:md}`lc_gap_verdict`. Its compression rate on held-out $D_1$ exceeds the entropy rate
# by {glue:md}`lc_gamma_gap` bits/token (a noisier estimate of the same gap).

# %%
glue_figure("fig_lc_pretrain", plots.lifecycle_pretraining(res))

# %% [markdown]
# ```{glue:figure} fig_lc_pretrain
# :name: fig-lc-pretrain
#
# How far each pre-trained model is from the pre-training source, in bits per token, against the
# number of pre-training sequences. Zero is the source itself.
# ```
#
# ## Elasticity: the ratio of the changes against $k$
#
# For every aligned model of the largest size, the first perturbation checkpoint changes the
# compression rates on $D_1$ and $D_2$ by $\Delta\gamma_1$ and $\Delta\gamma_2$. The theorem
# predicts that $\Delta\gamma_2 / \Delta\gamma_1$ grows like $k = |D_1|/|D_2|$. In the first
# seed, $\Delta\gamma_2$ rises in {glue:md}`lc_d2_rises`, $\Delta\gamma_1$ *falls* in
# {glue:md}`lc_d1_falls`, and both rise in {glue:md}`lc_both`. A
# least-squares line of $\log_{10}$ ratio on $\log_{10} k$ through the {glue:md}`lc_fit_n` models
# with a positive ratio has slope {glue:md}`lc_slope` (95% CI {glue:md}`lc_ci`; the theorem's
# $\Theta(k)$ is slope 1): {glue:md}`lc_theta_verdict`. On the magnitude
# $|\Delta\gamma_2 / \Delta\gamma_1|$ its slope is {glue:md}`lc_mslope` (95% CI {glue:md}`lc_mci`):
# {glue:md}`lc_mag_verdict`.
#
# The pre-registered claim `lifecycle_elasticity` takes that magnitude's slope once per seed. Over
# the seeds: {glue:md}`lc_elasticity_md`.

# %%
glue_figure("fig_lc_elasticity", plots.lifecycle_elasticity(res))

# %% [markdown]
# ```{glue:figure} fig_lc_elasticity
# :name: fig-lc-elasticity
#
# Left (first seed): the ratio of the changes of the compression rates on $D_2$ and $D_1$ over the
# first perturbation checkpoint, against $k$; crosses mark negative ratios (one rate fell). The
# dotted line is ratio $= k$. Right: the Hooke invariant on magnitudes, as the log-ratio of
# $|D_2||\Delta\gamma_2|$ to $|D_1||\Delta\gamma_1|$; the invariant holds where it is zero.
# ```
#
# The Hooke log-ratio has median {glue:md}`lc_hooke_median` (interquartile range
# {glue:md}`lc_hooke_iqr`): zero would mean $|D_1||\Delta\gamma_1| = |D_2||\Delta\gamma_2|$.
#
# ## Rebound: the margin under perturbation
#
# The shape of the paper's Fig. 4, scored by the likelihood margin: for each alignment size, how
# much more likely per token the model finds a held-out $P_+$ sequence than a held-out $P_-$ one
# ({glue:md}`lc_pairs` pairs per seed), after alignment and along the perturbation. The margin is
# exact given a model, so the curves' only noise is the seeds' and the pairs' draw. The sampled
# attribute score (the paper's metric) is measured for the first seed where the preset asks for it
# (`n_generate` > 0: the colab and paper presets) and kept in the results file; no verdict reads it.

# %%
glue_figure("fig_lc_rebound", plots.lifecycle_rebound(res))

# %% [markdown]
# ```{glue:figure} fig_lc_rebound
# :name: fig-lc-rebound
#
# The likelihood margin against the number of negative sequences the aligned model has been
# trained on, one curve per alignment size, means over the seeds and pairs; the dotted line is the
# pre-trained model.
# ```
#
# The pre-registered claim `lifecycle_rebound` (the drop over the first checkpoint after the
# largest alignment size minus after the smallest): {glue:md}`lc_rebound_md`.
#
# ## Rebound against model size and pre-training volume

# %%
glue_figure("fig_lc_scaling", plots.lifecycle_scaling(res))

# %% [markdown]
# ```{glue:figure} fig_lc_scaling
# :name: fig-lc-scaling
#
# Top: the margin curves for each model size at the largest pre-training volume. Bottom: for the
# largest model at each pre-training volume.
# ```
#
# These controlled models carry the paper's size and volume trends, which released models are too
# slow to carry on a CPU: sizes of {glue:md}`lc_sizes` parameters and volumes of
# {glue:md}`lc_volumes` sequences. The slope of the rebound statistic on $\log_{10}$ parameters
# (`lifecycle_rebound_size`): {glue:md}`lc_rebound_size_md`. On $\log_{10}$ volume
# (`lifecycle_rebound_volume`): {glue:md}`lc_rebound_volume_md`.
#
# ## Resistance: forward against inverse alignment
#
# The analogue of the paper's Table 1: slices $\theta_i$ are the models aligned on the first
# $n_i$ positive sequences; each slice generates responses, and a later slice fine-tuned on an
# earlier one's responses (inverse alignment) is compared with the reverse (forward alignment), by
# the KL from the target slice to the trained model on fresh samples of the target.

# %%
glue_figure("fig_lc_resistance", plots.lifecycle_resistance(res))

# %% [markdown]
# ```{glue:figure} fig_lc_resistance
# :name: fig-lc-resistance
#
# Forward minus inverse KL between pairs of slices, one dot per seed. The paper's resistance is a
# value above zero.
# ```
#
# The pre-registered claim `lifecycle_resistance`: {glue:md}`lc_resistance_md`.
#
# The whole grid ({glue:md}`lc_runs` pre-trained models and their branches per seed) took
# {glue:md}`lc_wall` s in this run, which trained {glue:md}`lc_trained` stages and reused
# {glue:md}`lc_hits` finished ones from the cache; computing all of them took
# {glue:md}`lc_stage_seconds` s of training and measurement when they were first run.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/lifecycle` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-lifecycle-posterior"
odds = (0.8 / 0.2) ** 3 * (0.2 / 0.8) ** 2
ex_lifecycle_posterior = {"posterior": odds / (1 + odds), "half": lambda n, m: 2 * m == n}
ex_lifecycle_posterior["posterior"]

# %% tags=["solution"] exercise="ex-lifecycle-entropy-bounds"
ex_lifecycle_entropy_bounds = {
    "lower": lambda P, Q: P == Q,                                 # x reveals nothing: H(A | X) = H(A)
    "upper": lambda P, Q: all(p * q == 0 for p, q in zip(P, Q)),  # disjoint supports: H(A | X) = 0
}
