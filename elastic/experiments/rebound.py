"""Rebound (§4.2, Figure 4 of Ji et al.): the more positive data a model was aligned with, the faster
it falls back under a little negative data.

For each base model and dataset, a seeded grid (:class:`elastic.rebound_grid.SeededGrid`): per
training seed, one pass of SFT over positive data kept at each positive amount, then from each of
those models one pass over negative data kept at each negative amount. Every model is scored by its
likelihood margin on the seed's held-out pairs (the primary metric, :mod:`elastic.margin`); the
paper's generate-and-score metric is kept for the first seed as the secondary one, for the figure
beside the paper's. The verdicts (claims ``rebound`` and ``rebound_decelerates`` of
:mod:`elastic.claims`) are t-intervals over the seeds, computed here and stored with the results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from elastic import claims, progress, results
from elastic.experiments import pinned_threads
from elastic.lab import Lab, preflight
from elastic.rebound_grid import Grid, GridConfig, SeededGrid, draw, n_cells


@dataclass(frozen=True, kw_only=True)
class Config(GridConfig):
    models: tuple[str, ...] = ("tiny",)
    datasets: tuple[str, ...] = ("reviews",)   #: two-sided datasets (reviews/imdb, dialogues/beavertails)
    positive_sizes: tuple[int, ...] = (4, 16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16, 32)


def verdicts(panel: dict) -> dict:
    """The rebound claims judged on one panel (:mod:`elastic.claims`): a grid with one positive
    amount cannot judge rebound, one with one negative amount not its deceleration.

    Chapters: rebound. Paper: §4.2, Fig. 4.
    """
    out = {}
    if len(panel["first_sizes"]) < 2:
        out["rebound"] = claims.not_judged("rebound", "one amount of positive data")
    else:
        out["rebound"] = claims.judge("rebound", claims.rebound(panel), float(np.mean(claims.gain(panel))))
    if len(panel["second_sizes"]) < 2:
        out["rebound_decelerates"] = claims.not_judged("rebound_decelerates", "one amount of negative data")
    else:
        values, scales = claims.deceleration(panel)
        out["rebound_decelerates"] = claims.judge("rebound_decelerates", values, float(np.mean(scales)))
    return out


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    grids = [Grid(d, cfg.positive_sizes, cfg.negative_sizes) for d in cfg.datasets]
    preflight(cfg, cfg.models, cfg.datasets, scored=cfg.datasets, read=lambda: [draw(cfg, g) for g in grids])
    panels = []
    with progress.experiment(len(cfg.models) * len(cfg.seeds) * sum(map(n_cells, grids)), "rebound cells") as bar:
        for spec in cfg.models:
            lab = Lab(cfg, spec)
            for grid in grids:
                panel = SeededGrid(lab, grid, secondary=True, progress=bar).panel()
                panels.append({**panel, "claims": verdicts(panel)})
    # the chapter's verdicts: the preset's first model on its first dataset
    data = {"panels": panels, "claims": panels[0]["claims"]}
    return results.save("rebound", cfg, data, time.perf_counter() - start, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): the first panel's design,
    its alignment gain, its verdicts in words (:func:`elastic.claims.describe`) and the paper's
    metric on its first seed."""
    first, v = data["panels"][0], data["claims"]
    gain = claims.gain(first)
    sec = first["secondary"]
    return {
        "rb_model": f"`{first['model']}`",
        "rb_dataset": first["dataset"],
        "rb_seeds": str(len(first["seeds"])),
        "rb_pairs": str(first["n_pairs"]),
        "rb_sizes": ", ".join(map(str, first["first_sizes"])),
        "rb_neg_sizes": ", ".join(map(str, first["second_sizes"])),
        "rb_base": claims.number(first["curves"]["base"]),
        "rb_gain": f"{claims.number(float(np.mean(gain)))} (seeds: {', '.join(map(claims.number, gain))})",
        "rb_verdict": claims.describe(v["rebound"]),
        "rb_decel_verdict": claims.describe(v["rebound_decelerates"]),
        "rb_sec_name": sec["metric_name"],
        "rb_sec_n": str(len(sec["prompts"])),
        "rb_sec_base": f"{np.mean(sec['base']):.3f}",
        "rb_sec_aligned": ", ".join(f"{np.mean(row[0]):.3f}" for row in sec["cells"]),
        "rb_sec_end": ", ".join(f"{np.mean(row[-1]):.3f}" for row in sec["cells"]),
    }
