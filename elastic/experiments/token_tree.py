"""The token-tree chapter: a hand-sized tree, pruning of a generated corpus, and the tree of a
mixture of two datasets of different sizes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from elastic import results
from elastic.config import ExperimentConfig
from elastic.sources import IIDSource
from elastic.tokentree import mixture, mixture_weights, token_tree

#: A dataset small enough to check by hand (binary responses; the empty one is the bare root).
EXAMPLE = ((0,), (0, 1), (0, 1), (1,), (1, 0), (1, 1, 0), (1, 1, 1), ())


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    n_sequences: int = 1000          #: |D| of the generated corpus
    vocab_size: int = 2
    p_one: float = 0.3               #: probability of token 1 in the binary corpus
    stop_prob: float = 0.15          #: chance the sequence ends after each token
    max_len: int = 16
    max_prune_depth: int = 10        #: pruning depths d = 1..max_prune_depth
    mixture_sizes: tuple[int, ...] = (1000, 100)  #: |D_1|, |D_2| of the mixture
    mixture_depth: int = 3           #: depth at which the mixture's leaves are compared


def _binary_source(cfg: Config, p_one: float) -> IIDSource:
    return IIDSource((1 - p_one, p_one), cfg.stop_prob, cfg.max_len)


def run(cfg: Config) -> dict:
    start = time.perf_counter()
    example = token_tree(EXAMPLE, vocab_size=2)

    tokens, lengths = _binary_source(cfg, cfg.p_one).sample(cfg.n_sequences, seed=cfg.seed)
    built = time.perf_counter()
    tree = token_tree(tokens, 2, lengths=lengths)
    build_s = time.perf_counter() - built
    pruning = []
    for d in range(1, cfg.max_prune_depth + 1):
        pruned = tree.prune(d)
        pruning.append({
            "depth": d,
            "nodes": pruned.n_nodes,
            "leaves": len(pruned.leaves()),
            "leaf_mass": pruned.leaf_mass(),
            "matches_direct_build": bool(np.allclose(
                pruned.eos, token_tree(tokens, 2, lengths=lengths, depth=d).eos)),
        })
    wide = token_tree(tokens, cfg.vocab_size, lengths=lengths)

    parts = []
    for i, (size, p_one) in enumerate(zip(cfg.mixture_sizes, np.linspace(0.2, 0.8, len(cfg.mixture_sizes)))):
        parts.append(_binary_source(cfg, float(p_one)).sample(size, seed=cfg.seed + 1 + i))
    part_trees = [token_tree(t, 2, lengths=n).prune(cfg.mixture_depth) for t, n in parts]
    joint = mixture(part_trees, cfg.mixture_sizes)
    pooled_tokens = np.concatenate([np.pad(t, ((0, 0), (0, cfg.max_len - t.shape[1])), constant_values=-1)
                                    for t, _ in parts])
    pooled = token_tree(pooled_tokens, 2, lengths=np.concatenate([n for _, n in parts]),
                        depth=cfg.mixture_depth)
    leaves = joint.leaves()
    data = {
        "example": {"sequences": [list(s) for s in EXAMPLE], "tree": example.to_dict(),
                    "pruned_depth": 2, "pruned": example.prune(2).to_dict()},
        "corpus": {
            "n_sequences": cfg.n_sequences, "p_one": cfg.p_one,
            "mean_length": float(lengths.mean()), "n_nodes": tree.n_nodes,
            "n_layers": tree.n_layers,
            "general_vocab_size": cfg.vocab_size,
            "general_vocab_max_weight_diff": float(np.abs(wide.weight - tree.weight).max()),
        },
        "pruning": pruning,
        "mixture": {
            "sizes": list(cfg.mixture_sizes),
            "p_one": [float(p) for p in np.linspace(0.2, 0.8, len(cfg.mixture_sizes))],
            "weights": mixture_weights(cfg.mixture_sizes).tolist(),
            "depth": cfg.mixture_depth,
            "leaf_prefixes": ["".join(map(str, joint.prefix(int(n)))) or "ε" for n in leaves],
            "leaf_probs": {
                "mixture": joint.eos[leaves].tolist(),
                "parts": [_leaf_probs_on(t, joint, leaves) for t in part_trees],
            },
            "max_diff_vs_pooled": float(np.abs(joint.eos - pooled.eos).max()),
        },
    }
    return results.save("token_tree", cfg, data, time.perf_counter() - start, summary=summary,
                        run={"build_seconds": build_s, "summary": {"build_ms": f"{1000 * build_s:.1f}"}})


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    corpus, pruning, mix = data["corpus"], data["pruning"], data["mixture"]
    return {
        "p_one": str(corpus["p_one"]),
        "n_sequences": f"{corpus['n_sequences']:,}",
        "n_nodes": f"{corpus['n_nodes']:,}",
        "n_layers": str(corpus["n_layers"]),
        "vocab_diff": f"{corpus['general_vocab_max_weight_diff']:.1e}",
        "general_vocab": str(corpus["general_vocab_size"]),
        "max_mass_error": f"{max(abs(p['leaf_mass'] - 1) for p in pruning):.1e}",
        "all_direct": "all" if all(p["matches_direct_build"] for p in pruning) else "NOT all",
        "mix_sizes": " and ".join(f"{s:,}" for s in mix["sizes"]),
        "mix_weights": " and ".join(f"{w:.3f}" for w in mix["weights"]),
        "mix_pooled_diff": f"{mix['max_diff_vs_pooled']:.1e}",
    }


def _leaf_probs_on(part, joint, leaves) -> list[float]:
    """EOS weights of ``part`` listed on the joint tree's leaves (0 where the prefix is absent)."""
    by_prefix = {part.prefix(int(n)): part.eos[n] for n in part.leaves()}
    return [float(by_prefix.get(joint.prefix(int(n)), 0.0)) for n in leaves]
