"""Exercises of book/compression_protocol.md."""

from __future__ import annotations

import math
from fractions import Fraction

from elastic.checkers import Choice, Key, Mistake, Number, Numbers, Sampled, checked, open_question, rational

CHAPTER = "compression_protocol"
#: The source of ex-protocol-huffman.
HUFFMAN_P = (0.4, 0.3, 0.3)


def _huffman_key() -> Key:
    from elastic import coding

    lengths = tuple(int(n) for n in coding.huffman_lengths(HUFFMAN_P))
    expected = rational(sum(p * n for p, n in zip(HUFFMAN_P, lengths)))
    entropy = coding.entropy(HUFFMAN_P)
    greedy = (2, 2, 1)  # merging 0.4 with a 0.3 first
    return Key(
        {"lengths": lengths, "expected": expected, "gap": float(expected) - entropy},
        (Mistake("lengths", greedy, "Huffman merges the two least likely symbols first: 0.3 + 0.3"),
         Mistake("expected", rational(sum(p * n for p, n in zip(HUFFMAN_P, greedy))),
                 "Huffman merges the two least likely symbols first: 0.3 + 0.3, then 0.4 + 0.6"),
         Mistake("expected", Fraction(sum(lengths), len(lengths)),
                 "weight each codeword length by the probability of its symbol"),
         Mistake("gap", float(expected) - entropy * math.log(2),
                 "the entropy is in bits here (log base 2), like the code lengths"),
         Mistake("gap", entropy - float(expected),
                 "the code cannot beat the entropy: the gap is the expected length minus the entropy")),
    )


checked(
    "ex-protocol-huffman", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the codeword lengths for (0.4, 0.3, 0.3), the expected length in bits, and how far it is above the entropy",
    parts={"lengths": Numbers(), "expected": Number(), "gap": Number(rtol=1e-2)}, key=_huffman_key,
    hint="merge the two least likely symbols until one is left; a symbol's length is the number of "
         "merges above it; the gap is the expected length minus the entropy in bits",
)


def _empty_source_tree(s):
    """The token tree of the source of ex-protocol-empty: the empty response with probability
    ``s``, else one token, 0 or 1, each with probability ``(1 - s) / 2``."""
    from elastic.tokentree import token_tree

    return token_tree([(), (0,), (1,)], 2, weights=[s, (1 - s) / 2, (1 - s) / 2])


def _h2(s) -> float:
    from elastic import coding

    return coding.entropy(coding.leaf_probabilities(_empty_source_tree(float(s)), 2))


def _published(s) -> float:
    from elastic import coding

    segments, _ = coding.expected_segments(_empty_source_tree(float(s)), 2)
    return segments * _h2(s)


def _source_entropy(s) -> float:
    from elastic import coding

    tree = _empty_source_tree(float(s))
    return coding.entropy(tree.eos[tree.leaves()])


def _binary_entropy(s) -> float:
    from elastic import coding

    return coding.entropy([float(s), 1 - float(s)])


S_POINTS = tuple({"s": s} for s in (0.1, 0.3, 0.5, 0.8))


def _empty_key() -> Key:
    smaller = "published" if _published(0.3) < _source_entropy(0.3) else "entropy"
    return Key(
        {"H2": _h2, "published": _published, "entropy": _source_entropy, "smaller": smaller},
        (Mistake("H2", _binary_entropy,
                 "that is h(s) alone: the two leaves of layer 2 split 1 - s in half, which costs "
                 "another (1 - s) bits"),
         Mistake("published", _h2,
                 "E⌈|x|/2⌉ is not 1: the empty response has no segment, so it is 1 - s"),
         Mistake("entropy", _binary_entropy,
                 "the source has three responses: ∅ with probability s, 0 and 1 with (1 - s)/2 each"),
         Mistake("smaller", "entropy" if smaller == "published" else "published",
                 "(1 - s) H2 is below H2, the entropy, for every s > 0: the published length charges "
                 "nothing for the empty response, which no lossless code can do")),
    )


checked(
    "ex-protocol-empty", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="H_2, the published expected length and the entropy of the source as functions of s, and which of the published length and the entropy is the smaller",
    parts={"H2": Sampled(("s",), S_POINTS), "published": Sampled(("s",), S_POINTS),
           "entropy": Sampled(("s",), S_POINTS), "smaller": Choice(("published", "entropy"))},
    key=_empty_key,
    hint="the pruned leaves are the root's EOS leaf (s) and the two nodes of layer 2; write the "
         "entropies with h(s) = -s log2 s - (1 - s) log2 (1 - s)",
)

open_question("ex-protocol-rate", chapter=CHAPTER, kind="derivation", needs="paper")
