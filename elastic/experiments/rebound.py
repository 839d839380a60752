"""Rebound (§4.2, Figure 4 of Ji et al.): the more positive data a model was aligned with, the faster
it falls back under a little negative data.

For each base model and dataset: SFT θ0 on each amount of positive data (one run per amount, reused
for every negative amount, never retrained), then SFT each of those models on each amount of
negative data. Every model answers the same held-out prompts; the task's score (positive rate for
reviews, mean cost for dialogues) gives one curve per positive amount over the negative amounts, with
θ0's score as the reference line. The verdict is computed by
:func:`elastic.rebound_grid.rebound_verdict`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from elastic import progress, results
from elastic.experiments import pinned_threads
from elastic.lab import AlignmentConfig, Lab, preflight
from elastic.prose import words
from elastic.rebound_grid import Grid, Rebound, n_cells


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
    return results.save("rebound", cfg, data, time.perf_counter() - start, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): the first panel in
    numbers, and every panel's verdict counted."""
    v, first = data["verdict"], data["panels"][0]
    fv = first["verdict"]
    judged = fv["drop_difference"] is not None
    return {
        "rb_model": f"`{first['model']}`",
        "rb_dataset": first["dataset"],
        "rb_metric": first["metric_name"],
        "rb_base": f"{first['base']['metric']:.3f}",
        "rb_sizes": ", ".join(str(c["first_size"]) for c in first["curves"]),
        "rb_drops": ", ".join(f"{d:+.3f} ± {se:.3f}" for d, se in zip(fv["initial_drop"], fv["initial_drop_se"])),
        "rb_diff": f"{fv['drop_difference']:+.3f} ± {fv['drop_difference_se']:.3f}" if judged else "not defined",
        "rb_noise": words(fv["drop_difference_beyond_noise"] if judged else None,
                          "more than two standard errors from zero",
                          "within two standard errors of zero: on this grid it cannot be told apart from noise",
                          "cannot be judged with one amount of positive data"),
        "rb_early": f"{fv['early_rate']:.4f}",
        "rb_late": f"{fv['late_rate']:.4f}",
        "rb_n_panels": str(v["n_panels"]),
        "rb_n_rebound": str(v["n_rebound"]),
        "rb_n_fast": str(v["n_fast_then_slow"]),
        "rb_verdict": ("cannot judge (one amount of positive data)" if not v["n_judged"] else
                       "shows" if v["n_rebound"] == v["n_judged"] else
                       "partly shows" if v["n_rebound"] else "does not show"),
        "rb_fast_verdict": words(fv["fast_then_slow"], "falls faster at first than later",
                                 "does not fall faster at first than later"),
    }
