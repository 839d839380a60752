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
# # The compression protocol in code
#
# This notebook runs the protocol of {doc}`../book/compression_protocol` with `elastic.coding`:
# Huffman codes against the entropy bounds, code length against the pruning depth on a generated
# corpus, and a brute-force check of the ideal code length (Theorem 2.5) on a source small enough
# to enumerate. Every number on this page is read from `results/<preset>/compression_protocol.json`.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
n_sequences = None      # size of the generated corpus (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
import matplotlib.pyplot as plt
import numpy as np

from elastic import plots, results
from elastic.experiments import compression_protocol
from elastic.notebook import configure, glue_figure, glue_text

plots.style()
cfg = configure("compression_protocol", globals())
compression_protocol.run(cfg)
res = results.load("compression_protocol", cfg.preset)["data"]

# %% [markdown]
# ## Huffman against the entropy
#
# First, random distributions over alphabets of several sizes (Dirichlet with concentration
# {glue:md}`alpha`) and one dyadic distribution, whose probabilities are all powers of two.

# %%
huff = res["huffman"]
glue_text("alpha", huff["alpha"])
glue_text("dyadic_gap", f"{huff['dyadic']['huffman'] - huff['dyadic']['entropy']:.1e}")
gaps = [r["huffman"] - r["entropy"] for r in huff["random"]]
glue_text("gap_range", f"{min(gaps):.3f} and {max(gaps):.3f}")
glue_text("alphabet_sizes", ", ".join(f"{r['n']:,}" for r in huff["random"]))
for r in huff["random"]:
    print(f"{r['n']:>8,} symbols: H = {r['entropy']:.4f} bits, Huffman = {r['huffman']:.4f} bits")

# %% [markdown]
# On alphabets of {glue:md}`alphabet_sizes` symbols the Huffman code spends between
# {glue:md}`gap_range` bits more than the entropy per symbol: always inside $[H, H + 1)$. On the
# dyadic distribution the gap is {glue:md}`dyadic_gap`: Huffman meets the entropy exactly.
#
# ## Code length against pruning depth
#
# A corpus of {glue:md}`n_sequences` binary responses (token 1 with probability {glue:md}`p_one`,
# mean length {glue:md}`mean_length` tokens) is pruned to $d$ layers and its leaves are Huffman
# coded.

# %%
corpus, rows = res["corpus"], res["by_depth"]
glue_text("n_sequences", f"{corpus['n_sequences']:,}")
glue_text("p_one", corpus["p_one"])
glue_text("mean_length", f"{corpus['mean_length']:.2f}")
glue_text("full_rate", f"{corpus['full_tree_rate']:.3f}")
glue_text("rate_vs_full", f"{max(r['rate_ideal'] for r in rows) / corpus['full_tree_rate']:.0%}")
glue_text("max_leaves", f"{rows[-1]['leaves']:,}")
glue_text("max_d", rows[-1]["d"])
d = [r["d"] for r in rows]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(d, [r["entropy"] for r in rows], "o-", label="entropy $H_d$ of the pruned leaves")
axes[0].plot(d, [r["huffman"] for r in rows], "s--", label="Huffman expected length")
axes[0].fill_between(d, [r["entropy"] for r in rows], [r["entropy"] + 1 for r in rows],
                     color="0.85", label="$[H_d, H_d + 1)$")
axes[0].set_xlabel("pruning depth $d$ (layers)")
axes[0].set_ylabel("bits per segment")
axes[0].legend(fontsize=8)
axes[1].plot(d, [r["rate_ideal"] for r in rows], "o-", label=r"$\gamma$, ideal lengths")
axes[1].plot(d, [r["rate_huffman"] for r in rows], "s--", label=r"$\gamma$, Huffman lengths")
axes[1].axhline(corpus["full_tree_rate"], color="0.4", ls=":", label="unpruned tree, one segment")
axes[1].set_xlabel("pruning depth $d$ (layers)")
axes[1].set_ylabel("bits per token")
axes[1].legend(fontsize=8)
glue_figure("fig_depth", fig)

