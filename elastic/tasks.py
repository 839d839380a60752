"""The datasets of §4 and Appendix C with a positive and a negative side, the task each serves
(sentiment or safety) and the sign of its score (Ji et al., ACL 2025): what the alignment
experiments (resistance, rebound, scaling, ablations) fine-tune on and score.
"""

from __future__ import annotations

from elastic import data
from elastic.errors import ElasticError

#: Datasets with a positive and a negative side, and the task (hence the metric) of each.
TWO_SIDED = {
    "reviews": "sentiment", "imdb": "sentiment",
    "dialogues": "safety", "beavertails": "safety", "safe_rlhf": "safety",
}
#: Plain SFT datasets of the resistance experiment (one side only: the "positive" one).
ONE_SIDED = ("alpaca", "truthfulqa")
#: Datasets that :mod:`elastic.data` generates: they read no ``source``; the others are hub datasets.
GENERATED = ("reviews", "dialogues")

#: The sign of each task's score: +1 when larger means more aligned (more positive).
SIGNS = {"sentiment": +1, "safety": -1}
#: Which number of a sentiment cell a curve shows (cells store both).
SENTIMENT_METRICS = {"positive rate": "metric", "mean score": "mean_score"}


def task_of(dataset: str) -> str:
    if dataset not in TWO_SIDED:
        raise ElasticError(f"unknown dataset {dataset!r}; valid two-sided datasets: {', '.join(TWO_SIDED)}")
    return TWO_SIDED[dataset]


def records(dataset: str, side: str, n: int, seed: int, source: str | None = None) -> list[data.Record]:
    """``n`` records of one side (``"positive"``: positive reviews / safe answers / the SFT data).

    Chapters: resistance. Paper: §4.1-4.2.
    """
    positive = side == "positive"
    hub = {"source": source} if source else {}
    if dataset == "reviews":
        return data.prompt_records(data.reviews(n, side, seed), side, seed=seed)
    if dataset == "imdb":
        return data.prompt_records(data.imdb(n, side, seed, **hub), side, seed=seed)
    if dataset == "dialogues":
        return data.dialogues(n, positive, seed)
    if dataset in ("beavertails", "safe_rlhf"):
        return getattr(data, dataset)(n, positive, seed, **hub)
    if dataset in ONE_SIDED and positive:
        return getattr(data, dataset)(n, seed, **hub)
    valid = [*TWO_SIDED, *ONE_SIDED]
    raise ElasticError(f"unknown dataset {dataset!r} (side {side}); valid datasets: {', '.join(valid)}")
