"""Measuring a model against a source whose distribution is known exactly
(:class:`elastic.sources.AttributeSource`): the lifecycle chapter's instruments (Ji et al., ACL 2025,
§3-4, at toy scale).

* compression rate ``gamma^{D_i}`` of a model on held-out samples of ``D_i``: bits per token,
  counting each sequence's EOS token, so ``gamma = E[-log2 q(x)] / E[|x| + 1]``;
* ``KL(P_i || q) = E_{x ~ P_i}[log2 P_i(x) - log2 q(x)]`` in bits per sequence, estimated on the
  same held-out samples with the exact ``log2 P_i(x)`` (a paired estimator: no entropy term to
  subtract, so its noise is that of the log-ratio only);
* the attribute score: the mean exact posterior ``P(+ | x)`` of sequences sampled from the model.

Source sequences reach a model as token ids, one byte-level token per source letter (:func:`encode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from elastic.errors import ElasticError
from elastic.sources import AttributeSource
from elastic.stats import standard_error

#: Source token ``i`` is written as the letter ``chr(FIRST_LETTER + i)``: one byte, one token.
FIRST_LETTER = ord("a")
#: Names of the three datasets and the source each is drawn from (None: the mixture).
DATASETS = {"D1": None, "D2": 0, "D3": 1}



# --- sequences as token ids -----------------------------------------------------------------------

def texts(tokens: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Source sequences as strings, one letter per token."""
    return ["".join(chr(FIRST_LETTER + int(t)) for t in row[:n]) for row, n in zip(tokens, lengths)]


def encode(tokenizer, tokens: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
    """``<s> x_1 .. x_n </s>`` as a right-padded id matrix (pad = the tokenizer's pad id).

    Raises if the tokenizer does not give exactly one token per source token, since every bit count
    below assumes it does.

    Chapters: lifecycle.
    """
    width = int(np.max(lengths, initial=0)) + 2
    ids = torch.full((len(lengths), width), tokenizer.pad_token_id, dtype=torch.long)
    for i, (text, n) in enumerate(zip(texts(tokens, lengths), lengths)):
        row = tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]
        if len(row) != n + 2:
            raise ElasticError(f"the tokenizer split {text!r} into {len(row) - 2} tokens, not {n}: "
                               "use elastic.models.byte_tokenizer()")
        ids[i, : len(row)] = torch.tensor(row)
    return ids


def attention_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """The attention mask of encoded sequences; pad can only follow EOS here, so "not pad" marks the real tokens.

    Chapters: lifecycle.
    """
    return (ids != pad_id).long()


# --- measurement ----------------------------------------------------------------------------------

@torch.no_grad()
def sequence_log2_probs(model, ids: torch.Tensor, pad_id: int, batch_size: int = 512) -> np.ndarray:
    """``log2 q(x)`` of each encoded sequence: every token after ``<s>``, its EOS included.

    Chapters: lifecycle.
    """
    out = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        mask = attention_mask(chunk, pad_id)
        logits = model(input_ids=chunk, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, chunk[:, 1:, None])[..., 0]
        out.append((logp * mask[:, 1:]).sum(1) / np.log(2))
    return torch.cat(out).numpy()


@torch.no_grad()
def next_token_kl(target, trained, ids: torch.Tensor, pad_id: int) -> float:
    """``KL(p_target || p_trained)`` in nats per token on the contexts of the encoded sequences
    ``ids`` (every position after ``<s>``, EOS included): at each context the exact sum over the
    next token, so that only the contexts are sampled (the same quantity as
    :func:`elastic.score.kl`, for the lifecycle's tiny models).

    Chapters: lifecycle. Paper: §4.1, Table 1 (in KL).
    """
    mask = attention_mask(ids, pad_id)
    scored = mask[:, 1:].bool()
    log_p = torch.log_softmax(target(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)[scored]
    log_q = torch.log_softmax(trained(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)[scored]
    return float((log_p.exp() * (log_p - log_q)).sum(-1).mean())


@torch.no_grad()
def sample(model, tokenizer, n: int, max_len: int, vocab_size: int, seed: int):
    """``n`` sequences sampled from the model (temperature 1, so from ``q`` itself), as source
    tokens; a sequence holding anything but a source letter before its EOS is *invalid*.
    Returns ``(tokens, lengths, valid)``; a sequence that has not ended after ``max_len`` tokens
    is cut there, as the source cuts its own.

    Chapters: lifecycle.
    """
    gen = torch.Generator().manual_seed(seed)
    ids = torch.full((n, 1), tokenizer.bos_token_id, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_len):
        logits = model(input_ids=ids).logits[:, -1].float()
        nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]
        nxt[done] = tokenizer.pad_token_id
        done |= nxt == tokenizer.eos_token_id
        ids = torch.cat([ids, nxt[:, None]], 1)
        if done.all():
            break
    body = ids[:, 1:].numpy()
    ended = (body == tokenizer.eos_token_id) | (body == tokenizer.pad_token_id)
    lengths = np.where(ended.any(1), ended.argmax(1), body.shape[1])
    first_id = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(chr(FIRST_LETTER)))[0]
    tokens = np.full((n, max_len), -1, dtype=np.int64)
    tokens[:, : body.shape[1]] = body - first_id
    inside = np.arange(max_len) < lengths[:, None]
    valid = ((tokens >= 0) & (tokens < vocab_size) | ~inside).all(1)
    tokens[~inside] = -1
    return tokens, lengths, valid


