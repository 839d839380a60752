# ---
# jupyter:
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
# # The lifecycle in code
#
# This notebook runs the grid of {doc}`../book/lifecycle` with `elastic.experiments.lifecycle`:
# small transformers pre-trained from scratch on a source with a known distribution, aligned on its
# positive half, perturbed with its negative half, and measured against the exact probabilities
# after every stage. Every number on this page is read from `results/<preset>/lifecycle.json`, and
# every verdict in it is computed by `elastic.lifecycle.verdicts`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
volumes = None          # pre-training volumes |D1| (None: the preset's)
align_sizes = None      # alignment sizes |D2| (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
import matplotlib.pyplot as plt
import numpy as np
from myst_nb import glue

from elastic import plots, results
from elastic.experiments import lifecycle
from elastic.notebook import configure, glue_figure, glue_text
from elastic.stats import SLOPE_WORDS

plots.style()
cfg = configure("lifecycle", globals())
lifecycle.run(cfg)
record = results.load("lifecycle", cfg.preset)
res, verdict = record["data"], record["data"]["verdicts"]


def glue_shared(name, text):
    """Glue ``text`` for this page ({glue:md}) and, as plain text under ``<name>_page``, for the
    chapter page's cross-document ``{glue:text}`` references (which cannot paste Markdown)."""
    glue_text(name, text)
    glue(f"{name}_page", str(text), display=False)


def fmt(x, digits=3):
    """A number for the prose; the results file stores NaN as the string "nan"."""
    return "n/a" if x is None or not np.isfinite(float(x)) else f"{float(x):.{digits}g}"


def run_of(model, volume):
    return next(r for r in res["runs"] if r["model"] == model and r["volume"] == volume)


main = run_of(res["main"]["model"], res["main"]["volume"])
glue_text("lc_wall", f"{record['provenance']['wall_time_s']:.0f}")
cache = record["provenance"]["run"]["cache"]  # counters and timings of this run, not data
glue_text("lc_trained", cache["trained"])
glue_text("lc_hits", cache["hits"])
glue_text("lc_stage_seconds", f"{cache['stage_seconds']:.0f}")
glue_text("lc_runs", len(res["runs"]))

# %% [markdown]
# ## The source and the pre-trained model
#
# The source has a vocabulary of {glue:md}`lc_vocab` letters. Its pre-training mixture $P_1$ has
# an exact entropy of {glue:md}`lc_h1` bits per sequence, {glue:md}`lc_rate1` bits per token
# (EOS included); the positive source $P_+$ (alignment data) has {glue:md}`lc_h2` bits per
# sequence and the negative one $P_-$ (perturbation data) {glue:md}`lc_h3`.
#
# The largest model, pre-trained on the largest volume, is {glue:md}`lc_gap` bits/token (KL to
# $P_1$ per token) away from the source; the stated margin is {glue:md}`lc_margin` bits/token, so
# it is {glue:md}`lc_gap_verdict`. Its compression rate on held-out $D_1$ exceeds the entropy rate
# by {glue:md}`lc_gamma_gap` bits/token (a noisier estimate of the same gap).

# %%
src, gap = res["source"], verdict["entropy_gap"]
glue_text("lc_vocab", src["vocab_size"])
glue_text("lc_h1", f"{src['entropy_D1']:.3f}")
glue_text("lc_rate1", f"{src['entropy_rate_D1']:.3f}")
glue_text("lc_h2", f"{src['entropy_D2']:.3f}")
glue_text("lc_h3", f"{src['entropy_D3']:.3f}")
glue_shared("lc_gap", f"{gap['kl_bits_per_token']:.3f}")
glue_shared("lc_margin", f"{gap['margin']:.3f}")
glue_shared("lc_gap_verdict", "within the margin" if gap["within"] else "NOT within the margin")
glue_text("lc_gamma_gap", f"{gap['gamma_minus_entropy_rate']:+.3f}")

volumes_main = sorted(r["volume"] for r in res["runs"] if r["model"] == res["main"]["model"])
fig, ax = plt.subplots(figsize=(6, 3.4))
for run in sorted(res["runs"], key=lambda r: (r["model"], r["volume"])):
    if run["model"] == res["main"]["model"]:
        ax.semilogx(run["volume"], run["pretrain"]["kl_D1"] / src["mean_tokens"], "o", color="C0")
    else:
        ax.semilogx(run["volume"], run["pretrain"]["kl_D1"] / src["mean_tokens"], "s", color="C1")
