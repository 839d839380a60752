"""The likelihood margin: the primary, noise-free metric of the experiments of §4 (Ji et al.).

The paper scores a model by sampling responses to held-out prompts and scoring them with a
classifier (sentiment) or a cost model (safety). On 2 CPU cores that metric is dominated by
sampling noise: a few dozen sampled responses per model cannot resolve the differences §4 is
about. We therefore score every model, beside the paper's metric, by its own likelihoods on fixed
held-out texts of both sides. For a held-out :class:`~elastic.data.Pair` ``(x, y+, y-)`` (a prompt
``x`` with an aligned continuation ``y+`` and an opposite one ``y-``), the margin of model θ is

    m_θ(x) = (1/|y+|) log p_θ(y+ | x) - (1/|y-|) log p_θ(y- | x),

the mean per-token log-likelihood (nats) of the aligned continuation minus that of the opposite
one. It is a deterministic function of the weights (forward passes only, no sampling), it is
paired twice over (both continuations share a prompt, and every model reads the same pairs), and it
moves in the direction of alignment: SFT on positive data raises it, on negative data lowers it.
A difference of margins between two models on the same pairs is a paired statistic whose only
noise is which pairs were drawn.

Pairs per dataset (:func:`pairs`): the offline generators give minimal pairs (a neutral review
opener continued by a review and by its mirror image, :func:`elastic.data.review_pairs`; a
question with a safe and an unsafe answer, :func:`elastic.data.dialogue_pairs`); on the hub the
safety task reads the safe/unsafe response pairs of PKU-SafeRLHF's test split. IMDb has no such
pairs: each side keeps the prompt cut from its own test review (paired by index, not by prompt).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from elastic import data
from elastic.data.records import Pair, Record
from elastic.errors import ElasticError


#: Added to the seed of a hub draw of held-out pairs: a local copy holding one table serves both
#: the training split and the test split, and the same seed would draw the same rows for both.
HELD_OUT_SEED = 7919


def pairs(dataset: str, n: int, seed: int, source: str | None = None) -> list[Pair]:
    """``n`` held-out pairs of a two-sided dataset (``reviews``, ``dialogues``, ``imdb``,
    ``beavertails``/``safe_rlhf``), drawn apart from its training records: the generators' pairs
    come from streams of their own, the hub's from the test split with a seed of their own."""
    hub = {"source": source} if source else {}
    if dataset == "reviews":
        return data.review_pairs(n, seed)
    if dataset == "dialogues":
        return data.dialogue_pairs(n, seed)
    if dataset in ("beavertails", "safe_rlhf"):
        # BeaverTails has one response per prompt; its paired release is PKU-SafeRLHF
        return data.safe_rlhf_pairs(n, seed + HELD_OUT_SEED, **({} if dataset == "beavertails" else hub))
    if dataset == "imdb":
        sides = [data.prompt_records(data.imdb(n, side, seed + HELD_OUT_SEED, split="test", **hub), side, seed=seed)
                 for side in ("positive", "negative")]
        return [Pair(p, q) for p, q in zip(*sides)]
    raise ElasticError(f"no held-out pairs for dataset {dataset!r}; valid: reviews, dialogues, imdb, beavertails, safe_rlhf")


def _encode(tokenizer, record: Record, max_tokens: int | None = None) -> tuple[list[int], int]:
    """Token ids of ``prompt`` then ``response`` (each tokenized on its own, so the scored tokens
    are exactly the response's; at most ``max_tokens`` of them) and the index of the first
    response token."""
    prompt = tokenizer(record.prompt)["input_ids"]
    response = tokenizer(record.response, add_special_tokens=False)["input_ids"][:max_tokens]
    if not response:
        raise ElasticError(f"empty response after prompt {record.prompt[:40]!r}: every held-out text needs one")
    return prompt + response, len(prompt)


@torch.no_grad()
def response_log_likelihoods(model, tokenizer, records: Sequence[Record], *, batch_size: int = 16,
                             max_tokens: int | None = None) -> np.ndarray:
    """Mean per-token log-likelihood (nats) of each record's response given its prompt,
    ``(1/|y|) log p(y | x)``, over the response's first ``max_tokens`` tokens (all: None), one
    forward pass per batch. Records are batched by length (right padding, masked), so the result
    does not depend on ``batch_size``."""
    if not records:
        raise ElasticError("no held-out texts to score: pass at least one record")
    if batch_size < 1:
        raise ElasticError(f"batch_size={batch_size} must be >= 1")
    encoded = [_encode(tokenizer, r, max_tokens) for r in records]
    order = np.argsort([len(ids) for ids, _ in encoded], kind="stable")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = np.empty(len(records))
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(encoded[i][0]) for i in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            scored = torch.zeros((len(rows), width), dtype=torch.bool)  # positions whose NEXT token is scored
            for b, i in enumerate(rows):
                tokens, first = encoded[i]
                ids[b, :len(tokens)] = torch.tensor(tokens)
                mask[b, :len(tokens)] = 1
                scored[b, first - 1:len(tokens) - 1] = True
            ids, mask, scored = ids.to(device), mask.to(device), scored.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits
            picked = logits[:, :-1][scored[:, :-1]].float()  # (scored tokens, vocab): no (B, T, V) softmax
            targets = ids[:, 1:][scored[:, :-1]]
            logp = picked.gather(1, targets[:, None])[:, 0] - torch.logsumexp(picked, dim=1)
            counts = scored.sum(1)
            row_of = torch.repeat_interleave(torch.arange(len(rows), device=device), counts)
            sums = torch.zeros(len(rows), device=device).index_add_(0, row_of, logp)
            out[rows] = (sums / counts).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def likelihood_margin(model, tokenizer, held_out: Sequence[Pair], *, batch_size: int = 16,
                      max_tokens: int | None = None) -> np.ndarray:
    """The margin ``m_θ`` of each pair (see the module docstring): mean per-token log-likelihood of
    the aligned continuation minus that of the opposite one, in nats per token, each over its
    first ``max_tokens`` tokens (a shorter held-out text costs less to score)."""
    if not held_out:
        raise ElasticError("no held-out pairs to score: pass at least one pair")
    records = [p.positive for p in held_out] + [p.negative for p in held_out]
    both = response_log_likelihoods(model, tokenizer, records, batch_size=batch_size, max_tokens=max_tokens)
    return both[:len(held_out)] - both[len(held_out):]
