"""The rebound protocol of §4.2, §4.3 and Appendix C (Ji et al., ACL 2025): a first fine-tuning
stage on one side of a dataset at several amounts, then a second stage on the other side at several
amounts, every model scored on the same held-out data, and the verdict on the curves.

:class:`SeededGrid` is the powered design the rebound, scaling and ablations chapters judge the
paper's claims with (issue #12); :func:`rebound_verdict` reads one curve the paper's way (the
rebound exercise). Stages are shared, which is what makes several seeds affordable on a CPU:

  - **one first pass per seed**: one epoch of SFT at a constant learning rate over the seed's
    first-side records, with the model kept after the first a_i samples (a *slice*;
    :func:`elastic.train.sft` with ``n_slices`` as sample counts). With a constant rate a slice is
    exactly a 1-epoch run on a nested random subset of the data, so the A first amounts cost one
    run, not A;
  - **one second pass per first-stage model**: fresh adapters, one pass over the seed's
    second-side records (SFT, or DPO with the second side chosen and the first rejected), kept
    after each b_j.

  A *seed* s fixes the draw of the training records (and so their order), the trainer's data
  order and the adapters' initialisation, and the seed's own held-out pairs
  (:func:`elastic.margin.pairs`), so the per-seed statistics of :mod:`elastic.claims` are
  independent draws. θ0 is shared by all seeds. Every model is scored by its likelihood margin on
  the seed's pairs (:mod:`elastic.margin`), the primary metric; the paper's generate-and-score
  metric (the secondary one) is computed for the first seed only, when asked, so that the book can
  still be set beside the paper's figures. Every run and score is cached (:class:`elastic.lab.Store`),
  so a killed grid resumes and chapters with the same θ0, data and trainer fields share stages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from elastic import margin, score, train
from elastic.cache import source_key
from elastic.errors import ElasticError
from elastic.lab import AlignmentConfig, Lab
from elastic.progress import stage
from elastic.stats import spearman, standard_error
from elastic.tasks import SENTIMENT_METRICS, SIGNS, records, task_of

#: Bump when what a seeded grid cell stores or how it is computed changes, so old cells are not reused.
GRID_VERSION = 1


@dataclass(frozen=True)
class Grid:
    """One rebound grid: first stage on ``first`` data at each of ``first_sizes``, then ``method``
    on the opposite side at each of ``second_sizes`` (0 = the first-stage model itself).

    Chapters: rebound, scaling, ablations. Paper: §4.2, Fig. 4.
    """

    dataset: str
    first_sizes: tuple[int, ...]
    second_sizes: tuple[int, ...]
    method: str = "sft"            #: "sft" or "dpo" for the second stage
    reverse: bool = False          #: negative first, positive second (Fig. 9)

    @property
    def sides(self) -> tuple[str, str]:
        return ("negative", "positive") if self.reverse else ("positive", "negative")


def n_cells(grid: Grid) -> int:
    """How many cells (models scored) ``grid`` holds: θ0, then each first-stage model and its
    second-stage models.

    Chapters: rebound, scaling, ablations. Paper: §4.2.
    """
    return 1 + len(grid.first_sizes) * (1 + len(grid.second_sizes))


def rebound_verdict(curves: list[dict], sign: int) -> dict:
    """Numbers behind "rebound" (§4.2), on the aligned scale ``sign * metric`` (larger = more aligned):

    * ``initial_drop[i]``: the fall from the first-stage model to the first second-stage size, for
      the i-th first-stage size; rebound means it grows with the amount of first-stage data (and
      is a fall, > 0, at the largest amount);
    * ``early_rate`` / ``late_rate``: the fall per sample over the first and the last step of the
      second-stage sizes, averaged over the curves; "fast, then slow" means early > late and
      early > 0.

    A verdict that a grid is too small to judge (one first-stage size; fewer than two second-stage
    sizes) is None, not False.

    Every model answers the same held-out prompts, so a difference of scores has a paired standard
    error over prompts: ``initial_drop_se[i]`` for each drop, and ``drop_difference`` (the drop at
    the largest first-stage size minus the drop at the smallest) with ``drop_difference_se``;
    ``drop_difference_beyond_noise`` says whether it exceeds two of them.
    """
    aligned = [sign * np.asarray(c["metric"]) for c in curves]
    sizes = np.asarray(curves[0]["second_sizes"], dtype=float)
    drops = [float(a[0] - a[1]) for a in aligned]
    early = float(np.mean([(a[0] - a[1]) / (sizes[1] - sizes[0]) for a in aligned]))
    late = float(np.mean([(a[-2] - a[-1]) / (sizes[-1] - sizes[-2]) for a in aligned]))
    per_prompt = [sign * np.asarray(c["per_prompt"]) for c in curves]  # (second sizes, prompts)
    drop_per_prompt = [v[0] - v[1] for v in per_prompt]
    difference = drop_per_prompt[-1] - drop_per_prompt[0]
    difference_se = standard_error(difference)
    return {
        "initial_drop": drops,
        "initial_drop_se": [standard_error(d) for d in drop_per_prompt],
        # a rise is not a drop: both verdicts need the score to actually fall
        "drop_grows_with_first_size": bool(drops[-1] > max(drops[0], 0)) if len(drops) > 1 else None,
        "drop_rank_correlation": spearman(range(len(drops)), drops),
        "drop_difference": float(difference.mean()) if len(drops) > 1 else None,
        "drop_difference_se": difference_se if len(drops) > 1 else None,
        "drop_difference_beyond_noise": bool(abs(difference.mean()) > 2 * difference_se) if len(drops) > 1 else None,
        "early_rate": early, "late_rate": late,
        "fast_then_slow": bool(early > max(late, 0)) if len(sizes) > 2 else None,
        "rebound_strength": float(np.mean(drops)),
    }


# --- the powered design ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GridConfig(AlignmentConfig):
    """The fields of a :class:`SeededGrid` beside :class:`~elastic.lab.AlignmentConfig`'s (whose
    ``seed`` fixes θ0 and what every seed shares).

    Chapters: rebound, scaling, ablations.
    """

    seeds: tuple[int, ...] = (0, 1, 2)  #: training seeds: data draw and order, adapter init, held-out pairs
    n_pairs: int = 16                   #: held-out pairs per seed, scored by the likelihood margin
    #: scored tokens of each held-out continuation (0: all): enough to reach its first sentiment
    #: words, and a shorter text costs less to score (a byte-level tiny model needs more)
    margin_tokens: int = 0
    eval_batch_size: int = 32           #: texts per forward pass when scoring margins

    def __post_init__(self):
        super().__post_init__()
        if self.n_pairs < 2:
            raise ElasticError(f"n_pairs={self.n_pairs}: give at least 2 held-out pairs per seed")
        if self.n_eval > self.n_pairs:
            raise ElasticError(f"n_eval={self.n_eval} is more than n_pairs={self.n_pairs}: the paper's metric samples "
                               "the prompts of the first n_eval held-out pairs; lower n_eval or raise n_pairs")
        if self.num_train_epochs != 1:
            # a slice after n samples is the run on those n samples only within the first epoch
            raise ElasticError(f"num_train_epochs={self.num_train_epochs}: a seeded grid trains one epoch "
                               "per stage (its slices are its amounts); set num_train_epochs: 1")


def check_sizes(cfg: GridConfig, grid: Grid) -> None:
    """The amounts of a grid are increasing, and each a whole number of optimizer steps (a slice
    is kept after a step).

    Chapters: rebound, scaling, ablations.
    """
    batch = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps
    for name, sizes in (("first_sizes", grid.first_sizes), ("second_sizes", grid.second_sizes)):
        if not sizes or list(sizes) != sorted(set(sizes)) or sizes[0] < 1:
            raise ElasticError(f"{name}={list(sizes)} must be increasing positive amounts, e.g. [4, 16, 128]")
        uneven = [n for n in sizes if n % batch]
        if uneven:
            raise ElasticError(f"{name}={list(sizes)}: {uneven} are not whole optimizer steps of {batch} samples; "
                               "give multiples of per_device_train_batch_size x gradient_accumulation_steps")


class SeededGrid:
    """One :class:`Grid` of one θ0 (a :class:`~elastic.lab.Lab`) over the config's seeds, at the
    powered design of the module docstring: :meth:`panel` trains what is not cached and returns
    every score. ``kl``: also KL(θ || θ0) of the grid's four corners (claim ``kl_table``);
    ``secondary``: also the paper's generate-and-score metric for the first seed.

    Chapters: rebound, scaling, ablations. Paper: §4.2, App. C.
    """

    def __init__(self, lab: Lab, grid: Grid, *, kl: bool = False, secondary: bool = False, progress=None):
        check_sizes(lab.cfg, grid)
        self.lab, self.grid, self.kl, self.secondary, self.progress = lab, grid, kl, secondary, progress
        self.cfg: GridConfig = lab.cfg
        self.task = task_of(grid.dataset)

    def _key(self, *parts) -> list:
        g = self.grid
        return [GRID_VERSION, self.lab.key(), g.dataset, g.sides[0], list(g.first_sizes), *parts]

    def _second_key(self, seed: int, i: int, *parts) -> list:
        g = self.grid
        return self._key("second", seed, i, g.method, list(g.second_sizes), *parts)

    # --- runs -----------------------------------------------------------------------------------------

    def _first_run(self, seed: int):
        """The first pass of ``seed``: its run directory, trained if not cached."""
        g, lab = self.grid, self.lab
        first = g.sides[0]
        out = lab.store.run_dir(self._key("first", seed))
        texts = [r.text for r in records(g.dataset, first, max(g.first_sizes), seed, self.cfg.source)]
        _seed_everything(seed)
        stage(f"seed {seed}: SFT on {len(texts)} {first} texts")
        train.sft(lab.trainable(lab.base), lab.tokenizer, texts, output_dir=out, args=lab._args(seed=seed),
                  n_slices=list(g.first_sizes))
        return out

    def _second_run(self, seed: int, i: int, parent, examples):
        """The second pass of ``seed`` from first-stage model ``i``: its run directory. ``examples()``
        are the seed's second-side records tokenized once, shared by the passes of every first model."""
        g, cfg, lab = self.grid, self.cfg, self.lab
        first, second = g.sides
        out = lab.store.run_dir(self._second_key(seed, i))
        n = max(g.second_sizes)
        _seed_everything(seed)
        model = lab.trainable(parent)
        stage(f"seed {seed}: {g.method.upper()} on {n} {second} after {g.first_sizes[i]} {first}")
        if g.method == "sft":
            train.sft(model, lab.tokenizer, examples(), output_dir=out, args=lab._args(seed=seed),
                      n_slices=list(g.second_sizes))
        else:
            # DPO towards the second side over the first, paired record by record on the chosen
            # record's prompt: the inverse alignment of Appendix C
            chosen = records(g.dataset, second, n, seed, cfg.source)
            rejected = records(g.dataset, first, n, seed, cfg.source)
            train.dpo(model, lab.tokenizer, [r.prompt for r in chosen], [r.response for r in chosen],
                      [r.response for r in rejected], output_dir=out,
                      args=lab._args(seed=seed, beta=cfg.dpo_beta), n_slices=list(g.second_sizes))
        return out

    # --- one seed -------------------------------------------------------------------------------------

    def _seed(self, seed: int) -> dict:
        """Every score of ``seed``, cell by cell: a cell's model is loaded once, and only if one of
        its scores (the margin; the KL at a corner; the paper's metric for the first seed) is not
        cached."""
        g, cfg, lab = self.grid, self.cfg, self.lab
        pairs = margin.pairs(g.dataset, cfg.n_pairs, seed, cfg.source)
        first_run = functools.cache(lambda: self._first_run(seed))
        first_model = functools.cache(lambda i: lab.load_slice(lab.base, train.slice_dirs(first_run())[i]))
        examples = functools.cache(lambda: train.Examples.of(
            lab.tokenizer, [r.text for r in records(g.dataset, g.sides[1], max(g.second_sizes), seed, cfg.source)]))
        second_run = functools.cache(lambda i: self._second_run(seed, i, first_model(i), examples))

        def model(i: int, j: int):
            """The cell (a_i, b_j), b_0 = 0 being the first-stage model itself."""
            return first_model(i) if j == 0 else lab.load_slice(first_model(i), train.slice_dirs(second_run(i))[j - 1])

        def key(i: int, j: int) -> list:
            return self._key("first", seed, i) if j == 0 else self._second_key(seed, i, j)

        margins = self._margins(seed, pairs)
        last_i, last_j = len(g.first_sizes) - 1, len(g.second_sizes)
        # by name: with one first-stage amount the first and the last corners are the same cells
        corners = {"first_start": (0, 0), "last_start": (last_i, 0), "first_end": (0, last_j),
                   "last_end": (last_i, last_j)} if self.kl else {}
        kl = self._kl(seed, pairs) if self.kl else None
        paper = self._secondary(pairs) if self.secondary and seed == cfg.seeds[0] else None
        out = {"seed": seed, "base": margins([lab.key(), "base"], lambda: lab.base), "cells": []}
        if kl:
            out["kl"] = {}
        if paper:
            out["secondary"] = {**paper.header, "base": paper([lab.key(), "base"], lambda: lab.base), "cells": []}
        for i in range(len(g.first_sizes)):
            row, paper_row = [], []
            for j in range(1 + len(g.second_sizes)):
                load = functools.cache(lambda i=i, j=j: model(i, j))
                row.append(margins(key(i, j), load))
                for name in (name for name, cell in corners.items() if cell == (i, j)):
                    out["kl"][name] = kl(key(i, j), load)
                if paper:
                    paper_row.append(paper(key(i, j), load))
            out["cells"].append(row)
            if paper:
                out["secondary"]["cells"].append(paper_row)
        return out

    def _margins(self, seed: int, pairs):
        """The primary score of a model of ``seed`` (``model_key``, ``load()``): its likelihood
        margin on the seed's pairs."""
        cfg, lab = self.cfg, self.lab
        spec = [self.grid.dataset, cfg.n_pairs, seed, cfg.margin_tokens, source_key(cfg.source)]

        def scored(model_key, load) -> list[float]:
            def compute():
                stage(f"seed {seed}: likelihood margins")
                return margin.likelihood_margin(load(), lab.tokenizer, pairs, batch_size=cfg.eval_batch_size,
                                                max_tokens=cfg.margin_tokens or None).tolist()
            value = lab.store.cell("margin", [GRID_VERSION, model_key, spec], compute)
            if self.progress:
                self.progress.update()
            return value
        return scored

    def _kl(self, seed: int, pairs):
        """KL(θ || θ0) in nats per token of a model of ``seed`` on the seed's held-out texts (both
        sides, response tokens), for the grid's four corners (claim ``kl_table``); θ0 runs once on
        them (:class:`elastic.score.Reference`), and only if a corner is not cached."""
        lab = self.lab
        texts = [r.text for p in pairs for r in (p.positive, p.negative)]
        prompts = [r.prompt for p in pairs for r in (p.positive, p.negative)]
        reference = functools.cache(lambda: score.Reference(lab.base, lab.tokenizer, texts, prompts=prompts))

        def divergence(model_key, load) -> float:
            def compute():
                stage(f"seed {seed}: KL to θ0")
                return score.kl(load(), reference(), lab.tokenizer, texts, prompts=prompts)
            return lab.store.cell("kl", [GRID_VERSION, model_key, self.cfg.n_pairs, source_key(self.cfg.source)], compute)
        return divergence

    def _secondary(self, pairs):
        """The paper's metric of a model on the prompts of the first ``n_eval`` pairs: its sampled
        continuations, scored per prompt (sentiment or cost, :mod:`elastic.score`); what the panel
        records beside the values is the function's ``header``."""
        cfg, lab = self.cfg, self.lab
        prompts = [p.positive.prompt for p in pairs[:cfg.n_eval]]
        scorer = cfg.sentiment_model if self.task == "sentiment" else cfg.cost_model
        field = SENTIMENT_METRICS[cfg.sentiment_metric] if self.task == "sentiment" else "metric"

        def evaluate(model_key, load) -> list[float]:
            def compute():
                responses = lab.respond(load(), prompts)
                stage("scoring")
                if self.task == "sentiment":
                    values = score.sentiment([p + r for p, r in zip(prompts, responses)], model=scorer)
                    return (score.positive(values) if field == "metric" else np.asarray(values)).astype(float).tolist()
                return np.asarray(score.safety_cost(prompts, responses, model=scorer), dtype=float).tolist()
            return lab.store.cell("secondary", [GRID_VERSION, model_key, prompts, cfg.max_new_tokens,
                                                source_key(scorer), field], compute)

        evaluate.header = {"metric_name": cfg.sentiment_metric if self.task == "sentiment" else "mean cost",
                           "sign": SIGNS[self.task] * (-1 if self.grid.reverse else 1), "prompts": prompts}
        return evaluate

    # --- the panel ------------------------------------------------------------------------------------

    def panel(self) -> dict:
        """Every seed's scores in the panel layout of :mod:`elastic.claims`, and the seed means the
        figures draw (the verdicts are computed from the per-seed values by :mod:`elastic.claims`)."""
        g = self.grid
        seeds = [self._seed(s) for s in self.cfg.seeds]
        out = {"model": self.lab.spec, "dataset": g.dataset, "task": self.task, "method": g.method,
               "reverse": g.reverse, "first_side": g.sides[0], "sign": -1 if g.reverse else 1,
               "first_sizes": list(g.first_sizes), "second_sizes": list(g.second_sizes), "n_pairs": self.cfg.n_pairs,
               "seeds": [{k: s[k] for k in ("seed", "base", "cells")} for s in seeds]}
        if self.kl:
            out["kl"] = [{"seed": s["seed"], **s["kl"]} for s in seeds]
        if self.secondary:
            out["secondary"] = seeds[0]["secondary"]
        out["curves"] = curves(out)
        return out