ax.plot([], [], "o", color="C0", label=f"model {main['model']} (n_layer, d_model)")
ax.plot([], [], "s", color="C1", label="smaller models")
ax.axhline(gap["margin"], ls=":", color="0.4", label="stated margin")
ax.set_xlabel("pre-training volume $|D_1|$ (sequences)")
ax.set_ylabel("KL$(P_1 \\| q)$ per token (bits)")
ax.legend(fontsize=8)
glue_figure("fig_lc_pretrain", fig)

# %% [markdown]
# ```{glue:figure} fig_lc_pretrain
# :name: fig-lc-pretrain
#
# How far each pre-trained model is from the pre-training source, in bits per token, against the
# number of pre-training sequences. Zero is the source itself.
# ```
#
# ## Elasticity: the ratio of the changes against $k$
#
# For every aligned model of the largest size, the first perturbation checkpoint changes the
# compression rates on $D_1$ and $D_2$ by $\Delta\gamma_1$ and $\Delta\gamma_2$. The theorem
# predicts that both increase and that $\Delta\gamma_2 / \Delta\gamma_1$ grows like
# $k = |D_1|/|D_2|$. Of {glue:md}`lc_points` aligned models, $\Delta\gamma_2$ rises in
# {glue:md}`lc_d2_rises`, $\Delta\gamma_1$ *falls* in {glue:md}`lc_d1_falls`, and both rise in
# {glue:md}`lc_both`. A least-squares line of $\log_{10}$ ratio on $\log_{10} k$ through the
# {glue:md}`lc_fit_n` models with a positive ratio has slope {glue:md}`lc_slope` (95% CI
# {glue:md}`lc_ci`; the theorem's $\Theta(k)$ is slope 1): {glue:md}`lc_theta_verdict`.
#
# Setting the signs aside, the same fit on the magnitude $|\Delta\gamma_2 / \Delta\gamma_1|$ has
# slope {glue:md}`lc_mslope` (95% CI {glue:md}`lc_mci`): {glue:md}`lc_mag_verdict`.

# %%
el = verdict["elasticity"]
fit = el["fit"]
glue_shared("lc_points", el["points"])
glue_shared("lc_both", el["both_increase"])
glue_text("lc_above", el["ratio_above_one"])
glue_text("lc_fit_n", fit["n"])
glue_text("lc_slope", fmt(fit["slope"]))
glue_text("lc_ci", f"[{fmt(fit['ci'][0])}, {fmt(fit['ci'][1])}]")
glue_shared("lc_d1_falls", el["d1_falls"])
glue_text("lc_d2_rises", el["d2_rises"])
theta = SLOPE_WORDS[el["signed_verdict"]]
glue_shared("lc_theta_verdict", theta)
mfit = el["fit_magnitude"]
glue_shared("lc_mslope", fmt(mfit["slope"]))
glue_shared("lc_mci", f"[{fmt(mfit['ci'][0])}, {fmt(mfit['ci'][1])}]")
magnitude = SLOPE_WORDS[el["magnitude_verdict"]]
glue_shared("lc_mag_verdict", magnitude)
hk = verdict["hooke"]
glue_shared("lc_hooke_median", fmt(hk["median_log10"]))
glue_text("lc_hooke_iqr", f"[{fmt(hk['iqr_log10'][0])}, {fmt(hk['iqr_log10'][1])}]")

from elastic.lifecycle import elasticity_points

points = [p for p in elasticity_points(res["runs"]) if p["model"] == res["main"]["model"]]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for p in points:
    colour = f"C{volumes_main.index(p['volume'])}"
    marker = "o" if p["ratio"] > 0 else "x"
    axes[0].loglog(p["k"], abs(p["ratio"]), marker, color=colour)
    axes[1].semilogx(p["k"], np.log10(p["hooke"]), marker, color=colour)
for i, v in enumerate(volumes_main):
    axes[0].plot([], [], "o", color=f"C{i}", label=f"$|D_1|$ = {v:,}")
ks = np.array(sorted(p["k"] for p in points))
for f, style, what in ((fit, "-", "ratio"), (mfit, "--", "|ratio|")):
    if np.isfinite(float(f["slope"])):
        axes[0].loglog(ks, 10 ** (f["intercept"] + f["slope"] * np.log10(ks)), style, color="0.2",
                       label=f"fit to {what}: slope {f['slope']:.2f}")
