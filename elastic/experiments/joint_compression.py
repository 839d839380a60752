"""The joint-compression chapter: two datasets of different sizes compressed with one code built on
their mixture tree; each dataset's compression rate and both normalized rates as |D1|/|D2| varies."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from elastic import coding, results
from elastic.config import ExperimentConfig
from elastic.sources import IIDSource
from elastic.tokentree import token_tree


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    p_one: tuple[float, float] = (0.2, 0.7)  #: probability of token 1 in D1 and in D2
    stop_prob: float = 0.15
    max_len: int = 24
    small_size: int = 1000           #: |D2|
    ratios: tuple[int, ...] = (1, 2, 5, 10, 30, 100)  #: |D1| / |D2|
    d: int = 6                       #: pruning depth (layers)


def run(cfg: Config) -> dict:
    start = time.perf_counter()
    sources = [IIDSource((1 - p, p), cfg.stop_prob, cfg.max_len) for p in cfg.p_one]
    largest = cfg.small_size * max(cfg.ratios)
    t1, n1 = sources[0].sample(largest, seed=cfg.seed)
    t2, n2 = sources[1].sample(cfg.small_size, seed=cfg.seed + 1)
    small = token_tree(t2, 2, lengths=n2)
    own2 = coding.compression_rate(small, cfg.d)
    rows = []
    for ratio in cfg.ratios:
        size1 = cfg.small_size * ratio
        big = token_tree(t1[:size1], 2, lengths=n1[:size1])  # D1 grows, D2 stays: nested samples
        ideal = coding.joint_compression([big, small], [size1, cfg.small_size], cfg.d)
        huffman = coding.joint_compression([big, small], [size1, cfg.small_size], cfg.d, "huffman")
        row = {"ratio": ratio, "size1": size1, "own": [coding.compression_rate(big, cfg.d), own2],
               "joint_entropy": ideal["joint_entropy"], "ce": ideal["cross_entropy"],
               "joint": ideal["rate"], "joint_huffman": huffman["rate"],
               **{form: ideal[form] for form in coding.FORMS}}
        rows.append(row)
    # the mixture formula against pooling the raw responses, at the largest ratio
    pooled = token_tree(np.concatenate([t1, t2]), 2, lengths=np.concatenate([n1, n2]))
    check = [abs(coding.compression_rate(t, cfg.d, pooled) - r)
             for t, r in zip((big, small), rows[-1]["joint"])]
    data = {
        "p_one": list(cfg.p_one), "small_size": cfg.small_size, "d": cfg.d, "rows": rows,
        "uniform_bits": float(cfg.d - 1),  # log2 2^(d-1): binary vocabulary
        "max_diff_vs_pooled": max(check),
        "leaves": {"D1": len(coding.leaf_probabilities(big, cfg.d)),
                   "D2": len(coding.leaf_probabilities(small, cfg.d))},
    }
    return results.save("joint_compression", cfg, data, time.perf_counter() - start, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    rows = data["rows"]
    ratio = np.array([r["ratio"] for r in rows])
    excess = [np.array([r["joint"][i] - r["own"][i] for r in rows]) for i in (0, 1)]
    hj = [r["joint_entropy"] for r in rows]
    # the size-weighted average of the arXiv rates: constant when the form is a weighted average
    averages = [(r["ratio"] * r["arxiv"][0] + r["arxiv"][1]) / (r["ratio"] + 1) for r in rows]
    return {
        "p_one_1": str(data["p_one"][0]),
        "p_one_2": str(data["p_one"][1]),
        "small_size": f"{data['small_size']:,}",
        "d": str(data["d"]),
        "ratio_range": f"{ratio.min()} to {ratio.max()}",
        "pooled_diff": f"{data['max_diff_vs_pooled']:.1e}",
        "excess_1": f"{excess[0][0]:.3f} to {excess[0][-1]:.4f}",
        "excess_2": f"{excess[1][0]:.3f} to {excess[1][-1]:.3f}",
        "u_bits": f"{data['uniform_bits']:.0f}",
        "h_joint_range": f"{min(hj):.2f} to {max(hj):.2f}",
        "ce1_last": f"{rows[-1]['ce'][0]:.2f}",
        "ce2_last": f"{rows[-1]['ce'][1]:.2f}",
        "arxiv_average": (f"{min(averages):.6f} to {max(averages):.6f}" if max(averages) - min(averages) > 5e-7
                          else f"{averages[0]:.6f}"),
        "huffman_gap": f"{max(max(r['joint_huffman'][i] - r['joint'][i] for i in (0, 1)) for r in rows):.3f}",
    }
