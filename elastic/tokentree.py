"""The token tree of a dataset (Ji et al., Def. 2.2), its pruning (Remark 3.5 of the arXiv
version) and the tree of a mixture of datasets (the joint-compression formula of §2.2).

A dataset D of token sequences defines a tree whose nodes are prefixes. Node ``u`` carries the
weight ``p(u) = P_{x~D}[x starts with u]`` and an end-of-sequence (EOS) leaf of weight
``P_{x~D}[x = u]``; a node's weight is its EOS leaf plus its children. The paper numbers layers
from ``l = 1`` at the root, so layer ``l`` holds prefixes of length ``l - 1`` (at most ``2^{l-1}``
nodes for a binary vocabulary) and the EOS weight of the ``j``-th node of layer ``l`` is ``p_{lj}``.

The tree is stored as flat numpy arrays, one entry per node, ordered by depth and, within a depth,
by (parent, token): every layer is a contiguous slice. Building addresses each response's node
directly when the complete tree is small and otherwise goes layer by layer; pruning and mixing are
a few ``np.unique`` / ``np.bincount`` calls per layer. No Python object per node either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from elastic.errors import ElasticError

PAD = -1


@dataclass(frozen=True, eq=False)
class TokenTree:
    """Token tree :math:`\\mathcal{T}_D` in flat arrays (node 0 is the root, the empty prefix).

    Attributes:
        vocab_size: number of token values (2 for the paper's binary alphabet).
        parent: parent node id (-1 for the root).
        token: label of the edge from the parent (-1 for the root).
        depth: prefix length, i.e. layer ``l = depth + 1``.
        weight: node weight ``p(u)``; the root weighs 1.
        eos: weight of the node's EOS leaf, ``p_{lj}`` in Thm 2.5.

    Chapters: mass_distribution.
    """

    vocab_size: int
    parent: np.ndarray
    token: np.ndarray
    depth: np.ndarray
    weight: np.ndarray
    eos: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    @property
    def n_layers(self) -> int:
        """Number of layers ``d`` (the root is layer 1)."""
        return int(self.depth[-1]) + 1

    def layer(self, l: int) -> slice:
        """Node ids of layer ``l`` (1-based, as in the paper) as a slice."""
        start, stop = np.searchsorted(self.depth, [l - 1, l])
        return slice(int(start), int(stop))

    def leaves(self) -> np.ndarray:
        """Ids of nodes whose EOS leaf has positive weight: the symbols Huffman coding sees."""
        return np.flatnonzero(self.eos > 0)

    def leaf_mass(self) -> float:
        """Total EOS weight; 1 for every tree built here, pruned or not."""
        return float(self.eos.sum())

    def prefix(self, node: int) -> tuple[int, ...]:
        """The token sequence spelled by the path from the root to ``node``."""
        path = []
        while node > 0:
            path.append(int(self.token[node]))
            node = int(self.parent[node])
        return tuple(reversed(path))

    def children(self, node: int) -> np.ndarray:
        nxt = self.layer(int(self.depth[node]) + 2)
        ids = np.arange(nxt.start, nxt.stop)
        return ids[self.parent[nxt] == node]

    def prune(self, d: int) -> TokenTree:
        """Keep the top ``d`` layers (Def. 2.4a): every removed node's weight goes to the EOS
        leaf of its ancestor in layer ``d`` (Remark 3.5), so the EOS mass stays 1."""
        if d < 1:
            raise ElasticError(f"pruning depth d={d} must be >= 1 (d counts layers, the root is layer 1)")
        keep = self.layer(d).stop if d <= self.n_layers else self.n_nodes
        eos = self.eos[:keep].copy()
        last = self.depth[:keep] == d - 1
        eos[last] = self.weight[:keep][last]
        return TokenTree(
            self.vocab_size, self.parent[:keep], self.token[:keep], self.depth[:keep],
            self.weight[:keep], eos,
        )

    def to_dict(self) -> dict:
        return {
            "vocab_size": self.vocab_size,
            **{k: getattr(self, k).tolist() for k in ("parent", "token", "depth", "weight", "eos")},
        }

    @classmethod
    def from_dict(cls, data: dict) -> TokenTree:
        ints = {k: np.asarray(data[k], dtype=np.int64) for k in ("parent", "token", "depth")}
        floats = {k: np.asarray(data[k], dtype=np.float64) for k in ("weight", "eos")}
        return cls(int(data["vocab_size"]), **ints, **floats)


def pad_sequences(sequences: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """A list of token sequences as a padded ``(N, max_len)`` array (pad -1) and their lengths."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    tokens = np.full((len(sequences), int(lengths.max(initial=0))), PAD, dtype=np.int64)
    for i, seq in enumerate(sequences):
        tokens[i, : lengths[i]] = seq
    return tokens, lengths


def token_tree(
    sequences: Sequence[Sequence[int]] | np.ndarray,
    vocab_size: int,
    lengths: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    depth: int | None = None,
) -> TokenTree:
    """Build :math:`\\mathcal{T}_D` from token sequences (Def. 2.2).

    Args:
        sequences: a list of token sequences, or a padded ``(N, L)`` int array with ``lengths``.
        vocab_size: tokens must lie in ``[0, vocab_size)``.
        lengths: sequence lengths when ``sequences`` is a padded array.
        weights: per-sequence weights (normalised to sum 1); uniform ``1/N`` by default.
        depth: if given, build the tree already pruned to ``depth`` layers (same result as
            ``token_tree(...).prune(depth)``, without building the deeper layers).

    Chapters: token_tree, compression_protocol, joint_compression, mass_distribution.
    """
    if lengths is None:
        tokens, lengths = pad_sequences(sequences)
    else:
        # contiguous and writable, as torch.from_numpy needs (a copy only for views and read-only arrays)
        tokens = np.require(sequences, dtype=np.int64, requirements=["C", "W"])
        lengths = np.asarray(lengths, dtype=np.int64)
        if tokens.ndim != 2 or len(tokens) != len(lengths):
            raise ElasticError("a padded array needs shape (N, L) and N lengths: pass a list instead")
    n = len(lengths)
    if n == 0:
        raise ElasticError("cannot build a token tree of an empty dataset: pass at least one sequence")
    if vocab_size < 1:
        raise ElasticError(f"vocab_size={vocab_size} must be >= 1")
    if depth is not None and depth < 1:
        raise ElasticError(f"pruning depth d={depth} must be >= 1")
    if lengths.min() < 0:
        raise ElasticError(f"a length {int(lengths.min())} is negative: lengths count tokens, pass them >= 0")
    if lengths.max() > tokens.shape[1]:
        raise ElasticError(f"a length {int(lengths.max())} exceeds the {tokens.shape[1]} padded columns: "
                           "pass lengths that fit the array")
    # uniform weights are counted (exact k/N) rather than summed as floats
    w = None if weights is None else _normalised(weights, n)
    max_depth = int(lengths.max()) if depth is None else min(int(lengths.max()), depth - 1)
    tree = _addressed_tree(tokens, lengths, w, vocab_size, max_depth)
    return tree if tree is not None else _layered_tree(tokens, lengths, w, vocab_size, max_depth)


def _addressed_tree(tokens, lengths, w, vocab_size: int, d: int) -> TokenTree | None:
    """The tree by direct addressing when the complete ``V``-ary tree of depth ``d`` has at most
    about two nodes per response; ``None`` when it is larger, or when some row does not read as
    its tokens followed by pads (a pad inside a response, a token after it), for the layered build.

    A response :math:`x = (t_0, \\dots, t_{c-1})` gets the bijective base-``V`` numeral
    :math:`f(x) = \\sum_i (t_i + 1) V^i`, which maps the strings of length at most ``d`` one to one
    onto ``0 .. S-1``, :math:`S = \\sum_{c \\le d} V^c`, layer by layer. With the pad as digit 0 it
    is one matrix-vector product over the padded array, and counting the ``f`` gives every EOS
    weight without sorting. A digit 0 inside a row can alias another string, so the same product
    carries the base-``(V+1)`` numeral ``g(x)`` (unique for digits in ``[0, V]``) and each row is
    checked against the ``g`` and the depth of the node it addressed.
    """
    base = vocab_size + 1
    layer_sizes = [vocab_size**c for c in range(d + 1)]
    n_nodes = sum(layer_sizes)
    # one int64 per row holds (f, g, depth) as f + f_bound * (g + g_bound * depth)
    f_bound, g_bound = 1 << (n_nodes - 1).bit_length(), base**d
    if d == 0 or n_nodes > 2 * len(lengths) + 1024 or f_bound * g_bound * (d + 1) >= 2**63:
        return None
    # torch: min and max in one pass and the int64 product on all cores (numpy takes 3 passes,
    # single-threaded). Checking every column, not only the first d, may send a valid input
    # to the layered build, never a wrong one through here.
    lo, hi = torch.aminmax(torch.from_numpy(tokens))
    if lo < PAD or hi >= vocab_size:
        return None
    scale = np.array([vocab_size**i + f_bound * base**i for i in range(d)], dtype=np.int64)
    key = (torch.from_numpy(tokens[:, :d]) @ torch.from_numpy(scale)).numpy()
    key += int(scale.sum()) + f_bound * g_bound * np.minimum(lengths, d)
    f = key & (f_bound - 1)
    # g of every node in f order: layer c is ordered by (t_{c-1}, rank of the parent in layer c-1)
    g, digits = [np.zeros(1, np.int64)], np.arange(1, base)
    for c in range(1, d + 1):
        g.append(((digits * base ** (c - 1))[:, None] + g[-1]).ravel())
    depth = np.repeat(np.arange(d + 1), layer_sizes)
    node_key = np.arange(n_nodes) + f_bound * (np.concatenate(g) + g_bound * depth)
    if not (node_key[f] == key).all():
        return None

    starts = np.cumsum([0] + layer_sizes)

    def by_layer(counts):  # (EOS, node weight) per layer: a node weighs its EOS leaf plus its children
        eos = [counts[starts[c] : starts[c + 1]] for c in range(d + 1)]
        weight = [layer.copy() for layer in eos]
        for c in range(d, 0, -1):
            weight[c - 1] += weight[c].reshape(vocab_size, -1).sum(0)
        return eos, weight

    # responses per node, as integers: a node exists when a response reaches it (even of weight 0)
    ending, reached = by_layer(np.bincount(f, minlength=n_nodes))
    if w is None:  # exact k/N, as the layered build
        eos, weight = ([layer / len(lengths) for layer in x] for x in (ending, reached))
    else:
        eos, weight = by_layer(np.bincount(f, w, minlength=n_nodes))
    # number the reached nodes in the layered order, by (parent, token)
    layer_keys = []
    node_weights, node_eos = [weight[0]], [eos[0]]
    node_id, offset, layer_start = np.zeros(1, np.int64), 1, 0
    for c in range(1, d + 1):
        rank = np.flatnonzero(reached[c])
        keys = node_id[rank % layer_sizes[c - 1]] * vocab_size + rank // layer_sizes[c - 1]
        unique, inverse = _unique_keys(keys, layer_start * vocab_size, offset * vocab_size)
        node_id = np.zeros(layer_sizes[c], np.int64)
        node_id[rank] = offset + inverse
        layer_keys.append(unique)
        for out, values in ((node_weights, weight[c]), (node_eos, eos[c])):
            out.append(np.empty(len(unique)))
            out[-1][inverse] = values[rank]
        layer_start, offset = offset, offset + len(unique)
    return _assemble(vocab_size, layer_keys, node_weights, node_eos)


def _layered_tree(tokens, lengths, w, vocab_size: int, max_depth: int) -> TokenTree:
    """The tree one layer at a time: the responses reaching layer ``l`` are keyed by (node in
    layer ``l - 1``, token) and numbered by rank; any vocabulary and depth."""
    n = len(lengths)
    node_of = np.zeros(n, dtype=np.int64)
    layer_keys = []
    node_weights = [np.array([1.0])]
    ends_here = lengths == 0 if max_depth > 0 else np.ones(n, dtype=bool)
    eos = [np.array([ends_here.mean() if w is None else w[ends_here].sum()])]
    # Longest responses first: the responses that reach layer l are then a leading slice of the
    # per-response state (node_of, w) and those that end there its tail, so no masks are built.
    # A small int dtype makes the stable sort a radix sort, O(N).
    clipped = np.minimum(lengths, max_depth).astype(np.int16 if max_depth < 2**15 else np.int64)
    order = np.argsort(-clipped, kind="stable")
    if w is not None:
        w = w[order]
    # n_active[l - 1] responses reach layer l; those in [n_active[l], n_active[l - 1]) end there
    n_active = np.searchsorted(-clipped[order], -np.arange(1, max_depth + 2), side="right")
    offset, layer_start = 1, 0
    for l in range(1, max_depth + 1):
        active = slice(0, int(n_active[l - 1]))
        column = tokens[:, l - 1][order[active]]
        if column.min() < 0 or column.max() >= vocab_size:  # only the tokens the tree reads
            bad = int(column.max()) if column.max() >= vocab_size else int(column.min())
            raise ElasticError(f"token id {bad} is outside [0, {vocab_size}): pass a larger vocab_size")
        keys = node_of[active] * vocab_size + column
        unique, inverse = _unique_keys(keys, layer_start * vocab_size, offset * vocab_size)
        layer_start = offset
        node_of[active] = offset + inverse
        stops = slice(int(n_active[l]), None)
        layer_keys.append(unique)
        if w is None:
            node_weights.append(np.bincount(inverse, minlength=len(unique)) / n)
            eos.append(np.bincount(inverse[stops], minlength=len(unique)) / n)
        else:
            node_weights.append(np.bincount(inverse, w[active], minlength=len(unique)))
            eos.append(np.bincount(inverse[stops], w[active][stops], minlength=len(unique)))
        offset += len(unique)
    return _assemble(vocab_size, layer_keys, node_weights, eos)


def _unique_keys(keys: np.ndarray, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[low, high)``. When that range is
    not much larger than ``len(keys)`` a presence table and a cumulative sum replace the sort
    (O(n) instead of O(n log n): the bulk of building a large tree)."""
    span = high - low
    if span > 4 * len(keys) + 1024:
        return np.unique(keys, return_inverse=True)
    present = np.zeros(span, dtype=bool)
    present[keys - low] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[keys - low]


def _assemble(vocab_size, layer_keys, node_weights, eos) -> TokenTree:
    """A tree from its layers below the root: ``layer_keys[l - 1]`` holds the sorted keys
    ``parent id * V + token`` of the nodes at depth ``l``; ``node_weights`` and ``eos`` hold one
    array per depth, the root's first."""
    parent = np.concatenate([[-1], *(k // vocab_size for k in layer_keys)]).astype(np.int64)
    token = np.concatenate([[-1], *(k % vocab_size for k in layer_keys)]).astype(np.int64)
    depth = np.repeat(np.arange(len(layer_keys) + 1), [1, *map(len, layer_keys)])
    return TokenTree(vocab_size, parent, token, depth, np.concatenate(node_weights), np.concatenate(eos))


def _normalised(weights, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
        raise ElasticError(f"weights must be {n} non-negative numbers with a positive sum")
    return w / w.sum()


def mixture_weights(sizes: Sequence[int]) -> np.ndarray:
    """``|D_i| / sum_j |D_j|``: the weight of each dataset in the joint token tree.

    Chapters: token_tree. Paper: §2.2.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if sizes.ndim != 1 or len(sizes) == 0 or (sizes <= 0).any():
        raise ElasticError(f"dataset sizes must be positive, got {sizes.tolist()}")
    return sizes / sizes.sum()


def mixture(trees: Sequence[TokenTree], sizes: Sequence[int]) -> TokenTree:
    """The token tree of ``D = D_1 ∪ ... ∪ D_N`` from the trees of its parts (§2.2):

    .. math:: p^{D}_{lj} = \\frac{\\sum_i p^{D_i}_{lj} |D_i|}{\\sum_i |D_i|}

    for every node weight and EOS weight; a prefix missing from a tree weighs 0 there.

    Chapters: token_tree.
    """
    if len(trees) != len(sizes):
        raise ElasticError(f"{len(trees)} trees but {len(sizes)} sizes: give one size per dataset")
    mix = mixture_weights(sizes)
    _, layers = prefix_union(trees)
    node_weights = [np.array([sum(m * t.weight[0] for m, t in zip(mix, trees))])]
    eos = [np.array([sum(m * t.eos[0] for m, t in zip(mix, trees))])]
    for slices, unique, inverse in layers:
        for out, attr in ((node_weights, "weight"), (eos, "eos")):
            values = np.concatenate([m * getattr(t, attr)[s] for m, t, s in zip(mix, trees, slices)])
            out.append(np.bincount(inverse, values, minlength=len(unique)))
    return _assemble(trees[0].vocab_size, [unique for _, unique, _ in layers], node_weights, eos)


def prefix_union(trees: Sequence[TokenTree]) -> tuple[list[np.ndarray], list[tuple[list[slice], np.ndarray, np.ndarray]]]:
    """Match the nodes of several trees by prefix, layer by layer: the union of their prefixes.

    Returns ``(ids, layers)``: ``ids[i][n]`` is the id of node ``n`` of tree ``i`` in the union
    (the root is 0; ids run layer by layer, in key order), and for each layer below the root
    ``(slices, keys, inverse)``: each tree's slice of that layer, the union's sorted keys
    ``parent id * V + token`` and, for the layer's nodes of all trees in turn, the index of their
    key. :func:`mixture` (§2.2) and :func:`elastic.coding.aligned_leaves` are built on it.
    """
    vocab = {t.vocab_size for t in trees}
    if len(vocab) != 1:
        raise ElasticError(f"trees have different vocabularies {sorted(vocab)}: rebuild with one vocab_size")
    (vocab_size,) = vocab
    ids = [np.zeros(t.n_nodes, dtype=np.int64) for t in trees]
    layers = []
    offset = 1
    for l in range(2, max(t.n_layers for t in trees) + 1):
        slices = [t.layer(l) for t in trees]
        keys = np.concatenate([g[t.parent[s]] * vocab_size + t.token[s] for g, t, s in zip(ids, trees, slices)])
        unique, inverse = np.unique(keys, return_inverse=True)
        start = 0
        for g, s in zip(ids, slices):
            g[s] = offset + inverse[start : start + s.stop - s.start]
            start += s.stop - s.start
        layers.append((slices, unique, inverse))
        offset += len(unique)
    return ids, layers
