"""Exercises of book/token_tree.md."""

from __future__ import annotations

from dataclasses import dataclass

from elastic.checkers import Key, Kind, Mistake, Number, checked, rational

CHAPTER = "token_tree"
#: The dataset {0, 01, 01, 1} of ex-token-tree-hand.
HAND_DATASET = ((0,), (0, 1), (0, 1), (1,))


def _name(prefix) -> str:
    return "".join(map(str, prefix))


@dataclass(frozen=True)
class TreeWeights(Kind):
    """``{prefix: (node weight, EOS weight)}`` with prefixes as strings ('' is the root)."""

    form = "{prefix: (node weight, EOS weight), ...} with prefixes as strings ('' is the root, '01' the node after 0 then 1)"

    def read(self, value):
        if not isinstance(value, dict):
            raise TypeError(f"the weights are a dict {{prefix: (node weight, EOS weight)}}, not a {type(value).__name__}")
        out = {}
        for prefix, pair in value.items():
            weight, eos = pair
            out[_name(prefix) if not isinstance(prefix, str) else prefix] = (Number().read(weight), Number().read(eos))
        return out

    def same(self, answer, reference) -> bool:
        return self.explain(answer, reference) is None

    def explain(self, answer, reference) -> str | None:
        missing, extra = sorted(set(reference) - set(answer)), sorted(set(answer) - set(reference))
        if missing:
            return f"node(s) {', '.join(map(repr, missing))} are missing: every prefix of a response is a node"
        if extra:
            return f"there is no node {', '.join(map(repr, extra))}: no response starts with it"
        same = Number(rtol=1e-6).same
        for prefix, (weight, eos) in reference.items():
            if not same(answer[prefix][0], weight):
                return f"the weight of node {prefix!r} is not {answer[prefix][0]}"
            if not same(answer[prefix][1], eos):
                return f"the EOS weight of node {prefix!r} is not {answer[prefix][1]}"
        return None

    def show(self, value) -> str:
        return str(value)


@dataclass(frozen=True)
class Prefixes(Kind):
    """A set of prefixes, as strings."""

    form = "a set of prefixes as strings, e.g. {'0'}"

    def read(self, value):
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            raise TypeError("give a set of prefixes, e.g. {'0'}")
        return frozenset(p if isinstance(p, str) else _name(p) for p in value)

    def show(self, value) -> str:
        return "{" + ", ".join(map(repr, sorted(value))) + "}"


def _hand_key() -> Key:
    """Node and EOS weights of the tree of {0, 01, 01, 1}, and the EOS leaves that pruning to
    two layers changes, with :mod:`elastic.tokentree`."""
    from elastic.tokentree import token_tree

    tree = token_tree(HAND_DATASET, vocab_size=2)
    pruned = tree.prune(2)
    n = len(HAND_DATASET)
    name = {i: _name(tree.prefix(i)) for i in range(tree.n_nodes)}
    weights = {name[i]: (rational(tree.weight[i], n), rational(tree.eos[i], n)) for i in range(tree.n_nodes)}
    kept = {_name(pruned.prefix(i)): rational(pruned.eos[i], n) for i in range(pruned.n_nodes)}
    changed = frozenset(p for p, eos in kept.items() if eos != weights[p][1])
    removed = frozenset(set(weights) - set(kept))
    return Key(
        {"weights": weights, "changed": changed},
        (Mistake("weights", {p: (w * n, e * n) for p, (w, e) in weights.items()},
                 f"these are counts of responses: divide by |D| = {n}, so that the root weighs 1"),
         Mistake("weights", {p: (e, e) for p, (_, e) in weights.items()},
                 "a node's weight is its EOS weight plus the weights of its children"),
         Mistake("changed", removed,
                 "pruning removes the deeper nodes; their weight moves into the EOS leaf of their "
                 "ancestor in layer 2, which is the leaf that changes"),
         Mistake("changed", frozenset(),
                 "the weight of every removed node moves into the EOS leaf of its ancestor in layer 2: "
                 "that leaf changes")),
    )


checked(
    "ex-token-tree-hand", chapter=CHAPTER, kind="computation", needs="paper",
    ask="every node's weight and EOS weight, and the EOS leaves that pruning to two layers changes",
    parts={"weights": TreeWeights(), "changed": Prefixes()}, key=_hand_key,
    hint="a node's weight is the share of responses that start with its prefix, its EOS weight the "
         "share equal to it; pruning to two layers moves the weight of every deeper node to the "
         "EOS leaf of its ancestor in layer 2",
)

#: |D_1| and |D_2| of ex-token-tree-mixture.
MIXTURE_SIZES = (1000, 10)


def _mixture_key() -> Key:
    """The largest change of an EOS weight, attained by two trees of one shape whose leaves
    disagree completely: D_1 ends every response at '0', D_2 at '1' (both trees have both nodes)."""
    import numpy as np

    from elastic.tokentree import mixture, token_tree

    d1 = token_tree([(0,), (1,)], 2, weights=[1, 0])
    d2 = token_tree([(0,), (1,)], 2, weights=[0, 1])
    joint = mixture([d1, d2], MIXTURE_SIZES)
    big, small = MIXTURE_SIZES
    return Key(
        {"bound": rational(np.abs(joint.eos - d1.eos).max(), big + small)},
        (Mistake("bound", rational(small / big),
                 "the weight of D2 in the mixture is |D2| / (|D1| + |D2|), not |D2| / |D1|"),
         Mistake("bound", rational(big / (big + small)),
                 "that is the weight of D1 in the mixture; the question asks how far the joint tree "
                 "can move away from D1's tree")),
    )


checked(
    "ex-token-tree-mixture", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="the largest possible difference between an EOS weight of the joint tree and of D1's tree",
    parts={"bound": Number()}, key=_mixture_key,
    hint="write the joint EOS weight with the mixture formula of the chapter, subtract the weight in "
         "the tree of D1, and use that a difference of two probabilities is at most 1",
)
