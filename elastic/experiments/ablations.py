"""Ablations of Appendix C of Ji et al. and the KL table, at the powered design of the rebound
chapter (:class:`elastic.rebound_grid.SeededGrid`: seeds, shared stages, the likelihood margin).

* DPO (Figures 7, 8): the rebound grid with DPO as the inverse alignment, negative responses as
  ``chosen`` and positive ones as ``rejected``. Its first passes are the rebound chapter's (same
  θ0, data and trainer fields), read from the cache. Claim ``dpo_rebound``.
* Reverse (Figure 9): negative data first, positive data second; rebound is then a fast *rise*.
  Claim ``reverse_rebound``.
* KL rebound (Table 3 of a third-party summary): on the rebound grid (the rebound chapter's
  models, from the cache), the KL to θ0 of the aligned models and of the same models after the
  most negative data. The summary's table reports the negative data needed to bring the KL below
  ε; a finite grid may never cross ε, so the claim (``kl_table``) compares where the grid ends
  instead, and the crossings are reported beside it (:func:`elastic.stats.threshold_crossing` on
  the seed means; None: not within the grid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from elastic import claims, progress, results
from elastic.experiments import pinned_threads
from elastic.lab import Lab, preflight
from elastic.rebound_grid import Grid, GridConfig, SeededGrid, draw, n_cells
from elastic.stats import threshold_crossing


@dataclass(frozen=True, kw_only=True)
class Config(GridConfig):
    dpo_models: tuple[str, ...] = ("tiny",)
    reverse_models: tuple[str, ...] = ("tiny",)
    kl_models: tuple[str, ...] = ("tiny",)
    dataset: str = "reviews"            #: the DPO and reverse ablations (the paper: IMDb)
    kl_dataset: str = "reviews"         #: the KL table (the summary: safety data)
    positive_sizes: tuple[int, ...] = (4, 16, 64)
    negative_sizes: tuple[int, ...] = (4, 8, 16, 32)
    kl_epsilon: float = 0.01            #: ε of Table 3 (nats per token), for the crossings


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    sizes = (cfg.positive_sizes, cfg.negative_sizes)
    # the reverse grid first: it shares nothing, while the KL and DPO grids reuse the rebound grid's
    # runs (its every model, its first passes), which a book run has trained by then
    jobs = {"reverse": (cfg.reverse_models, Grid(cfg.dataset, *sizes, reverse=True)),
            "kl": (cfg.kl_models, Grid(cfg.kl_dataset, *sizes)),
            "dpo": (cfg.dpo_models, Grid(cfg.dataset, *sizes, method="dpo"))}
    preflight(cfg, [spec for specs, _ in jobs.values() for spec in specs], [g.dataset for _, g in jobs.values()],
              read=lambda: [draw(cfg, g) for _, g in jobs.values()])
    labs, data = {}, {}  # one θ0 per model spec, shared by the three ablations
    total = len(cfg.seeds) * sum(len(specs) * n_cells(g) for specs, g in jobs.values())
    with progress.experiment(total, "ablation cells") as bar:
        for name, (specs, grid) in jobs.items():
            panels = []
            for spec in specs:
                lab = labs[spec] = labs.get(spec) or Lab(cfg, spec)
                panels.append(SeededGrid(lab, grid, kl=name == "kl", progress=bar).panel())
            data[name] = {"panels": panels}
    for panel in data["kl"]["panels"]:
        panel["table"] = kl_table(panel, cfg.kl_epsilon)
    data["claims"] = verdicts(*(data[name]["panels"][0] for name in ("dpo", "reverse", "kl")))
    return results.save("ablations", cfg, data, time.perf_counter() - start, summary=summary)


def verdicts(dpo: dict, reverse: dict, kl: dict) -> dict:
    """The chapter's claims, judged on the first model of each ablation (:mod:`elastic.claims`);
    a grid with one first-stage amount judges none of them.

    Chapters: ablations. Paper: App. C, Figs. 7-9, Table 3.
    """
    out = {}
    for name, panel in (("dpo_rebound", dpo), ("reverse_rebound", reverse)):
        out[name] = (claims.judge(name, claims.rebound(panel), float(np.mean(claims.gain(panel))))
                     if len(panel["first_sizes"]) > 1 else claims.not_judged(name, "one amount of first-stage data"))
    if len(kl["first_sizes"]) > 1:
        values, scales = claims.kl_recovery(kl)
        out["kl_table"] = claims.judge("kl_table", values, float(np.mean(scales)))
    else:
        out["kl_table"] = claims.not_judged("kl_table", "one amount of positive data")
    return out


def kl_table(panel: dict, epsilon: float) -> dict:
    """Table 3's rows from the KL corners (seed means): the post-alignment KL of the smallest and
    the largest positive amount, their KL after the most negative data, and the negative data that
    brings each below ``epsilon``, interpolated between 0 and the grid's last negative amount
    (None: not within the grid)."""
    last = panel["second_sizes"][-1]
    rows = {}
    for which, amount in (("first", panel["first_sizes"][0]), ("last", panel["first_sizes"][-1])):
        start = float(np.mean([k[f"{which}_start"] for k in panel["kl"]]))
        end = float(np.mean([k[f"{which}_end"] for k in panel["kl"]]))
        rows[which] = {"positive_size": amount, "post_alignment_kl": start, "kl_after_negative": end,
                       "negative_needed": threshold_crossing([0, last], [start, end], epsilon)}
    return {"epsilon": epsilon, "negative_size": last, "rows": rows}


def kl_rows(table: dict) -> list[dict]:
    """The rows of a KL table (:func:`kl_table`), one per positive amount: a grid of one amount
    has its smallest as its largest, and one row, not the same row twice.

    Chapters: ablations.
    """
    return list({row["positive_size"]: row for row in table["rows"].values()}.values())


def negative_needed(row: dict, unit: str = "") -> str:
    """A KL table row's negative data to bring the KL below ε, in words: "not within the grid",
    "none: it is below ε before any", or the interpolated amount (with ``unit``).

    Chapters: ablations.
    """
    if row["negative_needed"] is None:
        return "not within the grid"
    return "none: it is below ε before any" if row["negative_needed"] == 0 else f"{row['negative_needed']:.1f}{unit}"


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): the design, each claim's
    verdict in words (:func:`elastic.claims.describe`) and the KL table's corners."""
    v, dpo = data["claims"], data["dpo"]["panels"][0]
    table = data["kl"]["panels"][0]["table"]
    rows = kl_rows(table)

    def each(text):
        return " and ".join(text(row) for row in rows)

    return {
        "ab_model": f"`{dpo['model']}`",
        "ab_seeds": str(len(dpo["seeds"])),
        "ab_pairs": str(dpo["n_pairs"]),
        "ab_sizes": ", ".join(map(str, dpo["first_sizes"])),
        "ab_neg_sizes": ", ".join(map(str, dpo["second_sizes"])),
        "ab_dpo_verdict": claims.describe(v["dpo_rebound"]),
        "ab_reverse_verdict": claims.describe(v["reverse_rebound"]),
        "ab_kl_verdict": claims.describe(v["kl_table"]),
        "ab_eps": f"{table['epsilon']:g}",
        "ab_kl_neg": str(table["negative_size"]),
        "ab_kl_amounts": each(lambda row: str(row["positive_size"])),
        "ab_kl_post": each(lambda row: f"{row['post_alignment_kl']:.3g}"),
        "ab_kl_end": each(lambda row: f"{row['kl_after_negative']:.3g}"),
        "ab_kl_needed": each(lambda row: negative_needed(row, " samples")),
    }
