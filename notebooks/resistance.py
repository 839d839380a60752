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
seed = None             # θ0's seed (None: the preset's)
seeds = None            # training seeds, e.g. [0, 1, 2] (None: the preset's)

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("resistance", globals())

# %% [markdown]
# ## The table
#
# One row per base model, dataset and pair of slices $(\theta_i, \theta_j)$, means over the
# {glue:md}`rs_n_seeds` seeds: the inverse path $H(p_{\theta_i}, p_{\theta_{ji}^\dagger})$ and the
# forward path $H(p_{\theta_j}, p_{\theta_{ij}^\dagger})$ in nats per response token, as in the
# paper's Table 1, then forward minus inverse in cross-entropy and in KL (positive: the inverse path
# is the easier one).

# %%
glue_figure("fig_resistance", plots.resistance(res))
plots.resistance_table(res)

# %% [markdown]
# ```{glue:figure} fig_resistance
# :name: fig-resistance
#
# Forward minus inverse alignment for every pair of slices, in KL and in cross-entropy: one dot per
# seed, the bar their mean. Resistance, in the paper's sense, is a value above zero.
# ```
#
# ## What this run shows
#
# With {glue:md}`rs_models` over {glue:md}`rs_n_seeds` seeds ({glue:md}`rs_n_cells_seed` cells
# each), the pre-registered verdicts are:
#
# - **KL** (primary: the paths alone, the targets' entropies cancel): {glue:md}`rs_verdict_kl`.
# - **Cross-entropy** (the paper's Table 1 metric): {glue:md}`rs_verdict_ce`.
#
# Cell by cell, the inverse path has the lower cross-entropy in {glue:md}`rs_resists_ce` and the
# lower KL in {glue:md}`rs_resists_kl`; forward minus inverse cross-entropy ranges from
# {glue:md}`rs_gap_range` nats per token.
