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
# # Hooke's law in code
#
# This notebook measures the would-be invariant of {doc}`../book/hookes_law`: datasets of several
# sizes are compressed together, a perturbation $D_3$ joins them, and for each dataset the change
# $\Delta\gamma_i$ of its compression rate is multiplied by its size. Every number on this page
# is read from `results/<preset>/hookes_law.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
d = None                # pruning depth in layers (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
import matplotlib.pyplot as plt
import numpy as np

from elastic import plots, results
from elastic.experiments import hookes_law
from elastic.notebook import configure, glue_figure, glue_text

plots.style()
cfg = configure("hookes_law", globals())
hookes_law.run(cfg)
res = results.load("hookes_law", cfg.preset)["data"]

# %% [markdown]
# ## The spring model
#
# Springs in series with constants proportional to the dataset sizes, under one force: each
# elongation is inversely proportional to its constant, and $k_i \Delta l_i$ is the same for all.

# %%
sizes = np.array(res["sizes"], dtype=float)
model = res["springs"]
print("k_i:", sizes.tolist())
print("elongation F/k_i:", np.array(model["elongation"]).tolist())
print("k_i * elongation:", np.array(model["k_times_elongation"]).tolist())
glue_text("sizes", ", ".join(f"{int(s):,}" for s in sizes))
glue_text("d", res["d"])

# %% [markdown]
# ## The invariant on token trees
#
# Datasets of {glue:md}`sizes` responses, trees pruned to $d$ = {glue:md}`d` layers, in three
# families. *overlap*: binary sources that differ in how often they write a 1. *disjoint*: each
# dataset writes its own two tokens, so datasets share no leaf but the empty response. *pareto*:
# the paper's own setting, every dataset putting independent Pareto masses (exponent
# {glue:md}`alpha`) on the same {glue:md}`n_leaves` leaves of the deepest layer.

# %%
glue_text("alpha", res["pareto"]["alpha"])
glue_text("n_leaves", f"{2 ** (res['pareto']['depth'] - 1):,}")
glue_text("size_span", f"{sizes.max() / sizes.min():,.0f}")
for name, runs in res["scenarios"].items():
    print(name)
    for r in runs:
        ce = r["cross_entropy"]
        print(f"  |D3| = {r['perturbation_size']:>6,}: dCE_i = {np.array(ce['delta']).round(7).tolist()}, "
              f"|D_i| dCE_i = {np.array(ce['size_times_delta']).round(3).tolist()}")
    for form in ("cross_entropy", "arxiv"):
        s = [r[form]["spread"] for r in runs]
        glue_text(f"spread_{form}_{name}", f"{min(s):.1f} to {max(s):.1f}")
    signs = {" ".join("+" if x > 0 else "−" for x in r["cross_entropy"]["delta"]) for r in runs}
    glue_text(f"signs_{name}", "; ".join(sorted(signs)))


def first_order_error(run):
    delta = np.array(run["cross_entropy"]["delta"])
    return np.max(np.abs(np.array(run["first_order"]) - delta) / np.abs(delta))


for end, i in (("small", 0), ("large", -1)):
    glue_text(f"first_order_err_{end}",
              f"{max(first_order_error(runs[i]) for runs in res['scenarios'].values()):.1%}")
glue_text("n3_small", f"{res['scenarios']['overlap'][0]['perturbation_size']:,}")
glue_text("n3_large", f"{res['scenarios']['overlap'][-1]['perturbation_size']:,}")
glue_text("one_minus_empty", f"{1 - res['stop_prob']:.2f}")
disjoint = res["scenarios"]["disjoint"]
closed = [np.log2(1 + r["perturbation_size"] / sizes.sum()) for r in disjoint]
ratios = [np.array(r["cross_entropy"]["delta"]) / c for r, c in zip(disjoint, closed)]
glue_text("disjoint_ratio", f"{min(x.min() for x in ratios):.2f} to {max(x.max() for x in ratios):.2f}")
pareto = res["scenarios"]["pareto"]
top_two = [abs(r["cross_entropy"]["size_times_delta"][1] / r["cross_entropy"]["size_times_delta"][0])
           for r in pareto]
