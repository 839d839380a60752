"""Rebound against model size and pre-training volume (§4.3, Figures 5, 6 and 10 of Ji et al.).

The seeded rebound grid of :mod:`elastic.experiments.rebound` (:class:`elastic.rebound_grid.SeededGrid`)
is run for each base model of two series: models of increasing size pre-trained alike (the paper:
Qwen1.5 0.5B, 4B, 7B), and one architecture after increasing amounts of pre-training (the paper:
TinyLlama checkpoints after 0.1T to 3.0T tokens). Each model gives, per training seed, the
statistic of claim ``rebound`` on the likelihood margin (:func:`elastic.claims.rebound`). The
models of a series share their seeds, so each seed gives one least-squares slope of that statistic
on log10(parameters) or log10(pre-training volume) (:func:`elastic.claims.slope`), and the verdicts
on claims ``rebound_size`` and ``rebound_volume`` are t-intervals over those slopes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from elastic import claims, progress, results
from elastic.errors import ElasticError
from elastic.experiments import pinned_threads
from elastic.lab import Lab, preflight, tiny_spec
from elastic.rebound_grid import Grid, GridConfig, SeededGrid, draw, n_cells

#: The two series, each with the claim it judges.
SERIES = {"size": "rebound_size", "volume": "rebound_volume"}


@dataclass(frozen=True, kw_only=True)
class Config(GridConfig):
    size_models: tuple[str, ...] = ("tiny-1x16@200", "tiny-1x32@200", "tiny-2x64@200")  #: increasing size
    size_labels: tuple[str, ...] = ("1x16", "1x32", "2x64")
    volume_models: tuple[str, ...] = ("tiny-1x32@20", "tiny-1x32@200", "tiny-1x32@2000")  #: increasing volume
    volume_labels: tuple[str, ...] = ("20 texts", "200 texts", "2000 texts")
    #: pre-training volume of each volume model, in any one unit (tokens, say); None reads the texts
    #: of "tiny-...@n" specs
    pretraining_volumes: tuple[float, ...] | None = None
    datasets: tuple[str, ...] = ("reviews",)  #: two-sided datasets; the chapter's verdicts are the first's
    positive_sizes: tuple[int, ...] = (4, 16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16, 32)

    def __post_init__(self):
        super().__post_init__()
        for name in SERIES:
            specs, labels = getattr(self, f"{name}_models"), getattr(self, f"{name}_labels")
            if len(specs) != len(labels):
                raise ElasticError(f"{len(specs)} {name}_models but {len(labels)} {name}_labels: give one label per model")
        volumes(self)


def volumes(cfg: Config) -> tuple[float, ...]:
    """The pre-training volume of each volume model: ``cfg.pretraining_volumes``, or the ``@n``
    (pre-training texts) of tiny specs.

    Chapters: scaling. Paper: §4.3.
    """
    if cfg.pretraining_volumes:
        if len(cfg.pretraining_volumes) != len(cfg.volume_models):
            raise ElasticError(f"{len(cfg.pretraining_volumes)} pretraining_volumes for {len(cfg.volume_models)} "
                               "volume_models: give one volume per model")
        if min(cfg.pretraining_volumes) <= 0:
            raise ElasticError(f"pretraining_volumes={list(cfg.pretraining_volumes)} must be positive (a slope on log10)")
        return tuple(float(v) for v in cfg.pretraining_volumes)
    found = []
    for spec in cfg.volume_models:
        parsed = tiny_spec(spec)
        if parsed is None:
            raise ElasticError(f"volume model {spec!r} is not a tiny spec: give the pre-training volume of every "
                               "volume model in pretraining_volumes, e.g. [1.0e+12, 2.0e+12, 3.0e+12] (tokens)")
        found.append(float(parsed[2]))
    return tuple(found)


def trend(name: str, x, panels: list[dict]) -> dict:
    """The verdict on the claim of series ``name`` from its ``panels`` at positions ``x`` (in
    series order, sharing their seeds): :func:`elastic.claims.judge` on the per-seed slopes, or
    not judged where the design cannot give a slope.

    Chapters: scaling. Paper: §4.3, Figs. 5, 6, 10.
    """
    claim = SERIES[name]
    if len(set(x)) < 3:
        return claims.not_judged(claim, f"{len(set(x))} distinct {name}s: a slope with an interval needs 3 or more")
    if len(panels[0]["first_sizes"]) < 2:
        return claims.not_judged(claim, "one amount of positive data: the rebound statistic needs two")
    slopes, scale = claims.slope(x, panels)
    return claims.judge(claim, slopes, scale)


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    grids = [Grid(d, cfg.positive_sizes, cfg.negative_sizes) for d in cfg.datasets]
    specs = {"size": cfg.size_models, "volume": cfg.volume_models}
    distinct = list(dict.fromkeys([*cfg.size_models, *cfg.volume_models]))
    preflight(cfg, distinct, cfg.datasets, read=lambda: [draw(cfg, g) for g in grids])
    params, grid_panels = {}, {}  # a model in both series is loaded, trained and scored once
    with progress.experiment(len(distinct) * len(cfg.seeds) * sum(map(n_cells, grids)), "scaling cells") as bar:
        for spec in distinct:
            lab = Lab(cfg, spec)  # one at a time: the paper's series holds nine released models
            params[spec] = sum(p.numel() for p in lab.base.parameters())
            for grid in grids:
                panel = SeededGrid(lab, grid, progress=bar).panel()
                grid_panels[spec, grid.dataset] = {**panel, "rebound": claims.rebound(panel), "gain": claims.gain(panel)}
    positions = {"size": [params[s] for s in cfg.size_models], "volume": list(volumes(cfg))}
    data = {"datasets": list(cfg.datasets)}
    for name in SERIES:
        labels = getattr(cfg, f"{name}_labels")
        by_dataset = {d: [{**grid_panels[s, d], "label": label} for s, label in zip(specs[name], labels)]
                      for d in cfg.datasets}
        data[name] = {"labels": list(labels), "x": positions[name], "panels": by_dataset,
                      "claims": {d: trend(name, positions[name], panels) for d, panels in by_dataset.items()}}
    # the chapter's verdicts (what the findings page reads): the first dataset's
    data["claims"] = {SERIES[name]: data[name]["claims"][cfg.datasets[0]] for name in SERIES}
    return results.save("scaling", cfg, data, time.perf_counter() - start, summary=summary)


def decades(x) -> float:
    """The span of positions ``x`` in decades, log10(max / min).

    Chapters: scaling."""
    return math.log10(max(x) / min(x))


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's pages quote (see :func:`elastic.notebook.run`): each series' models,
    span, per-model rebound statistics and gains (seed means), and its verdict in words (and as
    plain text, ``sc_<series>_page``, for the chapter's page)."""
    dataset = cfg.datasets[0]
    out = {"sc_dataset": dataset, "sc_seeds": str(len(cfg.seeds)), "sc_pairs": str(cfg.n_pairs),
           "sc_sizes": ", ".join(map(str, cfg.positive_sizes)), "sc_neg_sizes": ", ".join(map(str, cfg.negative_sizes))}
    for name, claim in SERIES.items():
        series = data[name]
        panels = series["panels"][dataset]
        out.update({
            f"sc_{name}_models": ", ".join(f"`{p['model']}`" for p in panels),
            f"sc_{name}_x": ", ".join(f"{x:,.0f}" for x in series["x"]),
            f"sc_{name}_span": f"{decades(series['x']):.2f}",
            f"sc_{name}_rebound": ", ".join(f"{p['label']}: {claims.number(float(np.mean(p['rebound'])))}" for p in panels),
            f"sc_{name}_gain": ", ".join(f"{p['label']}: {claims.number(float(np.mean(p['gain'])))}" for p in panels),
            f"sc_{name}_verdict": claims.describe(data["claims"][claim]),
            f"sc_{name}_outcome": data["claims"][claim]["outcome"],
            # plain text for the chapter page (elastic.notebook.PLAIN_TEXT)
            f"sc_{name}_page": f"{data['claims'][claim]['outcome']} ({claims.describe(data['claims'][claim], words=False)})",
        })
    return out