@dataclass
class EvalSet:
    """Held-out samples of D1, D2, D3 with their exact log-probabilities under their own source.

    Chapters: lifecycle. Paper: Def. 3.1 measured exactly.
    """

    ids: dict
    log2_p: dict
    n_tokens: dict

    @classmethod
    def build(cls, source: AttributeSource, tokenizer, n: int, seed: int) -> "EvalSet":
        ids, log2_p, n_tokens = {}, {}, {}
        for i, (name, attribute) in enumerate(DATASETS.items()):
            tokens, lengths = source.sample(n, seed=seed + i, attribute=attribute)
            ids[name] = encode(tokenizer, tokens, lengths)
            log2_p[name] = source.log2_probability(tokens, lengths, attribute)
            n_tokens[name] = int(lengths.sum() + len(lengths))
        return cls(ids, log2_p, n_tokens)


def measure(model, tokenizer, source: AttributeSource, evalset: EvalSet, n_generate: int, seed: int) -> dict:
    """One row of every curve: gamma (bits/token) and KL (bits/sequence) on D1, D2, D3; the
    likelihood margin (:func:`margin_pairs`, the primary metric of the rebound claims) per held-out
    pair and its mean; and, when ``n_generate`` > 0, the attribute score of that many sampled
    sequences with its standard error (the paper's generate-and-score metric, the secondary one).

    Chapters: lifecycle. Paper: Def. 3.1, Thm 3.2.
    """
    row, per_token = {}, {}
    for name, ids in evalset.ids.items():
        log2_q = sequence_log2_probs(model, ids, tokenizer.pad_token_id)
        row[f"gamma_{name}"] = float(-log2_q.sum() / evalset.n_tokens[name])
        row[f"kl_{name}"] = float(np.mean(evalset.log2_p[name] - log2_q))
        per_token[name] = log2_q / (attention_mask(ids, tokenizer.pad_token_id).sum(1).numpy() - 1)
    pairs = margin_pairs(per_token["D2"], per_token["D3"])
    row["margin"] = float(pairs.mean())
    row["margin_pairs"] = [round(float(x), 5) for x in pairs]  # 1e-5 bits/token: far below any effect
    if n_generate > 0:
        tokens, lengths, valid = sample(model, tokenizer, n_generate, source.max_len, source.vocab_size, seed)
        score = source.posterior(tokens[valid], lengths[valid]) if valid.any() else np.array([np.nan])
        row["score"] = float(score.mean())
        row["score_se"] = standard_error(score)
        row["invalid"] = float(1 - valid.mean())
    return row


def margin_pairs(positive_per_token: np.ndarray, negative_per_token: np.ndarray) -> np.ndarray:
    """The likelihood margin of a model per held-out pair i: the mean log2-likelihood per token
    (EOS included) of the i-th held-out sequence of P+ minus that of the i-th of P-. Exact given
    the model (no sampling), so across models on the same pairs it differs only by what the
    models learned.

    Chapters: lifecycle. Paper: §4.2 (the positive-minus-negative comparison of Fig. 4, by likelihood).
    """
    if len(positive_per_token) != len(negative_per_token):
        raise ElasticError("the margin pairs the i-th positive sequence with the i-th negative one: give as many of each")
    return np.asarray(positive_per_token, dtype=float) - np.asarray(negative_per_token, dtype=float)