axes[0].loglog(ks, ks, ":", color="0.5", label="ratio = $k$")
axes[0].set_xlabel("$k = |D_1| / |D_2|$")
axes[0].set_ylabel(r"$|\Delta\gamma_2 / \Delta\gamma_1|$ (x: negative)")
axes[0].legend(fontsize=7)
axes[1].axhline(0, ls=":", color="0.5")
axes[1].set_xlabel("$k$")
axes[1].set_ylabel(r"$\log_{10} \frac{|D_2||\Delta\gamma_2|}{|D_1||\Delta\gamma_1|}$")
glue_figure("fig_lc_elasticity", fig)

# %% [markdown]
# ```{glue:figure} fig_lc_elasticity
# :name: fig-lc-elasticity
#
# Left: the ratio of the changes of the compression rates on $D_2$ and $D_1$ over the first
# perturbation checkpoint, against $k$; crosses mark negative ratios (one rate fell). The dotted
# line is ratio $= k$. Right: the Hooke invariant on magnitudes, as the log-ratio of
# $|D_2||\Delta\gamma_2|$ to $|D_1||\Delta\gamma_1|$; the invariant holds where it is zero.
# ```
#
# The Hooke log-ratio has median {glue:md}`lc_hooke_median` (interquartile range
# {glue:md}`lc_hooke_iqr`): zero would mean $|D_1||\Delta\gamma_1| = |D_2||\Delta\gamma_2|$.
#
# ## Rebound: the attribute score under perturbation
#
# The shape of the paper's Fig. 4: for each alignment size, the attribute score (the mean exact
# posterior $P(+\mid x)$ of sampled sequences) after alignment and along the perturbation.

# %%
def draw_rebound(ax, run, title):
    for i, aligned in enumerate(run["aligned"]):
        sizes = [r["size"] for r in aligned["curve"]]
        scores = [r["score"] for r in aligned["curve"]]
        ax.plot(np.array(sizes) + 1, scores, "o-", ms=3, color=f"C{i}", label=f"$|D_2|$ = {aligned['n']:,}")
    ax.axhline(run["pretrain"]["score"], ls=":", color="0.4", label="pre-trained")
    ax.set_xscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("$|D_3| + 1$")


rb = verdict["rebound_main"]
glue_shared("lc_rho_drop", fmt(rb["rho_drop"], 2))
glue_text("lc_rho_final", fmt(rb["rho_final"], 2))
glue_shared("lc_rebound_main", "shows rebound" if rb["rebound"] else "does NOT show rebound")
glue_text("lc_rebound_direction",
          "the more aligned models lose their score more slowly, the opposite of the paper's rebound"
          if float(rb["rho_drop"]) < 0 else "the more aligned models lose their score faster, as in the paper")
glue_text("lc_rebound_rho", fmt(cfg.rebound_rho, 2))
fig, ax = plt.subplots(figsize=(6, 3.6))
draw_rebound(ax, main, f"model {main['model']}, $|D_1|$ = {main['volume']:,}")
ax.set_ylabel("attribute score $P(+\\mid x)$")
ax.legend(fontsize=7)
glue_figure("fig_lc_rebound", fig)

# %% [markdown]
# ```{glue:figure} fig_lc_rebound
# :name: fig-lc-rebound
#
# Attribute score against the number of negative sequences the aligned model has been trained on,
# one curve per alignment size; the dotted line is the pre-trained model.
# ```
#
# By the criterion of the chapter (Spearman correlation between the alignment size and the
# score's drop over the first checkpoint of at least {glue:md}`lc_rebound_rho`), the main model
# {glue:md}`lc_rebound_main`: the correlation is {glue:md}`lc_rho_drop`, so
# {glue:md}`lc_rebound_direction`. The correlation between
# the alignment size and the score at the end of the perturbation is {glue:md}`lc_rho_final`
# (the paper's curves cross, which would make it negative).
#
# ## Rebound against model size and pre-training volume

# %%
ms, em = verdict["model_size"], verdict["emergence"]
glue_shared("lc_size_rebound", ", ".join(f"{p:,}: {'yes' if r else 'no'}"
                                       for p, r in zip(ms["params"], ms["rebound"])))
