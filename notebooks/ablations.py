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
import matplotlib.pyplot as plt

from elastic import plots, results
from elastic.experiments import _figures, ablations
from elastic.notebook import configure, glue_figure, glue_text
from elastic.stats import words

plots.style()
cfg = configure("ablations", globals())
ablations.run(cfg)
res = results.load("ablations", cfg.preset)["data"]

# %% [markdown]
# ## DPO and reverse fine-tuning

# %%
panels = [("DPO", p) for p in res["dpo"]["panels"]] + [("reverse", p) for p in res["reverse"]["panels"]]
fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
for ax, (kind, panel) in zip(axes[0], panels):
    _figures.rebound_panel(ax, panel, f"{kind}: {panel['model']}")
glue_figure("fig_ablations", fig)

# %% [markdown]
# ```{glue:figure} fig_ablations
# :name: fig-ablations
#
# Left: positive SFT followed by DPO towards the negative responses (the paper's Figures 7, 8).
# Right: negative SFT first, positive SFT second (Figure 9); here rebound is a fast *rise*. Bars:
# ± one standard error over the held-out prompts. The dashed line is the base model.
# ```

# %%
for name in ("dpo", "reverse"):
    panel = res[name]["panels"][0]
    drops = panel["verdict"]["initial_drop"]
    glue_text(f"ab_{name}_drops", ", ".join(f"{d:+.3f}" for d in drops))
    glue_text(f"ab_{name}_sizes", ", ".join(str(c["first_size"]) for c in panel["curves"]))
    glue_text(f"ab_{name}_verdict", words(panel["verdict"]["drop_grows_with_first_size"], "grows",
                                                 "does not grow"))
glue_text("ab_model", f"`{res['dpo']['panels'][0]['model']}`")

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
kl = res["kl"]
print(f"ε = {kl['epsilon']}")
for row in kl["table"]:
    print(row["model"])
    for cell in row["cells"]:
        needed = "not within the grid" if cell["negative_needed"] is None else f"{cell['negative_needed']:.1f}"
        print(f"  {cell['positive_size']:>6} positive: KL to θ0 after alignment {cell['post_alignment_kl']:.4f}, "
              f"negative samples to bring it below ε: {needed}")

fig, ax = plt.subplots(figsize=(6, 3.4))
for panel in kl["panels"]:
    for curve in panel["curves"]:
        ax.plot(range(len(curve["second_sizes"])), curve["kl_to_base"], "o-",
                label=f"{panel['model']}, {curve['first_size']} positive")
ax.axhline(kl["epsilon"], color="0.3", ls="--", label="ε")
sizes = kl["panels"][0]["curves"][0]["second_sizes"]
ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
ax.set_yscale("log")
ax.set_xlabel("negative samples")
ax.set_ylabel("KL to θ0 (nats/token)")
ax.legend(fontsize=7)
glue_figure("fig_kl", fig)

row = kl["table"][0]
glue_text("ab_eps", f"{kl['epsilon']:g}")
glue_text("ab_kl_post", ", ".join(f"{c['post_alignment_kl']:.4f}" for c in row["cells"]))
glue_text("ab_kl_needed", ", ".join("none in the grid" if c["negative_needed"] is None
                                    else f"{c['negative_needed']:.1f}" for c in row["cells"]))
glue_text("ab_kl_sizes", ", ".join(str(c["positive_size"]) for c in row["cells"]))
unreached = any(c["negative_needed"] is None for c in row["cells"])
glue_text("ab_kl_verdict", "cannot be compared, since the KL stays above ε within the grid for some amounts "
          "(the paper's Table 3 has it reached everywhere)" if unreached else
          words(row["needed_falls"], "falls, as the paper's Table 3 predicts",
                       "does not fall with more positive data, unlike the paper's Table 3"))

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
