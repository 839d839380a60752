"""Resistance (§4.1, Table 1 of Ji et al.): inverse alignment is easier than forward alignment.

For each base model θ0 and SFT dataset: one epoch of SFT keeps the slices θ1..θn at equal fractions
of the epoch. Each slice θk answers a shared query set Q, giving the dataset D_k. For a pair of
slices i < j, *path B* (inverse alignment) fine-tunes θj on D_i into θ_ji†, *path A* (forward
alignment) fine-tunes θi on D_j into θ_ij†, with the same steps and settings. The table compares

    inverse = H(p_θi, p_θji†)   with   forward = H(p_θj, p_θij†),

cross-entropies in nats per response token on Q and the target slice's own responses (the metric
of the arXiv version's Table 1; see :func:`elastic.score.cross_entropy`). Resistance means
inverse < forward. Because a cross-entropy also carries the entropy of its first argument, which
differs between θi and θj, we also record the same comparison in KL, which does not.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass

from elastic import progress, results, score, train
from elastic.experiments import pinned_threads
from elastic.lab import AlignmentConfig, Lab, preflight
from elastic.tasks import records


@dataclass(frozen=True, kw_only=True)
class Config(AlignmentConfig):
    models: tuple[str, ...] = ("tiny",)                 #: base models θ0
    datasets: tuple[str, ...] = ("dialogues", "reviews")  #: SFT data, one table block each
    n_train: int = 48                                   #: SFT records of the sliced epoch
    n_slices: int = 3                                   #: θ1..θn; every pair i < j is compared
    n_queries: int = 16                                 #: the shared query set Q


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    pairs = list(itertools.combinations(range(1, cfg.n_slices + 1), 2))
    preflight(cfg, cfg.models, read=lambda: [_pool(cfg, d) for d in cfg.datasets])
    rows = []
    with progress.experiment(len(cfg.models) * len(cfg.datasets) * len(pairs), "resistance cells") as bar:
        for spec in cfg.models:
            lab = Lab(cfg, spec)
            for dataset in cfg.datasets:
                rows.append({"model": spec, "dataset": dataset, "pairs": _block(cfg, lab, dataset, pairs, bar)})
    data = {"rows": rows, "pairs": pairs, "verdict": verdict(rows)}
    return results.save("resistance", cfg, data, time.perf_counter() - start, summary=summary)


def _block(cfg: Config, lab: Lab, dataset: str, pairs, bar) -> list[dict]:
    pool = _pool(cfg, dataset)
    queries = [r.prompt for r in pool[:cfg.n_queries]]
    texts = [r.text for r in pool[cfg.n_queries:]]
    key = [lab.key(), "resistance", dataset, cfg.n_train, cfg.n_slices, cfg.n_queries, cfg.max_new_tokens]

    @functools.cache
    def slices():
        _, out = lab.fit(lab.base, texts, ["slices", *key], n_slices=cfg.n_slices)
        return [lab.load_slice(lab.base, path) for path in train.slice_dirs(out)]

    def responses(k: int) -> list[str]:
        return lab.store.cell("responses", [*key, k], lambda: lab.respond(slices()[k - 1], queries))

    def path(i: int, j: int):
        """θ_ij†: slice θi fine-tuned on the responses D_j of slice θj."""
        model, _ = lab.fit(slices()[i - 1], [q + r for q, r in zip(queries, responses(j))], ["path", *key, i, j])
        return model

    def compare(i: int, j: int) -> dict:
        inverse_model, forward_model = path(j, i), path(i, j)
        d_i, d_j = responses(i), responses(j)
        measure = functools.partial(_distances, lab, queries)
        inverse, forward = measure(slices()[i - 1], inverse_model, d_i), measure(slices()[j - 1], forward_model, d_j)
        return {"i": i, "j": j, "inverse": inverse["ce"], "forward": forward["ce"],
                "inverse_kl": inverse["kl"], "forward_kl": forward["kl"],
                "resists": inverse["ce"] < forward["ce"], "resists_kl": inverse["kl"] < forward["kl"]}

    out = []
    for i, j in pairs:
        out.append(lab.store.cell("resistance", [*key, i, j], lambda: compare(i, j)))
        bar.update()
    return out


def _pool(cfg: Config, dataset: str) -> list:
    """The queries Q (first ``n_queries``) and the SFT records of the sliced epoch, one side only."""
    return records(dataset, "positive", cfg.n_queries + cfg.n_train, cfg.seed, cfg.source)


def _distances(lab: Lab, queries, target, trained, responses) -> dict:
    texts = [q + r for q, r in zip(queries, responses)]
    return score.distances(target, trained, lab.tokenizer, texts, prompts=list(queries))  # one pass for both


def verdict(rows: list[dict]) -> dict:
    """How many (model, dataset, pair) cells show resistance, by cross-entropy and by KL."""
    cells = [p for row in rows for p in row["pairs"]]
    return {"n_cells": len(cells), "n_resists": sum(p["resists"] for p in cells),
            "n_resists_kl": sum(p["resists_kl"] for p in cells),
            "all_resist": all(p["resists"] for p in cells)}


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    v, rows = data["verdict"], data["rows"]
    gaps = [p["forward"] - p["inverse"] for r in rows for p in r["pairs"]]
    return {
        "rs_n_cells": str(v["n_cells"]),
        "rs_n_resists": str(v["n_resists"]),
        "rs_n_resists_kl": str(v["n_resists_kl"]),
        "rs_models": ", ".join(f"`{m}`" for m in dict.fromkeys(r["model"] for r in rows)),
        "rs_gap_range": f"{min(gaps):+.4f} to {max(gaps):+.4f}",
        "rs_verdict": ("shows resistance in every cell, as the paper reports" if v["all_resist"] else
                       "shows resistance in some cells only" if v["n_resists"] else "does not show resistance"),
    }
