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
# # The token tree in code
#
# This notebook builds the token trees of {doc}`../book/token_tree` with `elastic.tokentree`:
# first a dataset small enough to check by hand, then a generated corpus and its pruning, then the
# tree of a mixture of two datasets of different sizes. Every number on this page is read from
# `results/<preset>/token_tree.json`, which the first code cell writes.

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
res = run("token_tree", globals())

# %% [markdown]
# ## A tree you can check by hand
#
# The dataset below has eight binary responses, one of them empty. Each circle is a prefix, with
# its weight above it; each square is an EOS leaf, with the probability of the response that ends
# there. A node's weight is its EOS leaf plus its children, and the EOS leaves add up to one.

# %%
print("responses:", plots.example_responses(res))
glue_figure("fig_example_tree", plots.example_tree(res))

# %% [markdown]
# ```{glue:figure} fig_example_tree
# :name: fig-example-tree
#
# Left: the token tree of the eight responses. Right: the same tree pruned to its top two layers;
# the weight of every removed node has moved to the EOS leaf of its ancestor in layer 2, so the
# leaves still add up to one.
# ```
#
# ## Pruning a generated corpus
#
# Next, a corpus of binary responses from a source whose tokens are 1 with probability
# {glue:md}`p_one` and which stops after each token with a fixed probability.

# %%
glue_figure("fig_pruning", plots.pruning_sizes(res))

# %% [markdown]
# The {glue:md}`n_sequences` responses make a tree of {glue:md}`n_nodes` nodes in
# {glue:md}`n_layers` layers, built in {glue:md}`build_ms` ms. Pruning keeps the top $d$ layers
# and moves the rest of the mass to the EOS leaves of layer $d$: across all depths the leaf mass
# differs from one by at most {glue:md}`max_mass_error` (floating-point rounding), and for
# {glue:md}`all_direct` depths the pruned tree equals a tree built directly to that depth.
# Building the same data with a vocabulary of {glue:md}`general_vocab` tokens instead of two
# changes no weight by more than {glue:md}`vocab_diff`.
#
# ```{glue:figure} fig_pruning
# :name: fig-pruning
#
# Size of the pruned tree against the pruning depth. Near the root every prefix occurs and the
# tree is the full binary tree; deeper down the finite corpus leaves most prefixes unseen.
# ```
#
# ## The tree of a mixture
#
# Two datasets of very different sizes, one rich in zeros and one rich in ones, are compressed
# together. The joint tree weighs each dataset by its share of the data.

# %%
glue_figure("fig_mixture", plots.mixture_leaves(res))

# %% [markdown]
# With {glue:md}`mix_sizes` responses, the weights are {glue:md}`mix_weights`: the joint tree
# sits almost on top of the larger dataset. Mixing the two pruned trees with these weights gives
# the same tree as pooling the raw responses, up to {glue:md}`mix_pooled_diff`.
#
# ```{glue:figure} fig_mixture
# :name: fig-mixture
#
# Leaf probabilities of two datasets and of their joint tree. The joint tree is the
# size-weighted average of its parts, so the small dataset barely moves it: the seed of the
# elasticity argument in the chapters that follow.
# ```

# %% [markdown] tags=["solution"]
# ## Solutions to the exercises
#
# Each folded cell answers one exercise of {doc}`../book/token_tree` the way its
# solution there does, in the form that `elastic.exercises.check` reads; the tests check every
# one against the answer key, which the library computes. Student notebooks (`python -m elastic
# student-notebooks`) leave these cells out and give each exercise an answer cell and a check.

# %% tags=["solution"] exercise="ex-token-tree-hand"
from fractions import Fraction

# prefix: (share of the responses {0, 01, 01, 1} that start with it, share equal to it)
ex_token_tree_hand = {
    "weights": {"": (1, 0), "0": (Fraction(3, 4), Fraction(1, 4)), "1": (Fraction(1, 4), Fraction(1, 4)),
                "01": (Fraction(1, 2), Fraction(1, 2))},
    "changed": {"0"},  # pruning removes node 01; its weight moves into the EOS leaf of node 0
}
ex_token_tree_hand

# %% tags=["solution"] exercise="ex-token-tree-mixture"
from fractions import Fraction

ex_token_tree_mixture = Fraction(10, 1000 + 10)  # the weight of D2 times |p^D2 - p^D1| <= 1
ex_token_tree_mixture
