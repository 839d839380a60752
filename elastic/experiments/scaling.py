"""Rebound against model size and pre-training volume (§4.3, Figures 5, 6 and 10 of Ji et al.).

The rebound grid of :mod:`elastic.experiments.rebound` is run for each model of two series: models
of increasing size trained on the same data (the paper: Qwen1.5 0.5B, 4B, 7B), and one model at
increasing amounts of pre-training (the paper: TinyLlama checkpoints after 0.1T to 3.0T tokens).
Each model's *rebound strength* is its mean initial drop (see
:func:`elastic.rebound_grid.rebound_verdict`); the paper's claim is that it grows along
both series, which we test with the rank correlation between position in the series and strength.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from elastic import progress, results
from elastic.errors import ElasticError
from elastic.experiments import pinned_threads
from elastic.lab import AlignmentConfig, Lab, preflight
from elastic.prose import words
from elastic.rebound_grid import Grid, Rebound, n_cells
from elastic.stats import spearman


@dataclass(frozen=True, kw_only=True)
class Config(AlignmentConfig):
    size_models: tuple[str, ...] = ("tiny-1x32", "tiny-2x64")      #: increasing parameter count
    size_labels: tuple[str, ...] = ("1x32", "2x64")
    volume_models: tuple[str, ...] = ("tiny@500", "tiny@2000")      #: increasing pre-training volume
    volume_labels: tuple[str, ...] = ("500 texts", "2000 texts")
    datasets: tuple[str, ...] = ("reviews",)
    positive_sizes: tuple[int, ...] = (16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16)


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    series = {"size": (cfg.size_models, cfg.size_labels), "volume": (cfg.volume_models, cfg.volume_labels)}
    for name, (specs, labels) in series.items():
        if len(specs) != len(labels):
            raise ElasticError(f"{len(specs)} {name}_models but {len(labels)} {name}_labels: give one label per model")
    grids = [Grid(d, cfg.positive_sizes, cfg.negative_sizes) for d in cfg.datasets]
    max_size = max((*cfg.positive_sizes, *cfg.negative_sizes))
    preflight(cfg, [*cfg.size_models, *cfg.volume_models], cfg.datasets,
              lambda: [Rebound.draw(cfg, d, max_size) for d in cfg.datasets])
    total = sum(len(specs) for specs, _ in series.values()) * sum(map(n_cells, grids))
    labs = {}  # a model in both series is loaded once
    data = {}
    with progress.experiment(total, "scaling cells") as bar:
        for name, (specs, labels) in series.items():
            panels = []
            for spec, label in zip(specs, labels):
                lab = labs[spec] = labs.get(spec) or Lab(cfg, spec)
                for grid in grids:
                    rebound = Rebound(lab, grid.dataset, max_size)
                    panels.append({"model": spec, "label": label, **rebound.grid(grid, bar)})
            data[name] = {"labels": list(labels), "panels": panels, "verdict": trend(panels, cfg.datasets, labels)}
    return results.save("scaling", cfg, data, time.perf_counter() - start, summary=summary)


def trend(panels: list[dict], datasets, labels) -> dict:
    """Per dataset: each model's rebound strength, in series order, and whether it grows."""
    out = {}
    for dataset in datasets:
        strengths = [p["verdict"]["rebound_strength"] for p in panels if p["dataset"] == dataset]
        out[dataset] = {"strength": strengths, "rank_correlation": spearman(range(len(labels)), strengths),
                        # growing, and a rebound (a fall, > 0) at the end of the series
                        "increases": (all(a < b for a, b in zip(strengths, strengths[1:])) and strengths[-1] > 0)
                        if len(strengths) > 1 else None}
    return out


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): each series' strengths,
    rank correlation and verdict on its first dataset."""
    out = {}
    for name in ("size", "volume"):
        (dataset, trend), = list(data[name]["verdict"].items())[:1]
        rho = trend["rank_correlation"]
        out.update({
            f"sc_{name}_strength": ", ".join(f"{l}: {s:+.3f}" for l, s in zip(data[name]["labels"], trend["strength"])),
            f"sc_{name}_rho": "undefined (constant strengths)" if rho is None else f"{rho:+.2f}",
            f"sc_{name}_verdict": words(trend["increases"], "grows", "does not grow"),
        })
        out.setdefault("sc_dataset", dataset)
    return out
