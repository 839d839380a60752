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
import matplotlib.pyplot as plt
import numpy as np

from elastic import plots, results
from elastic.experiments import compression_prediction
from elastic.notebook import configure, glue_figure, glue_text

plots.style()
cfg = configure("compression_prediction", globals())
compression_prediction.run(cfg)
record = results.load("compression_prediction", cfg.preset)
res = record["data"]
lengths = res["lengths"]

# %% [markdown]
# ## The texts
#
# The first text is a paragraph of plain English written for this book. The second is drawn from
# a source we control: {glue:md}`cp_vocab` made-up words, picked independently with Zipf
# probabilities and separated by spaces. Because we know that source exactly, we also know the
# shortest code any compressor can expect to reach on it: {glue:md}`cp_source_bpb` bits per byte
# for this draw ({glue:md}`cp_entropy_word` bits per word, the entropy of the word distribution).

# %%
for name, text in res["texts"].items():
    print(f"{name} ({res['n_bytes'][name]} bytes): {text[:160]}{' ...' if len(text) > 160 else ''}\n")
source = next(r for r in lengths if r["kind"] == "source")
glue_text("cp_vocab", len(res["source"]["words"]))
glue_text("cp_source_bpb", f"{source['bits_per_byte']:.3f}")
glue_text("cp_entropy_word", f"{res['source']['entropy_bits_per_word']:.2f}")

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
def row(r):
    per_token = f"{r['bits_per_token']:8.3f}" if r["kind"] == "model" else "       -"
    return f"{r['text']:10} {r['coder']:28} {r['bits']:10.1f} {r['n_tokens']:7d} {per_token} {r['bits_per_byte']:9.3f}"


print(f"{'text':10} {'coder':28} {'bits':>10} {'tokens':>7} {'bits/tok':>8} {'bits/byte':>9}")
for r in sorted(lengths, key=lambda r: (r["text"], r["bits_per_byte"])):
    print(row(r))

texts = list(res["texts"])
coders = list(dict.fromkeys(r["coder"] for r in lengths))
bpb = {(r["coder"], r["text"]): r["bits_per_byte"] for r in lengths}
fig, ax = plt.subplots(figsize=(7, 3.6))
width = 0.8 / len(coders)
x = np.arange(len(texts))
for i, coder in enumerate(coders):
    values = [bpb.get((coder, t), np.nan) for t in texts]
    ax.bar(x + i * width, values, width, label=coder, color="0.25" if coder == "true source" else None)
ax.axhline(8, color="0.5", ls=":", lw=1)
ax.text(x[0] - 0.1, 8, "raw UTF-8", va="bottom", ha="left", fontsize=8, color="0.4")
ax.set_xticks(x + width * (len(coders) - 1) / 2, texts)
ax.set_ylabel("bits per byte")
ax.legend(fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.12))
glue_figure("cp_fig_lengths", fig)

models_run = [c for c in coders if any(r["coder"] == c and r["kind"] == "model" for r in lengths)]
best_classic = {t: min((r for r in lengths if r["text"] == t and r["kind"] == "classic"),
                       key=lambda r: r["bits_per_byte"]) for t in texts}
best_model = {t: min((r for r in lengths if r["text"] == t and r["kind"] == "model"),
                     key=lambda r: r["bits_per_byte"]) for t in texts}
glue_text("cp_train_steps", res["training"]["steps"])
glue_text("cp_train_docs", f"{res['training']['documents']:,}")
for t in texts:
    glue_text(f"cp_best_model_{t}", f"`{best_model[t]['coder']}`")
    glue_text(f"cp_best_model_bpb_{t}", f"{best_model[t]['bits_per_byte']:.3f}")
    glue_text(f"cp_best_classic_{t}", best_classic[t]["coder"])
    glue_text(f"cp_best_classic_bpb_{t}", f"{best_classic[t]['bits_per_byte']:.3f}")
    beats = best_model[t]["bits_per_byte"] < best_classic[t]["bits_per_byte"]
    glue_text(f"cp_verdict_{t}", "beats" if beats else "does not beat")
