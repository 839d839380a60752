"""The compression-protocol chapter: Huffman coding against the entropy bounds, code length
against pruning depth on a generated corpus, and a brute-force check of Thm 2.5 (ideal code length)
on a source small enough to enumerate."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from elastic import coding, results
from elastic.config import ExperimentConfig
from elastic.errors import ElasticError
from elastic.sources import IIDSource
from elastic.tokentree import token_tree


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    alphabet_sizes: tuple[int, ...] = (2, 8, 64, 1024)  #: Huffman vs entropy on random distributions
    dirichlet_alpha: float = 0.5     #: concentration of those random distributions
    n_sequences: int = 20000         #: |D| of the generated corpus
    p_one: float = 0.3               #: probability of token 1
    stop_prob: float = 0.15          #: chance the response ends after each token
    max_len: int = 24
    depths: tuple[int, ...] = (2, 3, 4, 6, 8, 10)  #: pruning depths d (layers)
    exact_max_len: int = 10          #: longest response of the enumerated source
    exact_stop_prob: float = 0.3


def enumerate_responses(source: IIDSource) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Every response of ``source`` with its exact probability (``V^{L+1}`` of them: small L)."""
    if source.vocab_size ** (source.max_len + 1) > 2_000_000:
        raise ElasticError("too many responses to enumerate: lower max_len or the vocabulary")
    seqs = [s for n in range(source.max_len + 1)
            for s in itertools.product(range(source.vocab_size), repeat=n)]
    return seqs, np.array([source.probability(s) for s in seqs])


def _huffman_vs_entropy(p: np.ndarray) -> dict:
    return {"n": len(p), "entropy": coding.entropy(p),
            "huffman": float((p * coding.huffman_lengths(p)).sum())}


def run(cfg: Config) -> dict:
    start = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    random_dists = [_huffman_vs_entropy(rng.dirichlet(np.full(n, cfg.dirichlet_alpha)))
                    for n in cfg.alphabet_sizes]
    dyadic = 0.5 ** np.arange(1, 9)
    dyadic[-1] *= 2  # 1/2, 1/4, ..., 1/128, 1/128
    source = IIDSource((1 - cfg.p_one, cfg.p_one), cfg.stop_prob, cfg.max_len)
    tokens, lengths = source.sample(cfg.n_sequences, seed=cfg.seed)
    tree = token_tree(tokens, 2, lengths=lengths)
    by_depth = []
    for d in cfg.depths:
        leaves = coding.leaf_probabilities(tree, d)
        huffman = float((leaves * coding.huffman_lengths(leaves)).sum())
        by_depth.append({
            "d": d, "leaves": len(leaves), "entropy": coding.entropy(leaves), "huffman": huffman,
            "rate_ideal": coding.compression_rate(tree, d),
            "rate_huffman": coding.compression_rate(tree, d, lengths="huffman"),
        })
    full = tree.eos[tree.eos > 0]

    exact = IIDSource((1 - cfg.p_one, cfg.p_one), cfg.exact_stop_prob, cfg.exact_max_len)
    seqs, probs = enumerate_responses(exact)
    exact_tree = token_tree(seqs, 2, weights=probs)
    n = np.array([len(s) for s in seqs])
    brute_force = []
    for d in (d for d in cfg.depths if d <= cfg.exact_max_len + 1):
        h = coding.entropy(coding.leaf_probabilities(exact_tree, d))
        brute_force.append({
            "d": d, "entropy": h,
            "brute_force": float((probs * coding.parsed_code_lengths(exact_tree, d, seqs)).sum()),
            "brute_force_huffman": float(
                (probs * coding.parsed_code_lengths(exact_tree, d, seqs, lengths="huffman")).sum()),
            "parse_segments_times_h": float((probs * (n // (d - 1) + 1)).sum() * h),
            "thm_2_5": float((probs * np.ceil(n / d)).sum() * h),
        })
    data = {
        "huffman": {"random": random_dists, "dyadic": _huffman_vs_entropy(dyadic),
                    "alpha": cfg.dirichlet_alpha},
        "corpus": {"n_sequences": cfg.n_sequences, "p_one": cfg.p_one, "stop_prob": cfg.stop_prob,
                   "mean_length": float(lengths.mean()), "n_layers": tree.n_layers,
                   "full_tree_rate": coding.entropy(full) / float(lengths.mean())},
        "by_depth": by_depth,
        "exact": {"max_len": cfg.exact_max_len, "stop_prob": cfg.exact_stop_prob,
                  "n_responses": len(seqs), "mean_length": float((probs * n).sum()),
                  "by_depth": brute_force},
    }
    return results.save("compression_protocol", cfg, data, time.perf_counter() - start, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    huff, corpus, rows, exact = data["huffman"], data["corpus"], data["by_depth"], data["exact"]
    gaps = [r["huffman"] - r["entropy"] for r in huff["random"]]
    brute = np.array([r["brute_force"] for r in exact["by_depth"]])
    wald = np.array([r["parse_segments_times_h"] for r in exact["by_depth"]])
    thm = np.array([r["thm_2_5"] for r in exact["by_depth"]])
    return {
        "alpha": str(huff["alpha"]),
        "dyadic_gap": f"{huff['dyadic']['huffman'] - huff['dyadic']['entropy']:.1e}",
        "gap_range": f"{min(gaps):.3f} and {max(gaps):.3f}",
        "alphabet_sizes": ", ".join(f"{r['n']:,}" for r in huff["random"]),
        "n_sequences": f"{corpus['n_sequences']:,}",
        "p_one": str(corpus["p_one"]),
        "mean_length": f"{corpus['mean_length']:.2f}",
        "full_rate": f"{corpus['full_tree_rate']:.3f}",
        "rate_vs_full": f"{max(r['rate_ideal'] for r in rows) / corpus['full_tree_rate']:.0%}",
        "max_leaves": f"{rows[-1]['leaves']:,}",
        "max_d": str(rows[-1]["d"]),
        "n_responses": f"{exact['n_responses']:,}",
        "exact_max_len": str(exact["max_len"]),
        "source_entropy": f"{brute[0]:.3f}",
        "wald_gap": f"{np.max(np.abs(wald - brute) / brute):.1%}",
        "thm_gap": f"{np.min((brute - thm) / brute):.0%} to {np.max((brute - thm) / brute):.0%}",
    }