glue_text("lc_size_rho", fmt(ms["rho_size_drop"], 2))
glue_shared("lc_volume_rebound", ", ".join(f"{v:,}: {'yes' if r else 'no'}"
                                         for v, r in zip(em["volumes"], em["rebound"])))
glue_text("lc_volume_rho", fmt(em["rho_volume_drop"], 2))
glue_shared("lc_first_elastic", f"{em['first_elastic_volume']:,} sequences"
          if em["first_elastic_volume"] else "at none of the volumes of this grid")
sizes_runs = sorted((r for r in res["runs"] if r["volume"] == res["main"]["volume"]), key=lambda r: r["params"])
volume_runs = sorted((r for r in res["runs"] if r["model"] == res["main"]["model"]), key=lambda r: r["volume"])
ncol = max(len(sizes_runs), len(volume_runs))
fig, axes = plt.subplots(2, ncol, figsize=(3 * ncol, 5.6), sharey=True, squeeze=False)
for ax, run in zip(axes[0], sizes_runs):
    draw_rebound(ax, run, f"{run['params']:,} parameters")
for ax, run in zip(axes[1], volume_runs):
    draw_rebound(ax, run, f"$|D_1|$ = {run['volume']:,}")
for ax in axes.flat[len(sizes_runs):ncol]:
    ax.set_axis_off()
for row in axes:
    row[0].set_ylabel("score")
axes[0][0].legend(fontsize=6)
fig.tight_layout()
glue_figure("fig_lc_scaling", fig)

# %% [markdown]
# ```{glue:figure} fig_lc_scaling
# :name: fig-lc-scaling
#
# Top: the rebound curves for each model size at the largest pre-training volume. Bottom: for the
# largest model at each pre-training volume.
# ```
#
# Rebound by model size (parameters: rebound?) is {glue:md}`lc_size_rebound`; the Spearman
# correlation of size with the early drop of the most aligned model is {glue:md}`lc_size_rho`.
# By pre-training volume it is {glue:md}`lc_volume_rebound`, with correlation
# {glue:md}`lc_volume_rho`. Elasticity, meaning rebound together with a median ratio
# $\Delta\gamma_2/\Delta\gamma_1$ above one, first appears {glue:md}`lc_first_elastic`.
#
# ## Resistance: forward against inverse alignment
#
# The analogue of the paper's Table 1: slices $\theta_i$ are the models aligned on the first
# $n_i$ positive sequences; each slice generates responses, and a later slice fine-tuned on an
# earlier one's responses (inverse alignment) is compared with the reverse (forward alignment).

# %%
rs = verdict["resistance"]
glue_shared("lc_resist", f"{rs['inverse_easier']} of {rs['pairs']}")
fig, ax = plt.subplots(figsize=(6, 3.2))
labels = [f"{r['earlier']:,} vs {r['later']:,}" for r in res["resistance"]]
x = np.arange(len(labels))
ax.bar(x - 0.2, [r["inverse"] for r in res["resistance"]], 0.4, label="inverse (later on earlier's data)")
ax.bar(x + 0.2, [r["forward"] for r in res["resistance"]], 0.4, label="forward (earlier on later's data)")
ax.set_xticks(x, labels)
ax.set_xlabel("slices $|D_2|$ (earlier vs later)")
ax.set_ylabel("mean training loss (nats/token)")
ax.legend(fontsize=7)
glue_figure("fig_lc_resistance", fig)

# %% [markdown]
# ```{glue:figure} fig_lc_resistance
# :name: fig-lc-resistance
#
# Mean training loss of inverse and forward alignment between pairs of slices. The paper's
# resistance is the inverse bar being lower.
# ```
#
# Inverse alignment has the lower loss in {glue:md}`lc_resist` pairs.
#
# The whole grid ({glue:md}`lc_runs` pre-trained models and their branches) took
# {glue:md}`lc_wall` s in this run, which trained {glue:md}`lc_trained` stages and reused
# {glue:md}`lc_hits` finished ones from the cache; computing all of them took
# {glue:md}`lc_stage_seconds` s of training and measurement when they were first run.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/lifecycle` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-lifecycle-posterior"
odds = (0.8 / 0.2) ** 3 * (0.2 / 0.8) ** 2
ex_lifecycle_posterior = {"posterior": odds / (1 + odds), "half": lambda n, m: 2 * m == n}
ex_lifecycle_posterior["posterior"]
