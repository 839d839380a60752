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
# # Resistance in code
#
# This notebook runs the resistance experiment of {doc}`../book/resistance` with
# `elastic.experiments.resistance`: one epoch of SFT cut into slices, the slices' answers to a
# shared query set, and the forward and inverse fine-tuning paths between every pair of slices.
# Every number on this page is read from `results/<preset>/resistance.json`.

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
datasets = None         # SFT datasets, e.g. ["dialogues", "reviews"] (None: the preset's)
n_slices = None         # slices θ1..θn of the SFT epoch (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("resistance", globals())

# %% [markdown]
# ## The table
#
# One row per base model and dataset, one column pair per pair of slices $(\theta_i, \theta_j)$:
# the inverse path $H(p_{\theta_i}, p_{\theta_{ji}^\dagger})$ against the forward path
# $H(p_{\theta_j}, p_{\theta_{ij}^\dagger})$, in nats per response token, as in the paper's Table 1.

# %%
print(plots.resistance_table(res))
glue_figure("fig_resistance", plots.resistance(res))

# %% [markdown]
# ```{glue:figure} fig_resistance
# :name: fig-resistance
#
# Inverse against forward alignment for every pair of slices. Resistance, in the paper's sense,
# is the left bar of each pair being the lower one.
# ```
#
# ## What this run shows

# %% [markdown]
# With {glue:md}`rs_models`, the inverse path is the easier one (lower cross-entropy) in
# {glue:md}`rs_n_resists` of {glue:md}`rs_n_cells` cells; forward minus inverse ranges from
# {glue:md}`rs_gap_range` nats per token. Measured in KL instead, which removes the entropy of
# the target slice from both sides, {glue:md}`rs_n_resists_kl` cells favour the inverse path. This
# preset's run {glue:md}`rs_verdict`.
