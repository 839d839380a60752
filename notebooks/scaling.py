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
# This notebook runs the rebound grid of {doc}`../book/rebound` for two series of base models —
# increasing size, and increasing pre-training volume — with `elastic.experiments.scaling`
# (see {doc}`../book/scaling`). Every number on this page is read from
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
volume_models = None    # one model at increasing pre-training volume (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("scaling", globals())

# %% [markdown]
# ## Two series of base models
#
# Each line is one base model, its score averaged over the amounts of positive data, with the
# spread across those amounts shaded, as in the paper's Figures 5 and 6.

# %%
glue_figure("fig_scaling", plots.scaling_series(res))

# %% [markdown]
# ```{glue:figure} fig_scaling
# :name: fig-scaling
#
# Score after positive fine-tuning (left end) and after increasing amounts of negative data, for
# base models of increasing size (left) and increasing pre-training volume (right). The paper's
# claim is that the initial fall steepens along both series.
# ```
#
# ## What this run shows

# %% [markdown]
# On {glue:md}`sc_dataset`, the rebound strength (the mean fall of the aligned score at the first
# amount of negative data) is {glue:md}`sc_size_strength` along the size series, rank correlation
# with size {glue:md}`sc_size_rho`: in this run it {glue:md}`sc_size_verdict` with model size.
# Along the pre-training series it is {glue:md}`sc_volume_strength`, rank correlation
# {glue:md}`sc_volume_rho`: it {glue:md}`sc_volume_verdict` with pre-training volume.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/scaling` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-scaling-rank"
ex_scaling_rank = {"values": {1, 0.5, -0.5, -1}, "accepted": {1}}
ex_scaling_rank
