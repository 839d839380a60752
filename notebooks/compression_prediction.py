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
# # Compressing text with a language model
#
# This notebook turns the argument of {doc}`../book/compression_prediction` into bits. It measures
# the code length $\sum_k -\log_2 p_\theta(x_k \mid x_{<k})$ of two texts under language models,
# then arithmetic-codes the texts for real with `elastic.arithmetic`, decodes them back, and
# compares both with zlib, bz2 and lzma. Every number on this page is read from
# `results/<preset>/compression_prediction.json`, which the first code cell writes.

# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+https://github.com/elastic-book/elastic"], check=True)

# %% tags=["parameters"]
preset = "cpu"          # smoke | cpu | colab | paper
models = None           # "tiny" and/or load_model specs, e.g. ("tiny", "smollm2") (None: the preset's)
coded_tokens = None     # tokens arithmetic-coded per text (None: the preset's)
seed = None             # None: the preset's

# %% tags=["remove-output"]
from elastic import plots
from elastic.notebook import glue_figure, run

plots.style()
res = run("compression_prediction", globals())

# %% [markdown]
# ## The texts
#
# The first text is a paragraph of plain English written for this book. The second is drawn from
# a source we control: {glue:md}`cp_vocab` made-up words, picked independently with Zipf
# probabilities and separated by spaces. Because we know that source exactly, we also know the
# shortest code any compressor can expect to reach on it: {glue:md}`cp_source_bpb` bits per byte
# for this draw ({glue:md}`cp_entropy_word` bits per word, the entropy of the word distribution).

# %%
plots.coded_texts(res)

# %% [markdown]
# ## Code lengths
#
# For each model, one forward pass gives every token's probability and so the text's code length.
# The model called `tiny` is a two-layer byte-level transformer trained here for
# {glue:md}`cp_train_steps` steps on {glue:md}`cp_train_docs` other texts from the same word
# source, and never on English. It has never attended over more than {glue:md}`cp_tiny_window`
# bytes, so it codes a text in windows of that length, each started afresh. The other models are
# pre-trained language models and code each text in one window.
# The classic compressors' sizes are the real sizes of their output, headers included.

# %%
glue_figure("cp_fig_lengths", plots.code_lengths(res))
plots.code_lengths_table(res)

# %% [markdown]
# ```{glue:figure} cp_fig_lengths
# :name: fig-cp-lengths
#
# Code length in bits per byte of UTF-8 text, for each language model (its summed log-loss), for
# three classic compressors (the size of their output) and, on the generated text, for the true
# source. Raw text costs 8 bits per byte.
# ```
#
# On the English prose, the best model, {glue:md}`cp_best_model_prose`, needs
# {glue:md}`cp_best_model_bpb_prose` bits per byte; the best classic compressor,
# {glue:md}`cp_best_classic_prose`, needs {glue:md}`cp_best_classic_bpb_prose`: the model
# {glue:md}`cp_verdict_prose` it. On the generated text, the best model,
# {glue:md}`cp_best_model_generated`, needs {glue:md}`cp_best_model_bpb_generated` bits per byte
# against {glue:md}`cp_best_classic_bpb_generated` for {glue:md}`cp_best_classic_generated`
# (it {glue:md}`cp_verdict_generated` it), and sits {glue:md}`cp_source_gap` bits per byte above
# the true source, the floor no model can beat on average. A model compresses the data it has
# learned to predict: the tiny model, which has never seen English, pays
# {glue:md}`cp_tiny_prose` bits per byte for the prose, {glue:md}`cp_tiny_vs_raw`.
#
# A short text flatters neither side: the classic compressors pay for their headers and have
# little history to find repeats in, while a pre-trained model brings its whole training corpus
# along. Delétang et al. {cite}`deletang2024language` make the point that an honest comparison
# would add the size of the model to its code length; for a model of millions of parameters that
# term dwarfs any text on this page.
#
# ## Arithmetic coding for real
#
# The code lengths above are sums of log-losses. The arithmetic coder turns the same
# probabilities into an actual bit string, token by token, with one cached forward step per token;
# decoding runs the model again and recovers the tokens from the bits. The
# {prf:ref}`arithmetic coding theorem <thm-arithmetic-length>` promises a length within 2 bits of
# the log-loss, plus a negligible quantization term.

# %%
glue_figure("cp_fig_overhead", plots.coding_overhead(res))
plots.arithmetic_table(res)

# %% [markdown]
# ```{glue:figure} cp_fig_overhead
# :name: fig-cp-overhead
#
# Length of the arithmetic code minus the model's log-loss on the coded tokens, in bits. The
# theorem bounds it by 2 bits (dashed) whatever the length of the text.
# ```
#
# Over {glue:md}`cp_n_coded` coded tokens, the bit strings are between
# {glue:md}`cp_min_overhead` and {glue:md}`cp_max_overhead` bits longer than the log-loss, and
# {glue:md}`cp_round_trips` code decoded back to exactly the tokens it came from; turned back into
# characters, the start of its text came back exactly from {glue:md}`cp_text_round_trips`. At most the first {glue:md}`cp_coded_tokens` tokens of each text are coded, because
# decoding runs the model once per token. The
# log-loss of the token-by-token cached computation and of the single forward pass differ by at
# most {glue:md}`cp_one_pass_diff` bits, float32 rounding; the coder does not care which is
# "right", only that encoder and decoder compute the same one.
#
# ## Where the bits go
#
# A code length is a sum over tokens, so we can see which tokens cost the most.

# %%
glue_figure("cp_fig_tokens", plots.token_costs(res))

# %% [markdown]
# ```{glue:figure} cp_fig_tokens
# :name: fig-cp-tokens
#
# The cost $-\log_2 p_\theta(x_k \mid x_{<k})$ of each token of the prose. For a model that knows
# the language, predictable tokens (the end of a word, common function words) cost a fraction of a
# bit and surprising ones many; a model that does not know it pays a high price almost everywhere.
# ```

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/compression_prediction` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-cp-uniform"
import sympy as sp

n, V = sp.symbols("n V", positive=True)
ex_cp_uniform = {
    "bits": n * sp.log(V, 2),                             # exact when V is a power of two
    "code_v2": lambda tokens: "".join(map(str, tokens)),  # for V = 2, the tokens themselves
}
ex_cp_uniform["bits"]

# %% tags=["solution"] exercise="ex-cp-units"
import math

bits_per_token = 2.3 / math.log(2)
ex_cp_units = {"bits": 300 * bits_per_token, "bits_per_byte": 300 * bits_per_token / 1200}
ex_cp_units

# %% tags=["solution"] exercise="ex-cp-kraft"
from fractions import Fraction

ex_cp_kraft = {
    "first": False,   # 1/2 + 3/4 > 1
    "second": True,   # 1/2 + 1/4 + 2/8 = 1: the code 0, 10, 110, 111
    "distribution": (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8)),
}
ex_cp_kraft
