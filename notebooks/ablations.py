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
# # Ablations in code
#
# This notebook runs the ablations of {doc}`../book/ablations` with
# `elastic.experiments.ablations`: the seeded rebound grid of {doc}`rebound` with DPO as the
# inverse alignment, the grid in reverse (negative data first), and the KL table on the rebound
# grid itself. The verdicts are computed by the library (`elastic.claims`) and read, like every
# number on this page, from `results/<preset>/ablations.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
dpo_models = None       # base models of the DPO ablation (None: the preset's)
kl_epsilon = None       # ε of the KL table (None: the preset's)
seeds = None            # training seeds, e.g. [0, 1, 2] (None: the preset's)

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("ablations", globals())

# %% [markdown]
# ## DPO and reverse fine-tuning

# %%
glue_figure("fig_ablations", plots.ablation_curves(res))
plots.rebound_table({"panels": res["dpo"]["panels"] + res["reverse"]["panels"]})

# %% [markdown]
# ```{glue:figure} fig_ablations
# :name: fig-ablations
#
# Likelihood margin of every model. Left: positive SFT followed by DPO towards the negative
# responses (the paper's Figures 7, 8). Right: negative SFT first, positive SFT second (Figure 9);
# here rebound is a fast *rise*. Bars: ± one standard error over the training seeds; dashed: the
# base model.
# ```

# %% [markdown]
# For {glue:md}`ab_model` over {glue:md}`ab_seeds` training seeds with {glue:md}`ab_pairs`
# held-out pairs each, first-stage amounts {glue:md}`ab_sizes` and second-stage amounts
# {glue:md}`ab_neg_sizes`, every verdict reading the likelihood margin:
#
# **DPO as the inverse alignment** (the drop under the first DPO amount after the largest positive
# amount minus after the smallest; scale: the alignment gain of the largest positive amount):
# {glue:md}`ab_dpo_verdict`.
#
# **Reverse** (negative data first: the rise under the first positive amount after the largest
# negative amount minus after the smallest; scale: the largest negative amount's gain towards the
# negative side): {glue:md}`ab_reverse_verdict`.
#
# ## The KL table

# %%
glue_figure("fig_kl", plots.kl_curves(res))
plots.kl_table(res)

# %% [markdown]
# ```{glue:figure} fig_kl
# :name: fig-kl
#
# KL divergence to the base model θ0 after the smallest and the largest amount of positive data,
# before and after the most negative data of the grid: thin lines one seed each, thick lines their
# mean; dashed: the threshold ε of the KL table.
# ```
#
# After {glue:md}`ab_kl_amounts` positive samples the KL to θ0 is
# {glue:md}`ab_kl_post` nats per token (means over the seeds), and after {glue:md}`ab_kl_neg`
# negative samples it is {glue:md}`ab_kl_end`; the negative data that brings it below
# ε = {glue:md}`ab_eps` is {glue:md}`ab_kl_needed`.
#
# **KL table** (log KL to θ0 after the most negative data, smallest positive amount minus largest;
# scale: how much farther from θ0 the largest amount started, in the same log ratio; metric: the
# exact KL over next-token distributions on the held-out texts): {glue:md}`ab_kl_verdict`.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/ablations` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-ablation-interpolation"
ex_ablation_interpolation = 100 + (0.02 - 0.01) / (0.02 - 0.005) * 100
ex_ablation_interpolation
