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
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("compression_protocol", globals())

# %% [markdown]
# ## Huffman against the entropy
#
# First, random distributions over alphabets of several sizes (Dirichlet with concentration
# {glue:md}`alpha`) and one dyadic distribution, whose probabilities are all powers of two.

# %%
plots.huffman_table(res)

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
glue_figure("fig_depth", plots.code_length_by_depth(res))

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
glue_figure("fig_brute", plots.brute_force(res))
plots.brute_force_table(res)

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
