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
import matplotlib.pyplot as plt

from elastic import plots, results
from elastic.experiments import _figures, rebound
from elastic.notebook import configure, glue_figure, glue_text
from elastic.stats import words

plots.style()
cfg = configure("rebound", globals())
rebound.run(cfg)
res = results.load("rebound", cfg.preset)["data"]

# %% [markdown]
# ## The curves
#
# Each panel is one base model and one task. A line is one amount of positive data; its first
# point is the positively tuned model before any negative data, and the dashed line is the base
# model θ0.

# %%
panels = res["panels"]
fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
for ax, panel in zip(axes[0], panels):
    _figures.rebound_panel(ax, panel, f"{panel['model']} · {panel['dataset']}")
glue_figure("fig_rebound", fig)

for panel in panels:
    print(f"{panel['model']} on {panel['dataset']}: {panel['metric_name']} and mean score per model")
    for curve in panel["curves"]:
        print(f"  {curve['first_size']:>6} positive, then {curve['second_sizes']} negative:",
              [round(m, 3) for m in curve["metric"]], [round(m, 3) for m in curve["mean_score"]])
        print(f"         after the most negative data: {curve['examples'][0]!r}")

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

# %%
v = res["verdict"]
first = panels[0]
fv = first["verdict"]
glue_text("rb_model", f"`{first['model']}`")
glue_text("rb_dataset", first["dataset"])
glue_text("rb_metric", first["metric_name"])
glue_text("rb_base", f"{first['base']['metric']:.3f}")
glue_text("rb_sizes", ", ".join(str(c["first_size"]) for c in first["curves"]))
glue_text("rb_drops", ", ".join(f"{d:+.3f} ± {se:.3f}" for d, se in zip(fv["initial_drop"], fv["initial_drop_se"])))
judged = fv["drop_difference"] is not None
glue_text("rb_diff", f"{fv['drop_difference']:+.3f} ± {fv['drop_difference_se']:.3f}" if judged else "not defined")
glue_text("rb_noise", "cannot be judged with one amount of positive data" if not judged else
          "more than two standard errors from zero" if fv["drop_difference_beyond_noise"] else
          "within two standard errors of zero: on this grid it cannot be told apart from noise")
glue_text("rb_early", f"{fv['early_rate']:.4f}")
glue_text("rb_late", f"{fv['late_rate']:.4f}")
glue_text("rb_n_panels", v["n_panels"])
glue_text("rb_n_rebound", v["n_rebound"])
glue_text("rb_n_fast", v["n_fast_then_slow"])
glue_text("rb_verdict", "cannot judge (one amount of positive data)" if not v["n_judged"] else
          "shows" if v["n_rebound"] == v["n_judged"] else ("partly shows" if v["n_rebound"] else "does not show"))
glue_text("rb_fast_verdict", words(fv["fast_then_slow"], "falls faster at first than later",
                                          "does not fall faster at first than later"))

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
