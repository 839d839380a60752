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

Each training seed draws its own SFT records and queries, and fixes its own data order, adapter
initialisation and sampling; θ0 is shared. The pre-registered claims ``resistance`` (KL) and
``resistance_loss`` (cross-entropy) of :mod:`elastic.claims` are judged on one value per seed,
the mean over the seed's cells (model, dataset, pair of slices) of forward minus inverse.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass

import numpy as np

from elastic import claims, progress, results, score, train
from elastic.experiments import pinned_threads
from elastic.errors import ElasticError
from elastic.lab import AlignmentConfig, Lab, preflight
from elastic.prose import count
from elastic.tasks import records


@dataclass(frozen=True, kw_only=True)
class Config(AlignmentConfig):
    models: tuple[str, ...] = ("tiny",)                 #: base models θ0
    datasets: tuple[str, ...] = ("dialogues", "reviews")  #: SFT data, one table block each
    n_train: int = 48                                   #: SFT records of the sliced epoch
    n_slices: int = 3                                   #: θ1..θn; every pair i < j is compared
    n_queries: int = 16                                 #: the shared query set Q
    seeds: tuple[int, ...] = (0, 1, 2)                  #: training seeds: records, queries, order, adapters, sampling

    def __post_init__(self):
        super().__post_init__()
        if self.n_slices < 2:
            raise ElasticError(f"n_slices={self.n_slices}: give at least 2 slices (one pair to compare)")


@pinned_threads
def run(cfg: Config) -> dict:
    start = time.perf_counter()
    pairs = list(itertools.combinations(range(1, cfg.n_slices + 1), 2))
    preflight(cfg, cfg.models, cfg.datasets, read=lambda: [_pool(cfg, d, s) for d in cfg.datasets for s in cfg.seeds])
    rows = []
    n_cells = len(cfg.models) * len(cfg.datasets) * len(pairs) * len(cfg.seeds)
    with progress.experiment(n_cells, "resistance cells") as bar:
        for spec in cfg.models:
            lab = Lab(cfg, spec)  # θ0, shared by the seeds
            for dataset in cfg.datasets:
                rows.append({"model": spec, "dataset": dataset,
                             "seeds": [{"seed": s, "pairs": _block(cfg, lab, dataset, s, pairs, bar)} for s in cfg.seeds]})
    data = {"rows": rows, "pairs": pairs, "seeds": list(cfg.seeds), "claims": judge(rows, cfg.seeds)}
    return results.save("resistance", cfg, data, time.perf_counter() - start, summary=summary)


def _block(cfg: Config, lab: Lab, dataset: str, seed: int, pairs, bar) -> list[dict]:
    pool = _pool(cfg, dataset, seed)
    queries = [r.prompt for r in pool[:cfg.n_queries]]
    texts = [r.text for r in pool[cfg.n_queries:]]
    key = [lab.key(), "resistance", dataset, cfg.n_train, cfg.n_slices, cfg.n_queries, cfg.max_new_tokens, seed]

    @functools.cache
    def slices():
        _, out = lab.fit(lab.base, texts, ["slices", *key], n_slices=cfg.n_slices, seed=seed)
        return [lab.load_slice(lab.base, path) for path in train.slice_dirs(out)]

    def responses(k: int) -> list[str]:
        return lab.store.cell("responses", [*key, k], lambda: lab.respond(slices()[k - 1], queries, seed=seed))

    def path(i: int, j: int):
        """θ_ij†: slice θi fine-tuned on the responses D_j of slice θj."""
        model, _ = lab.fit(slices()[i - 1], [q + r for q, r in zip(queries, responses(j))], ["path", *key, i, j],
                           seed=seed)
        return model

    def compare(i: int, j: int) -> dict:
        inverse_model, forward_model = path(j, i), path(i, j)
        d_i, d_j = responses(i), responses(j)
        measure = functools.partial(_distances, lab, queries)
        inverse, forward = measure(slices()[i - 1], inverse_model, d_i), measure(slices()[j - 1], forward_model, d_j)
        return {"i": i, "j": j, "inverse": inverse["ce"], "forward": forward["ce"],
                "inverse_kl": inverse["kl"], "forward_kl": forward["kl"]}

    out = []
    for i, j in pairs:
        out.append(lab.store.cell("resistance", [*key, i, j], lambda: compare(i, j)))
        bar.update()
    return out


