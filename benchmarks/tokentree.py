"""Benchmark (not a test): build and Huffman-code token trees of 10^5, 10^6, 10^7 responses with
``elastic.tokentree`` + ``elastic.coding.huffman_lengths``, against a naive dict-of-dicts trie +
heapq Huffman in the same run, for a binary source (the complete tree is small: ``token_tree``
addresses its nodes directly) and a 64-token source (it builds by layers). Run
``python benchmarks/tokentree.py [--max-n N] [--naive-max N] [--repeat K]``; prints the best of K
times of each side, the speed-up and how cost grows with N."""

from __future__ import annotations

import argparse
import heapq
import itertools
import resource
import time

import numpy as np

from elastic import tokentree
from elastic.coding import huffman_lengths
from elastic.sources import IIDSource

SOURCES = {
    "binary": IIDSource((0.7, 0.3), stop_prob=0.15, max_len=16),
    "64 tokens": IIDSource(tuple(np.full(64, 1 / 64)), stop_prob=0.15, max_len=16),
}


def fast(tokens, lengths, vocab_size):
    """(build seconds, Huffman seconds, expected code length, number of leaves)."""
    start = time.perf_counter()
    tree = tokentree.token_tree(tokens, vocab_size, lengths=lengths)
    p = tree.eos[tree.eos > 0]
    built = time.perf_counter()
    lengths_ = huffman_lengths(p)
    return built - start, time.perf_counter() - built, float((p * lengths_).sum()), len(p)


def naive(tokens, lengths):
    """A trie of nested dicts ("$" counts responses ending there) and the textbook heapq Huffman."""
    start = time.perf_counter()
    root: dict = {}
    for row, n in zip(tokens.tolist(), lengths.tolist()):
        node = root
        for t in row[:n]:
            node = node.setdefault(t, {})
        node["$"] = node.get("$", 0) + 1
    counts, stack = [], [root]
    while stack:
        node = stack.pop()
        for key, child in node.items():
            if key == "$":
                counts.append(child)
            else:
                stack.append(child)
    built = time.perf_counter()
    total = len(lengths)
    tie = itertools.count()
    heap = [(c / total, next(tie), [i]) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    depth = [0] * len(counts)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        for i in itertools.chain(a, b):
            depth[i] += 1
        heapq.heappush(heap, (w1 + w2, next(tie), a + b))
    expected = sum(c / total * d for c, d in zip(counts, depth))
    return built - start, time.perf_counter() - built, expected, len(counts)


def best_of(run, repeat: int, *args):
    """``run`` ``repeat`` times; the fastest build and Huffman times count (as in ``timeit``: the
    least disturbed run is the closest to the code's own cost on a shared machine)."""
    runs = [run(*args) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2], runs[0][3]


def measure(source: str, n: int, naive_max: int, repeat: int, seed: int = 0) -> dict:
    """One row: both sides on the same ``n`` responses of ``SOURCES[source]``, which must agree on
    the leaves and the expected code length."""
    src = SOURCES[source]
    tokens, lengths = src.sample(n, seed=seed)
    addressed = tokentree._addressed_tree(tokens, lengths, None, src.vocab_size, int(lengths.max()))
    fb, fh, e_fast, leaves = best_of(fast, repeat, tokens, lengths, src.vocab_size)
    row = {"source": source, "build": "direct addressing" if addressed is not None else "by layers", "n": n,
           "leaves": leaves, "expected_length": e_fast, "fast_s": fb + fh, "fast_build_s": fb, "fast_huffman_s": fh}
    if n <= naive_max:
        nb, nh, e_naive, naive_leaves = best_of(naive, repeat, tokens, lengths)
        if naive_leaves != leaves or abs(e_naive - e_fast) > 1e-9:
            raise RuntimeError(f"token tree implementations disagree at N = {n}: {e_fast} vs {e_naive}")
        row.update(naive_s=nb + nh, naive_build_s=nb, naive_huffman_s=nh, speedup=(nb + nh) / (fb + fh))
    return row


def loglog_slope(rows: list[dict]) -> float:
    """Slope of log time against log N over ``rows`` (1 is linear); nan for fewer than two sizes."""
    if len(rows) < 2:
        return float("nan")
    n, t = np.array([r["n"] for r in rows], float), np.array([r["fast_s"] for r in rows])
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=10**7)
    parser.add_argument("--naive-max", type=int, default=10**6, help="largest N for the naive trie")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the fastest counts")
    args = parser.parse_args()
    sizes = [n for n in (10**5, 10**6, 10**7) if n <= args.max_n]
    print(f"IID sources, stop 0.15, max_len 16; best of {args.repeat}; naive capped at N = {args.naive_max:,}")
    print(f"{'source':>9} {'N':>11} {'leaves':>9} | {'fast build':>10} {'huffman':>8} | {'naive build':>11}"
          f" {'huffman':>8} | {'speedup':>7}  build")
    for source in SOURCES:
        rows = []
        for n in sizes:
            r = measure(source, n, args.naive_max, args.repeat)
            rows.append(r)
            line = f"{source:>9} {n:>11,} {r['leaves']:>9,} | {r['fast_build_s']:10.3f} {r['fast_huffman_s']:8.4f} | "
            if "naive_s" in r:
                line += f"{r['naive_build_s']:11.3f} {r['naive_huffman_s']:8.4f} | {r['speedup']:6.1f}x"
            else:
                line += f"{'not run (N > --naive-max)':>29}"
            print(f"{line}  {r['build']}")
        print(f"{source}: time grows as N^{loglog_slope(rows):.2f}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