glue_text("pareto_top_two", f"{min(top_two):.2f} to {max(top_two):.2f}")
for name in ("overlap", "pareto"):
    cons = [abs(r["conservation"]) / np.abs(r["cross_entropy"]["size_times_delta"]).sum()
            for r in res["scenarios"][name]]
    glue_text(f"conservation_{name}", f"{max(cons):.1%}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
for ax, (name, runs) in zip(axes, res["scenarios"].items()):
    for j, r in enumerate(runs):
        prod = np.array(r["cross_entropy"]["size_times_delta"])
        ax.loglog(sizes, np.abs(prod), "-", color=f"C{j}", label=f"$|D_3|$ = {r['perturbation_size']:,}")
        for x, y in zip(sizes, prod):  # filled: the cost went up; open: it went down
            ax.loglog(x, abs(y), "o", color=f"C{j}", mfc=f"C{j}" if y > 0 else "white")
    ref = np.abs(np.array(runs[-1]["cross_entropy"]["size_times_delta"]))
    ax.loglog(sizes, np.full_like(sizes, ref[0]), "k:", label="Hooke: constant")
    ax.loglog(sizes, ref[0] * sizes / sizes[0], "k--", lw=0.8, label=r"$\propto |D_i|$")
    ax.set_title(name)
    ax.set_xlabel("$|D_i|$")
    ax.legend(fontsize=7)
axes[0].set_ylabel(r"$| \, |D_i| \cdot \Delta CE_i \, |$ (bits)")
glue_figure("fig_hooke", fig)

# %% [markdown]
# ```{glue:figure} fig_hooke
# :name: fig-hooke-invariant
#
# The product of dataset size and change of per-segment compression cost, for each dataset and
# several perturbation sizes; filled markers where the cost went up, open where it went down.
# Hooke's law predicts a horizontal line (dotted). Disjoint datasets follow the dashed line
# instead: every dataset's cost changes by the same amount.
# ```
#
# The sizes span a factor {glue:md}`size_span`; a true invariant would have a spread (largest over
# smallest $| |D_i| \Delta CE_i |$) of 1. On the cross-entropy — and so on the ACL normalized rate,
# which differs from it by a constant and a sign — the spread is {glue:md}`spread_cross_entropy_overlap`
# for overlapping datasets, {glue:md}`spread_cross_entropy_disjoint` for disjoint ones and
# {glue:md}`spread_cross_entropy_pareto` with Pareto masses; on the arXiv ratio it is
# {glue:md}`spread_arxiv_overlap`, {glue:md}`spread_arxiv_disjoint` and
# {glue:md}`spread_arxiv_pareto`. The signs of $\Delta CE_i$, largest dataset first, are
# {glue:md}`signs_overlap` (overlap), {glue:md}`signs_disjoint` (disjoint) and
# {glue:md}`signs_pareto` (pareto).
#
# *Disjoint.* Each $\Delta CE_i$ is {glue:md}`disjoint_ratio` times $\log_2(1 + |D_3|/|D|)$, the
# change for perfectly disjoint supports, whatever the dataset's size. The factor is close to
# {glue:md}`one_minus_empty`, one minus the probability of the empty response: that is the one
# leaf all datasets share, and the first-order formula gives exactly this factor when every
# dataset has the same share of empty responses.
#
# *Pareto, the paper's setting.* The first-order argument of the derivation page predicts that
# here the two largest datasets behave like Hooke's springs in magnitude but with opposite signs:
# the largest dataset's cost goes up and the others' go down, so their ACL normalized rates move in
# opposite directions rather than both up. Measured, $|D_2 \Delta CE_2| / |D_1 \Delta CE_1|$ is
# {glue:md}`pareto_top_two` (Hooke: 1), with the signs above; the smaller datasets shift by
# similar amounts, so among them the product grows with size again.
#
# *Why.* The size-weighted changes cancel to first order when the perturbation stays inside the
# joint tree's leaves (the conservation law on the derivation page): $\sum_i |D_i| \Delta CE_i$
# is at most {glue:md}`conservation_overlap` (overlap) and {glue:md}`conservation_pareto`
# (pareto) of $\sum_i |D_i| |\Delta CE_i|$. With two datasets that is Hooke's relation with a
# minus sign. The first-order formula predicts every measured $\Delta CE_i$ to within
# {glue:md}`first_order_err_small` (relative) at $|D_3|$ = {glue:md}`n3_small` and to within
# {glue:md}`first_order_err_large` at $|D_3|$ = {glue:md}`n3_large`, where the perturbation is no
# longer small next to the smallest dataset.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/hookes_law` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-hooke-springs"
elongations = tuple(1 / k for k in (1000, 100, 10))
ex_hooke_springs = {"elongations": elongations, "total": sum(elongations)}
ex_hooke_springs
