"""The authors' released checkpoints, scored with the book's scorers: a paper-scale rebound check
with no training (inference only).

The authors of Ji et al. published fine-tuned models on the hub under names of the form
``PKU-Alignment/llama-7b-IMDB-Q1-<n1>-Q2-<n2>`` and ``PKU-Alignment/tinyllama-<tokens>-IMDB-Q1-<n1>``;
read as the rebound protocol of §4.2, ``Q1`` is the amount of positive IMDb data of the first stage
and ``Q2`` the negative amount of the second (none: the first stage alone), and ``<tokens>`` the
pre-training volume of the TinyLlama checkpoint they started from (§4.3). Confirmed with the search
tool on their hub pages: the four ids of :data:`CHECKPOINTS` exist, are tagged PyTorch and llama,
and have no model card, so their weights are pickled ``.bin`` files (their file lists could not be
seen: :mod:`elastic.data.catalog` marks the layout unconfirmed). A reader adds others by id.

The loaders read safetensors only, so a ``.bin``-only checkpoint is first converted once with
``python -m elastic convert <id>`` (:mod:`elastic.convert`); :func:`score` then loads it like any
model, generates continuations of held-out IMDb prompts and reports the paper's positive rate.
"""

from __future__ import annotations

import re

from elastic import data, models, score as scoring
from elastic.errors import ElasticError

CHECKPOINTS = ("PKU-Alignment/llama-7b-IMDB-Q1-1000-Q2-2000", "PKU-Alignment/tinyllama-1T-IMDB-Q1-2000",
               "PKU-Alignment/tinyllama-2T-IMDB-Q1-1000", "PKU-Alignment/tinyllama-2.5T-IMDB-Q1-5000")
_NAME = re.compile(r".*-Q1-(\d+)(?:-Q2-(\d+))?$")


def amounts(spec: str) -> tuple[int, int]:
    """(positive amount Q1, negative amount Q2) read from a checkpoint's name; Q2 is 0 for a
    checkpoint of the first stage alone."""
    match = _NAME.fullmatch(spec)
    if match is None:
        raise ElasticError(f"{spec!r} does not end in -Q1-<n>[-Q2-<n>]: pass one of {', '.join(CHECKPOINTS)}")
    return int(match[1]), int(match[2] or 0)


def score(spec: str, *, n_eval: int, max_new_tokens: int, sentiment_model: str, seed: int = 0,
          source: str | None = None, device: str | None = None) -> dict:
    """Positive rate and mean P(positive) of ``spec``'s continuations of ``n_eval`` held-out IMDb
    prompts (half cut from positive reviews, half from negative ones, as in the rebound grids)."""
    q1, q2 = amounts(spec)
    hub = {"source": source} if source else {}
    prompts = [r.prompt for side in ("positive", "negative")
               for r in data.prompt_records(data.imdb(n_eval // 2, side, seed, split="test", **hub), side, seed=seed)]
    model, tokenizer = models.load_model(spec, device=device)
    responses = models.generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, seed=seed)
    p = scoring.sentiment(responses, model=sentiment_model)
    return {"model": spec, "q1": q1, "q2": q2, "n_eval": len(prompts),
            "positive_rate": float(scoring.positive(p).mean()), "mean_score": float(p.mean())}
