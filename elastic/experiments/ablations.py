"""Ablations of Appendix C of Ji et al. and the KL table.

* DPO (Figures 7, 8): the rebound grid with DPO as the inverse alignment, negative responses as
  ``chosen`` and positive ones as ``rejected``, over a series of models.
* Reverse (Figure 9): negative data first, positive data second; rebound is then a fast *rise*.
* KL rebound (Table 3): for each amount of positive (safe) data, the KL of the aligned model to θ0,
  and how much negative data brings that KL back below ε, interpolated on the negative grid
  (:func:`elastic.stats.threshold_crossing`; None: not within the grid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from elastic import progress, results
from elastic.experiments import pinned_threads
from elastic.lab import AlignmentConfig, Lab, preflight
from elastic.prose import words
from elastic.rebound_grid import Grid, Rebound, n_cells
from elastic.stats import spearman, threshold_crossing


@dataclass(frozen=True, kw_only=True)
class Config(AlignmentConfig):
    dpo_models: tuple[str, ...] = ("tiny",)
    reverse_models: tuple[str, ...] = ("tiny",)
    kl_models: tuple[str, ...] = ("tiny",)
    dataset: str = "reviews"            #: the DPO and reverse ablations (the paper: IMDb)
    kl_dataset: str = "dialogues"       #: the KL table (the paper: safety data)
    positive_sizes: tuple[int, ...] = (16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16)
    kl_epsilon: float = 0.01            #: ε of Table 3 (nats per token)


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    sizes = (cfg.positive_sizes, cfg.negative_sizes)
    jobs = {"dpo": (cfg.dpo_models, Grid(cfg.dataset, *sizes, method="dpo")),
            "reverse": (cfg.reverse_models, Grid(cfg.dataset, *sizes, reverse=True)),
            "kl": (cfg.kl_models, Grid(cfg.kl_dataset, *sizes))}
    max_size = max((*cfg.positive_sizes, *cfg.negative_sizes))
    datasets = (cfg.dataset, cfg.kl_dataset)
    preflight(cfg, [spec for specs, _ in jobs.values() for spec in specs], datasets,
              lambda: [Rebound.draw(cfg, d, max_size) for d in dict.fromkeys(datasets)])
    labs = {}  # one θ0 per model spec, shared by the three ablations
    data = {}
    with progress.experiment(sum(len(m) * n_cells(g) for m, g in jobs.values()), "ablation cells") as bar:
        for name, (specs, grid) in jobs.items():
            panels = []
            for spec in specs:
                lab = labs[spec] = labs.get(spec) or Lab(cfg, spec)
                panels.append({"model": spec, **Rebound(lab, grid.dataset, max_size).grid(grid, bar)})
            data[name] = {"panels": panels}
    data["kl"]["table"] = [kl_row(p, cfg.kl_epsilon) for p in data["kl"]["panels"]]
    data["kl"]["epsilon"] = cfg.kl_epsilon
    for name in ("dpo", "reverse"):
        panels = data[name]["panels"]
        data[name]["verdict"] = {
            "n_rebound": sum(p["verdict"]["drop_grows_with_first_size"] is True for p in panels),
            "strength": [p["verdict"]["rebound_strength"] for p in panels],
            "strength_rank_correlation": spearman(range(len(panels)), [p["verdict"]["rebound_strength"] for p in panels]),
        }
    return results.save("ablations", cfg, data, time.perf_counter() - start, summary=summary)


def kl_row(panel: dict, epsilon: float) -> dict:
    """Table 3 for one model: per positive amount, the aligned model's KL to θ0 and the negative
    data needed to bring it below ``epsilon``; the prediction is that the latter falls as the
    former's positive amount grows."""
    cells = []
    for curve in panel["curves"]:
        kl = curve["kl_to_base"]
        cells.append({"positive_size": curve["first_size"], "post_alignment_kl": kl[0],
                      "negative_needed": threshold_crossing(curve["second_sizes"], kl, epsilon)})
    needed = [c["negative_needed"] for c in cells]
    if len(needed) < 2 or None in needed:  # one amount of positive data, or ε never reached
        falls = None
    else:
        falls = all(a > b for a, b in zip(needed, needed[1:]))
    return {"model": panel["model"], "cells": cells, "needed_falls": falls}


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): the first model of each
    ablation, and its row of the KL table."""
    out = {}
    for name in ("dpo", "reverse"):
        panel = data[name]["panels"][0]
        out[f"ab_{name}_drops"] = ", ".join(f"{d:+.3f}" for d in panel["verdict"]["initial_drop"])
        out[f"ab_{name}_sizes"] = ", ".join(str(c["first_size"]) for c in panel["curves"])
        out[f"ab_{name}_verdict"] = words(panel["verdict"]["drop_grows_with_first_size"], "grows", "does not grow")
    kl = data["kl"]
    row = kl["table"][0]
    unreached = any(c["negative_needed"] is None for c in row["cells"])
    out.update({
        "ab_model": f"`{data['dpo']['panels'][0]['model']}`",
        "ab_eps": f"{kl['epsilon']:g}",
        "ab_kl_post": ", ".join(f"{c['post_alignment_kl']:.4f}" for c in row["cells"]),
        "ab_kl_needed": ", ".join("none in the grid" if c["negative_needed"] is None
                                  else f"{c['negative_needed']:.1f}" for c in row["cells"]),
        "ab_kl_sizes": ", ".join(str(c["positive_size"]) for c in row["cells"]),
        "ab_kl_verdict": ("cannot be compared, since the KL stays above ε within the grid for some amounts "
                          "(the paper's Table 3 has it reached everywhere)" if unreached else
                          words(row["needed_falls"], "falls, as the paper's Table 3 predicts",
                                "does not fall with more positive data, unlike the paper's Table 3")),
    })
    return out