gap = best_model["generated"]["bits_per_byte"] - source["bits_per_byte"]
glue_text("cp_source_gap", f"{gap:.3f}")
tiny_prose = bpb.get(("tiny", "prose"), np.nan)
glue_text("cp_tiny_prose", f"{tiny_prose:.2f}")
glue_text("cp_tiny_vs_raw",
          "more than the 8 bits of the raw bytes: a model that is confidently wrong costs more than "
          "no model at all" if tiny_prose > 8 else "far more than a model of English needs")
glue_text("cp_tiny_window", next((a["window"] for a in res["arithmetic"] if a["model"] == "tiny"), "n/a"))

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
arith = res["arithmetic"]
seconds = record["provenance"]["run"]["arithmetic_seconds"]  # this run's timings, not data
print(f"{'model':24} {'text':10} {'tokens':>6} {'coded bits':>10} {'log-loss bits':>13} "
      f"{'overhead':>8} {'round trip':>10} {'enc s':>6} {'dec s':>6}")
for a, t in zip(arith, seconds):
    print(f"{a['model']:24} {a['text']:10} {a['n_tokens']:6d} {a['n_bits']:10d} {a['ideal_bits']:13.2f} "
          f"{a['overhead_bits']:8.2f} {str(a['tokens_round_trip']):>10} {t['encode_seconds']:6.1f} "
          f"{t['decode_seconds']:6.1f}")

fig, ax = plt.subplots(figsize=(6, 3.2))
labels = [f"{a['model']}\n{a['text']}" for a in arith]
ax.bar(range(len(arith)), [a["overhead_bits"] for a in arith], color="#0072B2")
ax.axhline(2, color="#D55E00", ls="--", label="bound: 2 bits")
ax.axhline(0, color="0.3", lw=0.8)
ax.set_xticks(range(len(arith)), labels, fontsize=8)
ax.set_ylabel("coded bits − log-loss bits")
ax.legend(fontsize=8)
glue_figure("cp_fig_overhead", fig)

glue_text("cp_n_coded", f"{sum(a['n_tokens'] for a in arith):,}")
glue_text("cp_coded_tokens", f"{cfg.coded_tokens:,}")
glue_text("cp_max_overhead", f"{max(a['overhead_bits'] for a in arith):.2f}")
glue_text("cp_min_overhead", f"{min(a['overhead_bits'] for a in arith):.2f}")
glue_text("cp_round_trips", "every" if all(a["tokens_round_trip"] for a in arith) else "NOT every")
glue_text("cp_text_round_trips", f"{sum(a['text_round_trip'] for a in arith)} of {len(arith)}")
glue_text("cp_one_pass_diff", f"{max(abs(a['ideal_bits'] - a['one_pass_bits']) for a in arith):.1e}")

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
# characters, {glue:md}`cp_text_round_trips` decoded token sequences are exactly the start of
# their text. At most the first {glue:md}`cp_coded_tokens` tokens of each text are coded, because
# decoding runs the model once per token. The
# log-loss of the token-by-token cached computation and of the single forward pass differ by at
# most {glue:md}`cp_one_pass_diff` bits, float32 rounding; the coder does not care which is
# "right", only that encoder and decoder compute the same one.
#
# ## Where the bits go
#
# A code length is a sum over tokens, so we can see which tokens cost the most.

# %%
fig, axes = plt.subplots(len(models_run), 1, figsize=(7, 1.9 * len(models_run)), squeeze=False)
for ax, model in zip(axes[:, 0], models_run):
    bits = np.asarray(res["token_bits"][f"{model}/prose"], dtype=float)
    ax.plot(bits, lw=0.8)
    ax.axhline(bits.mean(), color="#D55E00", ls="--", lw=1, label=f"mean {bits.mean():.2f} bits/token")
    ax.set_ylabel("bits")
    ax.set_title(f"{model} on the prose", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
axes[-1, 0].set_xlabel("token position")
fig.tight_layout()
glue_figure("cp_fig_tokens", fig)

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
