"""The compression protocol of Ji et al. (Def. 2.4): prune the token tree to its top ``d`` layers,
then Huffman-code its EOS leaves; the ideal code length (Thm 2.5), the compression rate
:math:`\\gamma` of one dataset under a (possibly joint) code, and both published normalized
compression rates (ACL Def. 3.1 and arXiv Def. 3.12).

Reading chosen where the paper is ambiguous (the book page explains each):

* *Code length of a leaf.* "Ideal" lengths are ``-log2 p`` (what Thm 2.5 sums); Huffman lengths
  are the integer lengths the protocol really emits. Every rate takes ``lengths="ideal"`` (default)
  or ``"huffman"``.
* *Compression rate of* ``D_i`` *under joint compression of* ``D``. The code is built on the
  pruned leaves of the joint tree, and ``D_i``'s responses are coded with it, so the expected
  length of one segment is the cross-entropy ``-sum_j p^{D_i}_j log2 p^D_j`` (arXiv Eq. 6 and the
  first line of the proofs of Thm A.9/B.7), not ``D_i``'s own entropy.
* *Per-token rate.* The paper's ``E_x[E[L(x)] / |x|]`` is garbled and undefined for the empty
  response; we divide expected code length by expected response length (compressed size over raw
  size, as in Deletang et al.), which has the same ``Theta(H / d)`` behaviour.
* *Normalized rates.* Both are computed from per-segment cross-entropies, as in the proofs where
  they are used: ACL ``log2 M - CE_i`` and arXiv ``(CE_i - log2 V^{d-1}) / (H_D - log2 V^{d-1})``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from elastic.errors import ElasticError
from elastic.tokentree import TokenTree, mixture, prefix_union

LENGTHS = ("ideal", "huffman")
FORMS = ("acl", "arxiv")


def _probabilities(p, name: str = "p") -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.isfinite(p).all() or (p < 0).any():
        raise ElasticError(f"{name} must be a non-empty 1-D array of non-negative finite numbers")
    if not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-6):
        raise ElasticError(f"{name} sums to {p.sum():.6g}, not 1: divide by its sum first")
    return p


def entropy(p) -> float:
    """Shannon entropy ``-sum p log2 p`` in bits; zero entries contribute nothing.

    Chapters: compression_protocol. Paper: Thm 2.5.
    """
    p = _probabilities(p)
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum())


def huffman_lengths(p) -> np.ndarray:
    """Codeword lengths of a Huffman code for probabilities ``p`` (all > 0).

    The two-queue Huffman algorithm, batched: with the live weights sorted, the sequential
    algorithm merges ``(x1, x2)``, then ``(x3, x4)`` as long as ``x4 <= x1 + x2`` (every new sum
    is at least ``x1 + x2``), and so on; all those pairs are merged in one numpy step. The minimum
    weight at least doubles every two rounds, so there are ``O(log(p_max / p_min))`` rounds.
    A single symbol gets the empty codeword (length 0).

    Chapters: compression_protocol. Paper: Def. 2.4.
    """
    p = _probabilities(p)
    if (p <= 0).any():
        raise ElasticError("Huffman coding needs every probability > 0: drop zero-probability symbols")
    n = len(p)
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    weights, ids = p.copy(), np.arange(n)
    next_id, rounds = n, []
    while len(weights) > 1:
        order = np.argsort(weights, kind="stable")
        weights, ids = weights[order], ids[order]
        fits = np.searchsorted(weights, weights[0] + weights[1], side="right")
        k = max(1, min(fits, len(weights)) // 2)
        new = np.arange(next_id, next_id + k)
        parent[ids[0 : 2 * k : 2]] = new
        parent[ids[1 : 2 * k : 2]] = new
        rounds.append(ids[: 2 * k])
        weights = np.concatenate([weights[2 * k :], weights[0 : 2 * k : 2] + weights[1 : 2 * k : 2]])
        ids = np.concatenate([ids[2 * k :], new])
        next_id += k
    depth = np.zeros(2 * n - 1, dtype=np.int64)
    for children in reversed(rounds):  # parents are made in later rounds: fill top-down
        depth[children] = depth[parent[children]] + 1
    return depth[:n]


def huffman_code(p) -> list[str]:
    """Prefix-free binary codewords of a Huffman code for ``p``: the canonical code with the
    lengths of :func:`huffman_lengths` (shorter codewords first, ties in input order)."""
    lengths = huffman_lengths(p)
    order = np.lexsort((np.arange(len(lengths)), lengths))
    codes = [""] * len(lengths)
    code, prev = 0, int(lengths[order[0]])
    for i in order:
        length = int(lengths[i])
        code <<= length - prev
        codes[i] = format(code, f"0{length}b") if length else ""
        code, prev = code + 1, length
    return codes


def kraft_sum(lengths) -> Fraction:
    """Kraft's sum ``sum_x 2^-l(x)`` of binary codeword lengths, exactly: a prefix-free code with
    these lengths exists if and only if it is at most 1 (Kraft-McMillan).

    Chapters: compression_prediction.
    """
    lengths = [int(n) for n in lengths]
    if not lengths or min(lengths) < 0:
        raise ElasticError(f"codeword lengths must be a non-empty sequence of integers >= 0, got {lengths}")
    return sum(Fraction(1, 2**n) for n in lengths)


def dyadic_distribution(lengths) -> tuple[Fraction, ...]:
    """``P(x) = 2^-l(x)``: the one distribution for which the codeword lengths ``l`` are optimal,
    their expected length then being its entropy. Lengths whose Kraft sum is not 1 have none.

    Chapters: compression_prediction.
    """
    total = kraft_sum(lengths)
    if total != 1:
        raise ElasticError(f"the Kraft sum of {tuple(lengths)} is {total}, not 1: no distribution makes these "
                           "lengths optimal (a shorter codeword is free, or no prefix-free code has them)")
    return tuple(Fraction(1, 2 ** int(n)) for n in lengths)


def _check_depth(d: int) -> None:
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise ElasticError(f"pruning depth d={d!r} must be an int >= 2 (layer 1 is the bare root)")


def leaf_probabilities(tree: TokenTree, d: int) -> np.ndarray:
    """The Huffman alphabet of Def. 2.4: EOS weights ``p_lj`` of the tree pruned to ``d`` layers.

    Chapters: compression_protocol, joint_compression.
    """
    _check_depth(d)
    eos = tree.prune(d).eos
    return eos[eos > 0]


def ideal_code_length(tree: TokenTree, d: int, n_tokens: int) -> float:
    """Thm 2.5: expected code length, in bits, of a response of ``n_tokens`` tokens,

    .. math:: E[L(x)] = \\lceil |x| / d \\rceil \\, \\Big(-\\sum_{l=1}^{d} \\sum_j p_{lj} \\log_2 p_{lj}\\Big)

    with ``p_lj`` the EOS weights of ``tree`` pruned to ``d`` layers. The formula assumes every
    segment is a fresh draw from the pruned tree's leaf distribution (exact for memoryless sources;
    the book measures the gap otherwise).
    """
    if n_tokens < 0:
        raise ElasticError(f"n_tokens={n_tokens} must be >= 0")
    h = entropy(leaf_probabilities(tree, d))
    return -(-int(n_tokens) // d) * h


def parsed_code_lengths(tree: TokenTree, d: int, sequences, lengths: str = "ideal") -> np.ndarray:
    """Bits spent on each response when the protocol really runs on a stream: the pruned tree
    parses the response into segments, each coded by its leaf in ``tree`` pruned to ``d`` layers.
    A segment that reaches layer ``d`` (``d - 1`` tokens: a ``d``-layer tree spells no more) is
    coded by that node's leaf and parsing restarts at the root; a response that ends before
    layer ``d`` is coded by the EOS leaf where it ends, possibly the root's (so a response of
    ``n`` tokens takes ``floor(n / (d - 1)) + 1`` segments and the code is self-delimiting).
    This is the brute-force check of Thm 2.5 (a Python loop: small inputs only).

    Chapters: compression_protocol.
    """
    _check_depth(d)
    if lengths not in LENGTHS:
        raise ElasticError(f"lengths={lengths!r}; valid choices: {', '.join(LENGTHS)}")
    pruned = tree.prune(d)
    leaves = pruned.leaves()
    probs = pruned.eos[leaves]
    bits = -np.log2(probs) if lengths == "ideal" else huffman_lengths(probs / probs.sum())
    code = {pruned.prefix(int(n)): float(b) for n, b in zip(leaves, bits)}
    out = np.zeros(len(sequences))
    for i, seq in enumerate(sequences):
        seq = tuple(int(t) for t in seq)
        cut = len(seq) - len(seq) % (d - 1)
        segments = [seq[k : k + d - 1] for k in range(0, cut, d - 1)] + [seq[cut:]]
        try:
            out[i] = sum(code[s] for s in segments)
        except KeyError as exc:
            raise ElasticError(f"segment {exc.args[0]} is not a leaf of the pruned tree: "
                               "code responses drawn from the tree's own dataset") from None
    return out


def aligned_leaves(trees: list[TokenTree], d: int) -> np.ndarray:
    """EOS weights of ``trees``, each pruned to ``d`` layers, on a common set of prefixes: row
    ``i`` is tree ``i``, one column per prefix present in any tree (0 where a tree lacks it)."""
    trees = [t.prune(d) for t in trees]
    ids, layers = prefix_union(trees)
    out = np.zeros((len(trees), 1 + sum(len(unique) for _, unique, _ in layers)))
    for row, g, t in zip(out, ids, trees):
        row[g] = t.eos
    return out


def cross_entropy(tree: TokenTree, d: int, code_tree: TokenTree | None = None,
                  lengths: str = "ideal") -> float:
    """Expected bits per segment when ``tree``'s pruned leaves are coded with the code built on
    ``code_tree``'s pruned leaves: ``-sum_j p^{tree}_j log2 p^{code}_j`` for ``lengths="ideal"``,
    ``sum_j p^{tree}_j len_j`` with Huffman lengths for ``lengths="huffman"``."""
    _check_depth(d)
    if lengths not in LENGTHS:
        raise ElasticError(f"lengths={lengths!r}; valid choices: {', '.join(LENGTHS)}")
    p, q = aligned_leaves([tree, tree if code_tree is None else code_tree], d)
    if ((p > 0) & (q <= 0)).any():
        raise ElasticError("the code tree gives probability 0 to a leaf of the coded tree: "
                           "build code_tree as a mixture that includes the coded dataset")
    used = q > 0
    if lengths == "ideal":
        bits = np.zeros_like(q)
        bits[used] = -np.log2(q[used])
    else:
        bits = np.zeros_like(q)
        bits[used] = huffman_lengths(q[used] / q[used].sum())
    return float((p * bits).sum())


def expected_segments(tree: TokenTree, d: int) -> tuple[float, float]:
    """``E[ceil(|x| / d)]`` and ``E[|x|]`` under ``tree``'s response-length distribution (read
    from its EOS leaves, so pass the unpruned tree)."""
    _check_depth(d)
    n = tree.depth.astype(np.float64)
    return float((tree.eos * np.ceil(n / d)).sum()), float((tree.eos * n).sum())


def compression_rate(tree: TokenTree, d: int, code_tree: TokenTree | None = None,
                     lengths: str = "ideal") -> float:
    """Compression rate :math:`\\gamma` in bits per token (ACL §2.2, arXiv Def. 3.9/3.11):
    expected code length of ``tree``'s responses, segmented as in Thm 2.5, over their expected
    length, with the code built on ``code_tree``'s pruned leaves (default: ``tree``'s own).

    .. math:: \\gamma^{D_i} = \\frac{E_{x \\sim D_i}[\\lceil |x|/d \\rceil]}{E_{x \\sim D_i}[|x|]}
              \\Big(-\\sum_{l,j} p^{D_i}_{lj} \\log_2 p^{D}_{lj}\\Big)

    ``tree`` should be unpruned: response lengths are read from its EOS leaves.

    Chapters: compression_protocol, joint_compression.
    """
    segments, tokens = expected_segments(tree, d)
    if tokens <= 0:
        raise ElasticError("every response of the tree is empty: the rate per token is undefined")
    return segments / tokens * cross_entropy(tree, d, code_tree, lengths)


def normalized_compression_rate(part: TokenTree, joint: TokenTree, d: int, form: str = "acl",
                                lengths: str = "ideal") -> float:
    """Normalized compression rate of dataset ``part`` = ``D_i`` under joint compression of
    ``joint`` = ``D``, from per-segment cross-entropies ``CE_i`` (see the module docstring):

    * ``form="acl"`` (ACL Def. 3.1): ``log2 M - CE_i``, ``M`` = number of leaves of ``D_i``'s tree
      pruned to ``d`` layers.
    * ``form="arxiv"`` (arXiv Def. 3.12, a ratio): ``(CE_i - u) / (H_D - u)`` with
      ``u = log2 V^{d-1}`` the entropy of the uniform distribution on the ``V^{d-1}`` nodes of
      layer ``d`` and ``H_D`` the entropy of ``D``'s own pruned leaves. Dividing the numerator and
      denominator by ``d`` gives the per-token form printed in the paper; the ratio is the same.
    """
    if form not in FORMS:
        raise ElasticError(f"form={form!r}; valid forms: {', '.join(FORMS)}")
    ce = cross_entropy(part, d, joint, lengths)
    if form == "acl":
        return float(np.log2(len(leaf_probabilities(part, d))) - ce)
    uniform = (d - 1) * np.log2(part.vocab_size)
    denominator = cross_entropy(joint, d, None, lengths) - uniform
    if abs(denominator) < 1e-12:
        raise ElasticError("the joint tree's entropy equals log2 V^(d-1), so the arXiv ratio is 0/0: use form='acl'")
    return float((ce - uniform) / denominator)


def joint_compression(trees: list[TokenTree], sizes, d: int, lengths: str = "ideal") -> dict:
    """Compress datasets ``D_i`` (token trees ``trees``, ``sizes`` responses each) with one code
    built on the pruned leaves of their mixture tree ``D`` (§2.2), and report per dataset the
    per-segment cost ``CE_i``, the rate ``gamma_i`` in bits per token and both normalized rates.
    With ideal lengths the size-weighted ``CE_i`` add up to the entropy of ``D``'s pruned leaves.

    Chapters: joint_compression.
    """
    joint = mixture(trees, sizes)
    return {
        "joint": joint,
        "joint_entropy": cross_entropy(joint, d, None, lengths),
        "cross_entropy": [cross_entropy(t, d, joint, lengths) for t in trees],
        "rate": [compression_rate(t, d, joint, lengths) for t in trees],
        **{form: [normalized_compression_rate(t, joint, d, form, lengths) for t in trees]
           for form in FORMS},
    }
