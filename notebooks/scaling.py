# ---
# jupyter:
#   elastic:
#     gpu: true
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
# # Rebound against scale in code
#
# This notebook runs the seeded rebound grid of {doc}`../book/rebound` for two series of base
# models — increasing size, and increasing pre-training volume — with `elastic.experiments.scaling`
# (see {doc}`../book/scaling`). Each model's rebound statistic is computed per training seed; the
# trend along a series is its slope on the decades of size or volume, one slope per seed, judged by
# a t-interval over the seeds. Every number on this page is read from
# `results/<preset>/scaling.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
size_models = None      # models of increasing size (None: the preset's)
volume_models = None    # one architecture at increasing pre-training volume (None: the preset's)
seeds = None            # training seeds, e.g. [0, 1, 2, 3] (None: the preset's)

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("scaling", globals())

# %% [markdown]
# ## Two series of base models
#
# Each line is one base model: its likelihood margin relative to its own θ0, averaged over the
# training seeds and then over the amounts of positive data, with the spread across those amounts
# shaded, in the layout of the paper's Figures 5 and 6.

# %%
glue_figure("fig_scaling", plots.scaling_curves(res))

# %% [markdown]
# ```{glue:figure} fig_scaling
# :name: fig-scaling
#
# Margin above θ0's after positive fine-tuning (left end) and after increasing amounts of negative
# data, for base models of increasing size (left) and increasing pre-training volume (right);
# shaded: ± one standard deviation across the positive amounts.
# ```
#
# ## The trends the verdicts read
#
# Each point is one base model's rebound statistic (the drop of the margin under the first
# negative amount after the largest positive amount, minus the same drop after the smallest),
# averaged over the seeds, with ± one standard error over the seeds. The dashed line has the
# series' slope, where the series can be judged.

# %%
glue_figure("fig_scaling_trends", plots.scaling_trends(res))

# %% [markdown]
# ```{glue:figure} fig_scaling_trends
# :name: fig-scaling-trends
#
# Rebound statistic against the decades of model size (left) and of pre-training volume (right);
# bars: ± one standard error over the training seeds; dashed: the mean of the per-seed
# least-squares lines. The paper's claim is a positive slope along both series.
# ```
#
# ## What this run shows
#
# On {glue:md}`sc_dataset`, over {glue:md}`sc_seeds` training seeds with {glue:md}`sc_pairs`
# held-out pairs each, every model is fine-tuned on {glue:md}`sc_sizes` positive samples and then
# on {glue:md}`sc_neg_sizes` negative samples, and scored by its likelihood margin.
#
# **Size** ({glue:md}`sc_size_models`: {glue:md}`sc_size_x` parameters, {glue:md}`sc_size_span`
# decades). Alignment gain of the largest positive amount per model: {glue:md}`sc_size_gain`;
# rebound statistic: {glue:md}`sc_size_rebound`. The slope per decade of parameters (claim
# `rebound_size`, metric: the likelihood margin) is {glue:md}`sc_size_verdict`.
#
# **Pre-training volume** ({glue:md}`sc_volume_models`: {glue:md}`sc_volume_x` pre-training
# texts or tokens, {glue:md}`sc_volume_span` decades). Alignment gain: {glue:md}`sc_volume_gain`;
# rebound statistic: {glue:md}`sc_volume_rebound`. The slope per decade of pre-training volume
# (claim `rebound_volume`, metric: the likelihood margin) is {glue:md}`sc_volume_verdict`.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/scaling` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-scaling-slope"
ex_scaling_slope = 0.17 / 14  # least squares on log10 N = (5, 6, 8): Σ(x - x̄)y = 0.17/3 over Σ(x - x̄)² = 14/3
ex_scaling_slope
