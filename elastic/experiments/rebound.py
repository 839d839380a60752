"""Rebound (§4.2, Figure 4 of Ji et al.): the more positive data a model was aligned with, the faster
it falls back under a little negative data.

For each base model and dataset: SFT θ0 on each amount of positive data (one run per amount, reused
for every negative amount, never retrained), then SFT each of those models on each amount of
negative data. Every model answers the same held-out prompts; the task's score (positive rate for
reviews, mean cost for dialogues) gives one curve per positive amount over the negative amounts, with
θ0's score as the reference line. The verdict is computed by
:func:`elastic.experiments._alignment.rebound_verdict`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from elastic import progress, results
from elastic.experiments import pinned_threads
from elastic.experiments._alignment import AlignmentConfig, Grid, Lab, Rebound, n_cells, preflight


@dataclass(frozen=True, kw_only=True)
class Config(AlignmentConfig):
    models: tuple[str, ...] = ("tiny",)
    datasets: tuple[str, ...] = ("reviews",)   #: two-sided datasets (reviews/imdb, dialogues/beavertails)
    positive_sizes: tuple[int, ...] = (16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16)


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    grids = [Grid(d, cfg.positive_sizes, cfg.negative_sizes) for d in cfg.datasets]
    max_size = max((*cfg.positive_sizes, *cfg.negative_sizes))
    preflight(cfg, cfg.models, cfg.datasets, lambda: [Rebound.draw(cfg, d, max_size) for d in cfg.datasets])
    panels = []
    with progress.experiment(len(cfg.models) * sum(map(n_cells, grids)), "rebound cells") as bar:
        for spec in cfg.models:
            lab = Lab(cfg, spec)
            for grid in grids:
                rebound = Rebound(lab, grid.dataset, max_size)
                panels.append({"model": spec, **rebound.grid(grid, bar)})
    data = {"panels": panels,
            "verdict": {"n_panels": len(panels),
                        "n_judged": sum(p["verdict"]["drop_grows_with_first_size"] is not None for p in panels),
                        "n_rebound": sum(p["verdict"]["drop_grows_with_first_size"] is True for p in panels),
                        "n_fast_then_slow": sum(p["verdict"]["fast_then_slow"] is True for p in panels)}}
    return results.save("rebound", cfg, data, time.perf_counter() - start)
