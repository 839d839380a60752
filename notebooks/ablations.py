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
# `elastic.experiments.ablations`: the rebound grid with DPO as the inverse alignment, the grid
# in reverse (negative data first), and the KL table. Every number on this page is read from
# `results/<preset>/ablations.json`.

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
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("ablations", globals())

# %% [markdown]
# ## DPO and reverse fine-tuning

# %%
glue_figure("fig_ablations", plots.ablation_curves(res))

# %% [markdown]
# ```{glue:figure} fig_ablations
# :name: fig-ablations
#
# Left: positive SFT followed by DPO towards the negative responses (the paper's Figures 7, 8).
# Right: negative SFT first, positive SFT second (Figure 9); here rebound is a fast *rise*. Bars:
# ± one standard error over the held-out prompts. The dashed line is the base model.
# ```

# %% [markdown]
# For {glue:md}`ab_model` with DPO as the inverse alignment, the first step of negative data
# changes the aligned score by {glue:md}`ab_dpo_drops` (a fall is positive) after
# {glue:md}`ab_dpo_sizes` positive samples: the drop {glue:md}`ab_dpo_verdict` with the amount of
# positive data. In reverse, after {glue:md}`ab_reverse_sizes` negative samples, the first step of
# positive data moves the (negative-side) score by {glue:md}`ab_reverse_drops`: the rebound
# {glue:md}`ab_reverse_verdict` with the amount of first-stage data.
#
# ## The KL table

# %%
print(plots.kl_table(res))
glue_figure("fig_kl", plots.kl_curves(res))

# %% [markdown]
# ```{glue:figure} fig_kl
# :name: fig-kl
#
# KL divergence of each model to the base model θ0 against the amount of negative data, one
# line per amount of positive data; dashed: the threshold ε of the KL table.
# ```
#
# After {glue:md}`ab_kl_sizes` positive samples the KL to θ0 is {glue:md}`ab_kl_post` nats per
# token, and the negative data needed to bring it below ε = {glue:md}`ab_eps` is
# {glue:md}`ab_kl_needed`. In this run the amount needed {glue:md}`ab_kl_verdict`.

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