def curves(panel: dict) -> dict:
    """Seed means of the margin (each seed's mean over its pairs) and their standard errors over
    the seeds: ``base`` and ``mean[i][j]`` / ``se[i][j]`` in the panel's cell layout, for the figures.

    Chapters: rebound, scaling, ablations.
    """
    per_seed = np.array([[[np.mean(c) for c in row] for row in s["cells"]] for s in panel["seeds"]])
    base = np.array([np.mean(s["base"]) for s in panel["seeds"]])
    return {"base": float(base.mean()), "base_se": standard_error(base),
            "mean": per_seed.mean(0).tolist(), "se": standard_error(per_seed, axis=0).tolist()}


def draw(cfg: GridConfig, grid: Grid) -> None:
    """Every draw of data a seeded grid will make, for :func:`elastic.lab.preflight`: each seed's
    training records of both stages and its held-out pairs.

    Chapters: rebound, scaling, ablations.
    """
    check_sizes(cfg, grid)
    first, second = grid.sides
    for seed in cfg.seeds:
        records(grid.dataset, first, max(grid.first_sizes), seed, cfg.source)
        records(grid.dataset, second, max(grid.second_sizes), seed, cfg.source)
        margin.pairs(grid.dataset, cfg.n_pairs, seed, cfg.source)


def _seed_everything(seed: int) -> None:
    """The adapters' initialisation draws from torch's global generator."""
    import torch

    torch.manual_seed(seed)
