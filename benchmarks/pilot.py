"""Pilot of the powered rebound design (issue #12): how much of each rebound statistic's noise
comes from the training seed and how much from the held-out pairs, and what that predicts for a
design of K seeds and P pairs per seed. Run (niced, one thread: the machine is shared)::

    nice -n 10 python -m benchmarks.pilot --seeds 3 --pairs 48

It runs the rebound chapter's seeded grid (:class:`elastic.rebound_grid.SeededGrid`) under the
preset's trainer fields and sizes (``--preset``, default cpu; ``--positive``/``--negative``
override the amounts) on K seeds with more pairs than a chapter needs, in the preset's cache (so
that the chapter, whose seeds are the pilot's first ones, then reuses its training runs). Every
rebound statistic is a linear combination of margins, so it has a value per (seed, pair);
:func:`elastic.power.nested_components` splits its variance into a seed and a pair component
(each seed has pairs of its own, as in the chapter), and :func:`elastic.power.predicted_mde` gives
the MDE of designs (K, P) in units of the statistic's natural scale (:mod:`elastic.claims`). The
numbers, the seconds and the machine's load go to ``results/pilot/<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from elastic import claims, experiments, power
from elastic.lab import Lab
from elastic.rebound_grid import Grid, SeededGrid
from elastic.results import atomic_write_text

DESIGNS = [(k, p) for k in (3, 4, 5, 6) for p in (16, 32, 64)]


def per_pair(panel: dict) -> dict:
    """Per seed, per pair: the alignment gain G, the rebound statistic R (its scale: G) and the
    deceleration D of :func:`elastic.claims.deceleration` (its scale: the mean fall per sample)."""
    out = {"gain": [], "rebound": claims.rebound_pairs(panel), "deceleration": [], "fall_per_sample": []}
    b = panel["second_sizes"]
    for seed in panel["seeds"]:
        cells, base = panel["sign"] * np.asarray(seed["cells"]), panel["sign"] * np.asarray(seed["base"])
        out["gain"].append(cells[-1, 0] - base)
        curve = cells[-1]  # (1+B, pairs) after the largest first amount
        early = (curve[0] - curve[1]) / b[0]
        late = (curve[-2] - curve[-1]) / (b[-1] - b[-2])
        out["deceleration"].append(early - late)
        out["fall_per_sample"].append((curve[0] - curve[-1]) / b[-1])
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--model", default=None, help="θ0 (default: the preset's first rebound model)")
    parser.add_argument("--dataset", default="reviews")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--positive", type=int, nargs="+", default=None)
    parser.add_argument("--negative", type=int, nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    overrides = {"seeds": tuple(range(args.seeds)), "n_pairs": args.pairs, "num_threads": args.threads}
    if args.positive:
        overrides["positive_sizes"] = tuple(args.positive)
    if args.negative:
        overrides["negative_sizes"] = tuple(args.negative)
    cfg = experiments.load_config("rebound", args.preset, **overrides)
    import torch

    torch.set_num_threads(args.threads)
    start, cpu, load = time.perf_counter(), time.process_time(), [os.getloadavg()[0]]
    lab = Lab(cfg, args.model or cfg.models[0])
    panel = SeededGrid(lab, Grid(args.dataset, cfg.positive_sizes, cfg.negative_sizes)).panel()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    load.append(os.getloadavg()[0])
    stats = per_pair(panel)
    scales = {"rebound": float(np.mean(stats["gain"])), "deceleration": float(np.mean(stats["fall_per_sample"]))}
    components, mde_over_scale = {}, {}
    for name, scale in scales.items():
        components[name] = power.nested_components(stats[name])
        mde_over_scale[name] = {f"K={k},P={p}": power.predicted_mde(components[name], k, p) / abs(scale)
                                for k, p in DESIGNS}
    record = {"preset": args.preset, "model": lab.spec, "dataset": args.dataset, "trainer": cfg.trainer_args(),
              "lora_r": cfg.lora_r, "margin_tokens": cfg.margin_tokens, "positive_sizes": list(cfg.positive_sizes),
              "negative_sizes": list(cfg.negative_sizes), "seeds": list(cfg.seeds), "n_pairs": cfg.n_pairs,
              "threads": args.threads, "seconds": seconds, "cpu_seconds": cpu_seconds, "load_average": load, "scales": scales,
              "components": components, "mde_over_scale": mde_over_scale,
              "per_seed_means": {k: [float(np.mean(v)) for v in vals] for k, vals in stats.items()},
              "panel": panel}
    path = Path(os.environ.get("ELASTIC_RESULTS", "results")) / "pilot" / f"{args.name or 'rebound-' + args.preset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1))
    print(f"wrote {path}: {seconds:.0f} s ({cpu_seconds:.0f} s of CPU) on {args.threads} thread(s), load average "
          f"{load[0]:.1f} -> {load[1]:.1f}")
    for name, scale in scales.items():
        c = components[name]
        print(f"{name:13s} mean {c['mean']:+.4g} (scale {scale:+.4g})  sd seed {c['seed'] ** .5:.3g}  "
              f"sd pair {c['pair'] ** .5:.3g}  MDE/scale: " + ", ".join(
                  f"{d} {mde_over_scale[name][d]:.2f}" for d in ("K=3,P=16", "K=3,P=32", "K=3,P=64", "K=5,P=32")))


if __name__ == "__main__":
    main()