# %% [markdown]
# ```{glue:figure} fig_depth
# :name: fig-protocol-depth
#
# Left: per segment, the Huffman code of the pruned leaves stays within one bit of their entropy
# at every depth. Right: the compression rate $\gamma$ in bits per token with the segment count
# of Theorem 2.5, and the rate of the unpruned tree coded as one segment.
# ```
#
# At $d$ = {glue:md}`max_d` the pruned tree has {glue:md}`max_leaves` leaves. Coding the unpruned
# tree as one alphabet costs {glue:md}`full_rate` bits per token; with the segment count of
# Theorem 2.5 the largest rate over all depths is {glue:md}`rate_vs_full` of that. The
# brute-force check below shows where the difference comes from.
#
# ## Checking Theorem 2.5 by brute force
#
# Now a source small enough to list every response: {glue:md}`n_responses` responses of at most
# {glue:md}`exact_max_len` tokens with their exact probabilities. Each response is parsed by the
# pruned tree into segments, each segment is coded by its leaf, and the lengths are averaged.

# %%
exact = res["exact"]
glue_text("n_responses", f"{exact['n_responses']:,}")
glue_text("exact_max_len", exact["max_len"])
rows = exact["by_depth"]
brute = np.array([r["brute_force"] for r in rows])
wald = np.array([r["parse_segments_times_h"] for r in rows])
thm = np.array([r["thm_2_5"] for r in rows])
glue_text("source_entropy", f"{brute[0]:.3f}")
glue_text("wald_gap", f"{np.max(np.abs(wald - brute) / brute):.1%}")
glue_text("thm_gap", f"{np.min((brute - thm) / brute):.0%} to {np.max((brute - thm) / brute):.0%}")
print(f"{'d':>3} {'H_d':>7} {'brute':>7} {'huffman':>8} {'segments*H':>11} {'Thm 2.5':>8}")
for r in rows:
    print(f"{r['d']:>3} {r['entropy']:7.3f} {r['brute_force']:7.3f} {r['brute_force_huffman']:8.3f}"
          f" {r['parse_segments_times_h']:11.3f} {r['thm_2_5']:8.3f}")
fig, ax = plt.subplots(figsize=(6, 3.4))
dd = [r["d"] for r in rows]
ax.plot(dd, brute, "o-", label="brute force (ideal lengths)")
ax.plot(dd, [r["brute_force_huffman"] for r in rows], "s-", label="brute force (Huffman)")
ax.plot(dd, wald, "^--", label=r"$E[\lfloor |x|/(d-1) \rfloor + 1] \cdot H_d$")
ax.plot(dd, thm, "v:", label=r"Theorem 2.5: $E[\lceil |x|/d \rceil] \cdot H_d$")
ax.set_xlabel("pruning depth $d$ (layers)")
ax.set_ylabel("expected bits per response")
ax.legend(fontsize=8)
glue_figure("fig_brute", fig)

# %% [markdown]
# ```{glue:figure} fig_brute
# :name: fig-protocol-brute
#
# Expected code length of a response, by enumeration, against two counts of segments times the
# entropy of the pruned leaves. The count the protocol really uses matches; the published
# $\lceil |x|/d \rceil$ falls below the entropy of the source, which no lossless code can do.
# ```
#
# With ideal lengths the protocol spends {glue:md}`source_entropy` bits per response at every
# depth: this source is memoryless, so the leaf probabilities of the segments multiply back to the
# probability of the response. Counting $\lfloor |x|/(d-1) \rfloor + 1$ segments reproduces the
# brute force to within {glue:md}`wald_gap` (the rest is the cut at the longest response, which
# makes the source slightly not memoryless). The count $\lceil |x|/d \rceil$ printed in
# Theorem 2.5 comes out {glue:md}`thm_gap` below the brute force.

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/compression_protocol` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-protocol-huffman"
ex_protocol_huffman = {"lengths": (1, 2, 2), "expected": 0.4 * 1 + 0.6 * 2, "gap": 1.6 - 1.571}
ex_protocol_huffman

# %% tags=["solution"] exercise="ex-protocol-empty"
import sympy as sp

s = sp.Symbol("s", positive=True)
h2 = -s * sp.log(s, 2) - (1 - s) * sp.log(1 - s, 2) + (1 - s)  # h(s) + (1 - s)
ex_protocol_empty = {"H2": h2, "published": (1 - s) * h2, "entropy": h2, "smaller": "published"}
ex_protocol_empty