def _pool(cfg: Config, dataset: str, seed: int) -> list:
    """Seed ``seed``'s queries Q (first ``n_queries``) and SFT records of the sliced epoch, one side only."""
    return records(dataset, "positive", cfg.n_queries + cfg.n_train, seed, cfg.source)


def _distances(lab: Lab, queries, target, trained, responses) -> dict:
    # Each response ends with its end-of-sequence token, as the paths train on it (elastic.train.sft
    # ends every text): the contexts scored are then the prompt's end and every response prefix,
    # including the whole response, where the slice chose to stop. A slice that answers with EOS at
    # once (seen: SmolLM2 after SFT on 12 dialogues) still has one context, not none.
    texts = [q + r + lab.tokenizer.eos_token for q, r in zip(queries, responses)]
    return score.distances(target, trained, lab.tokenizer, texts, prompts=list(queries))  # one pass for both


def cells(rows: list[dict], seed_index: int) -> list[dict]:
    """The (model, dataset, pair of slices) cells of one seed."""
    return [p for row in rows for p in row["seeds"][seed_index]["pairs"]]


def per_seed(rows: list[dict], n_seeds: int, kind: str) -> tuple[list[list[float]], float]:
    """Per seed, per cell: forward minus inverse (``kind`` "kl" or "ce"); and the natural scale,
    the mean over seeds and cells of the two residual KLs (the losses' excess over the targets'
    entropies)."""
    suffix = "_kl" if kind == "kl" else ""
    gaps = [[p[f"forward{suffix}"] - p[f"inverse{suffix}"] for p in cells(rows, k)] for k in range(n_seeds)]
    scale = float(np.mean([(p["forward_kl"] + p["inverse_kl"]) / 2 for k in range(n_seeds) for p in cells(rows, k)]))
    return gaps, scale


def judge(rows: list[dict], seeds) -> dict:
    """The verdicts on ``resistance`` (KL) and ``resistance_loss`` (cross-entropy): each a
    t-interval over the seeds' means over their cells (:func:`elastic.claims.judge`).

    Chapters: resistance. Paper: §4.1, Table 1.
    """
    out = {}
    for name, kind in (("resistance", "kl"), ("resistance_loss", "ce")):
        gaps, scale = per_seed(rows, len(seeds), kind)
        out[name] = claims.judge(name, [float(np.mean(g)) for g in gaps], scale)
    return out


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`)."""
    rows, verdicts = data["rows"], data["claims"]
    n_seeds = len(data["seeds"])
    kl, _ = per_seed(rows, n_seeds, "kl")
    ce, _ = per_seed(rows, n_seeds, "ce")
    n_cells = sum(len(g) for g in kl)
    return {
        "rs_n_cells_seed": str(len(kl[0])),
        "rs_n_seeds": str(n_seeds),
        "rs_resists_ce": count(sum(g > 0 for seed in ce for g in seed), "seeded cell", of=n_cells),
        "rs_resists_kl": count(sum(g > 0 for seed in kl for g in seed), "seeded cell", of=n_cells),
        "rs_models": ", ".join(f"`{m}`" for m in dict.fromkeys(r["model"] for r in rows)),
        "rs_gap_range": f"{min(min(s) for s in ce):+.4f} to {max(max(s) for s in ce):+.4f}",
        "rs_verdict_kl": claims.describe(verdicts["resistance"]),
        "rs_verdict_ce": claims.describe(verdicts["resistance_loss"]),
    }
