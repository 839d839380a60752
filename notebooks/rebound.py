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
# `elastic.experiments.rebound`: positive fine-tuning at several amounts, then negative
# fine-tuning of each positively tuned model at several amounts, every model scored on the same
# held-out prompts. Every number on this page is read from `results/<preset>/rebound.json`.

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
seed = None             # None: the preset's

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
# model θ0.

# %%
glue_figure("fig_rebound", plots.rebound_curves(res))
print(plots.rebound_table(res))

# %% [markdown]
# ```{glue:figure} fig_rebound
# :name: fig-rebound
#
# Task score against the amount of negative fine-tuning data, one line per amount of positive
# data (darker: more), with bars of ± one standard error over the held-out prompts; dashed: the
# base model. The paper's Figure 4 shows the lines of larger
# positive amounts starting higher and falling faster at first.
# ```
#
# ## What this run shows

# %% [markdown]
# For {glue:md}`rb_model` on {glue:md}`rb_dataset` the base model's {glue:md}`rb_metric` is
# {glue:md}`rb_base`. With {glue:md}`rb_sizes` positive samples, the first amount of negative data
# lowers the aligned score by {glue:md}`rb_drops` respectively (on a scale where larger is more
# aligned; ± one standard error over the held-out prompts, paired: every model answers the same
# prompts). The drop after the most positive data minus the drop after the least is
# {glue:md}`rb_diff`, {glue:md}`rb_noise`. Averaged over the curves the score falls by {glue:md}`rb_early` per negative sample
# over the first step and by {glue:md}`rb_late` over the last, so it
# {glue:md}`rb_fast_verdict`.
#
# Across all {glue:md}`rb_n_panels` panels, {glue:md}`rb_n_rebound` show the larger initial drop
# after more positive data, and {glue:md}`rb_n_fast` the fast-then-slow shape: this preset's run
# {glue:md}`rb_verdict` the paper's rebound effect.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/rebound` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-rebound-rates"
ex_rebound_rates = (2000 - 1000) / (200 - 100)  # the same fall per sample, over steps of 1,000 and 100
ex_rebound_rates
