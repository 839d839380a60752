"""The rebound protocol of §4.2, §4.3 and Appendix C (Ji et al., ACL 2025): a first fine-tuning
stage on one side of a dataset at several amounts, then a second stage on the other side at several
amounts, every model scored on the same held-out prompts, and the verdict on the curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elastic import score, train
from elastic.cache import source_key
from elastic.lab import AlignmentConfig, Lab
from elastic.progress import stage
from elastic.stats import spearman, standard_error
from elastic.tasks import SENTIMENT_METRICS, SIGNS, records, task_of


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


class Rebound:
    """Held-out prompts, training pools and cells of the rebound grids of one :class:`Lab`.

    Chapters: rebound, scaling, ablations. Paper: §4.2-4.3, App. C.
    """

    def __init__(self, lab: Lab, dataset: str, max_size: int):
        self.lab, self.dataset, self.task = lab, dataset, task_of(dataset)
        self.scorer = source_key(lab.cfg.sentiment_model if self.task == "sentiment" else lab.cfg.cost_model)
        self.pools, held_out = self.draw(lab.cfg, dataset, max_size)
        # each pool tokenized once; a stage trains on the first n of it
        self.examples = {side: train.Examples.of(lab.tokenizer, [r.text for r in pool]) for side, pool in self.pools.items()}
        self.prompts = [r.prompt for r in held_out]
        self.held_out_texts = [r.text for r in held_out]
        self._reference = None  # θ0 on the held-out texts, made when a cell first needs it

    @staticmethod
    def draw(cfg: AlignmentConfig, dataset: str, max_size: int) -> tuple[dict, list]:
        """The training pool of each side (``max_size`` records) and the held-out records
        (``n_eval / 2`` cut off the front of each side)."""
        pools, held_out = {}, []
        for side in ("positive", "negative"):
            pool = records(dataset, side, max_size + cfg.n_eval // 2, cfg.seed, cfg.source)
            held_out += pool[:cfg.n_eval // 2]
            pools[side] = pool[cfg.n_eval // 2:]
        return pools, held_out

    def _payload(self, stages) -> list:
        c = self.lab.cfg
        return [self.lab.key(), self.dataset, c.n_eval, c.max_new_tokens, self.scorer, list(stages)]

    def model(self, stages):
        """θ0 after ``stages`` (each ``(method, side, n)``), training what is not cached yet."""
        model = self.lab.base
        for i, (method, side, n) in enumerate(stages):
            # n_eval is part of the key: the held-out prompts come off the front of each pool
            payload = ["stage", self.dataset, self.lab.cfg.n_eval, list(map(list, stages[:i + 1]))]
            if method == "sft":
                model, _ = self.lab.fit(model, self.examples[side][:n], payload)
            else:
                # DPO towards ``side`` (chosen) over the other side (rejected), paired record by
                # record on the chosen record's prompt: the inverse alignment of Appendix C.
                other = "negative" if side == "positive" else "positive"
                chosen, rejected = self.pools[side][:n], self.pools[other][:n]
                model = self.lab.dpo(model, [r.prompt for r in chosen], [r.response for r in chosen],
                                     [r.response for r in rejected], payload)
        return model

    def reference(self) -> score.Reference:
        """θ0 on the held-out texts, run once for the KL of every cell (only cells not yet stored
        need it)."""
        if self._reference is None:
            self._reference = score.Reference(self.lab.base, self.lab.tokenizer, self.held_out_texts)
        return self._reference

    def evaluate(self, stages) -> dict:
        """The cell of one model: its score on each held-out prompt, their means (the task score)
        and its KL to θ0."""
        def compute():
            model = self.model(stages)
            responses = self.lab.respond(model, self.prompts)
            texts = [p + r for p, r in zip(self.prompts, responses)]
            stage("scoring")
            if self.task == "sentiment":
                values = score.sentiment(texts, model=self.lab.cfg.sentiment_model)
                per_prompt = {"metric": score.positive(values), "mean_score": values}
            else:
                values = score.safety_cost(self.prompts, responses, model=self.lab.cfg.cost_model)
                per_prompt = {"metric": values, "mean_score": values}
            stage("KL to θ0")
            divergence = score.kl(model, self.reference(), self.lab.tokenizer, self.held_out_texts)
            return {**{k: float(np.mean(v)) for k, v in per_prompt.items()},
                    "per_prompt": {k: np.asarray(v, dtype=float).tolist() for k, v in per_prompt.items()},
                    "kl_to_base": float(divergence),
                    "examples": [p + r for p, r in zip(self.prompts[:2], responses[:2])]}

        # "per_prompt" in the kind: cells stored before they kept each prompt's score are recomputed
        return self.lab.store.cell("rebound per_prompt", self._payload(stages), compute)

    def grid(self, grid: Grid, progress=None) -> dict:
        """Every cell of ``grid`` as curves: one per first-stage size, over the second-stage sizes."""
        first, second = grid.sides
        # the aligned direction of the first stage: in reverse, a fall towards the negative side
        sign = SIGNS[self.task] * (-1 if grid.reverse else 1)
        name = self.lab.cfg.sentiment_metric if self.task == "sentiment" else "mean cost"
        field = SENTIMENT_METRICS.get(name, "metric")
        base = self.evaluate(())
        if progress:
            progress.update()
        curves = []
        for n1 in grid.first_sizes:
            s1 = ("sft", first, n1)
            cells = []
            for n2 in (0, *grid.second_sizes):
                cells.append(self.evaluate((s1,) if n2 == 0 else (s1, (grid.method, second, n2))))
                if progress:
                    progress.update()
            per_prompt = [c["per_prompt"][field] for c in cells]
            curves.append({"first_size": n1, "second_sizes": [0, *grid.second_sizes],
                           "metric": [c[field] for c in cells], "mean_score": [c["mean_score"] for c in cells],
                           "metric_se": [standard_error(v) for v in per_prompt], "per_prompt": per_prompt,
                           "kl_to_base": [c["kl_to_base"] for c in cells],
                           "examples": cells[-1]["examples"]})
        return {"dataset": self.dataset, "task": self.task, "metric_name": name,
                "sign": sign, "first_side": first, "method": grid.method,
                "base": {"metric": base[field], "metric_se": standard_error(base["per_prompt"][field]),
                         "examples": base["examples"]},
                "curves": curves, "verdict": rebound_verdict(curves, sign)}


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
