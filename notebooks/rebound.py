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
# # Rebound in code
#
# This notebook runs the rebound experiment of {doc}`../book/rebound` with
# `elastic.experiments.rebound`: for each training seed, one pass of positive fine-tuning kept at
# several amounts, then from each of those models one pass of negative fine-tuning kept at several
# amounts; every model is scored by its likelihood margin on the seed's held-out pairs. The
# verdicts are computed by the library (`elastic.claims`) and read, like every number on this page,
# from `results/<preset>/rebound.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
models = None           # base models θ0, e.g. ["smollm2"] (None: the preset's)
positive_sizes = None   # amounts of positive data (None: the preset's)
negative_sizes = None   # amounts of negative data (None: the preset's)
seeds = None            # training seeds, e.g. [0, 1, 2] (None: the preset's)

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("rebound", globals())

# %% [markdown]
# ## The curves
#
# Each panel is one base model and one task. A line is one amount of positive data; its first
# point is the positively tuned model before any negative data, and the dashed line is the base
# model θ0. The score is the likelihood margin: how much more likely, per token, the model finds
# the positive continuation of a held-out opener than its negative mirror image.

# %%
glue_figure("fig_rebound", plots.rebound_curves(res))
plots.rebound_table(res)

# %% [markdown]
# ```{glue:figure} fig_rebound
# :name: fig-rebound
#
# Likelihood margin against the amount of negative fine-tuning data, one line per amount of
# positive data (darker: more); bars: ± one standard error over the training seeds; dashed: the
# base model. The paper's Figure 4 shows the lines of larger positive amounts starting higher and
# falling faster at first.
# ```
#
# ## The paper's metric, beside it
#
# The same models of the first seed, scored as the paper scores them: a continuation sampled for
# each of a few held-out openers and scored by the task's scorer.

# %%
glue_figure("fig_rebound_secondary", plots.rebound_secondary(res))

# %% [markdown]
# ```{glue:figure} fig_rebound_secondary
# :name: fig-rebound-secondary
#
# The paper's metric for the first seed's models: mean over the prompts ± one standard error over
# the prompts; dashed: the base model.
# ```
#
# ## What this run shows
#
# For {glue:md}`rb_model` on {glue:md}`rb_dataset`, over {glue:md}`rb_seeds` training seeds with
# {glue:md}`rb_pairs` held-out pairs each, positive fine-tuning on {glue:md}`rb_sizes` samples and
# negative fine-tuning on {glue:md}`rb_neg_sizes` samples: θ0's margin is {glue:md}`rb_base` nats
# per token, and the largest positive amount raises it by {glue:md}`rb_gain`, the natural scale of
# the rebound claim.
#
# **Rebound** (the drop under the first negative amount after the largest positive amount, minus
# the same drop after the smallest; metric: the likelihood margin): {glue:md}`rb_verdict`.
#
# **Fast, then slow** (the fall per negative sample over the first step minus over the last, after
# the largest positive amount; scale: its mean fall per sample over the grid; metric: the
# likelihood margin): {glue:md}`rb_decel_verdict`.
#
# The paper's metric ({glue:md}`rb_sec_name`, first seed, {glue:md}`rb_sec_n` prompts) is
# {glue:md}`rb_sec_base` for θ0, {glue:md}`rb_sec_aligned` after the positive amounts and
# {glue:md}`rb_sec_end` after the most negative data. It is shown for comparison with the paper's
# figure and carries no verdict: a few sampled continuations per model, each scored by a
# classifier, are too noisy to resolve differences of this size, which is why the verdicts read
# the margin.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/rebound` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-rebound-saturation"
ex_rebound_saturation = "initial drop"  # Δ(p) = a(p, 0) - a(p, n_1): a larger p must fall further
ex_rebound_saturation

# %% tags=["solution"] exercise="ex-rebound-rates"
ex_rebound_rates = (2000 - 1000) / (200 - 100)  # the same fall per sample, over steps of 1,000 and 100
ex_rebound_rates
