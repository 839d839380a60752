"""The model lifecycle under control: pre-train on D1, align on D2, perturb with D3, and measure
every stage against sources whose distributions are known exactly (:class:`AttributeSource`).

Stages and what they measure (Ji et al., ACL 2025, §3-4, at toy scale):

* compression rate ``gamma^{D_i}`` of a model on held-out samples of ``D_i``: bits per token,
  counting each sequence's EOS token, so ``gamma = E[-log2 q(x)] / E[|x| + 1]``;
* ``KL(P_i || q) = E_{x ~ P_i}[log2 P_i(x) - log2 q(x)]`` in bits per sequence, estimated on the
  same held-out samples with the exact ``log2 P_i(x)`` (a paired estimator: no entropy term to
  subtract, so its noise is that of the log-ratio only);
* the attribute score: the mean exact posterior ``P(+ | x)`` of sequences sampled from the model.

Every stage is stored under its *stage key* (a hash of its specification and its parent's key):
weights as safetensors, metrics as JSON, both written to a temporary directory that is renamed
into place when complete. A stage whose key is on disk is loaded, never trained again.

Training runs :func:`elastic.models.tiny_model` through :func:`elastic.train.optimizer_step`, the
step every training run of the book takes, with the lifecycle's own optimizer and batches: it runs a
few hundred short trainings, for which the lean loop's lack of per-run set-up matters
(``benchmarks/lifecycle.py`` times this loop against a hand-written one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from elastic import train as training
from elastic.cache import Store, canonical, content_key
from elastic.errors import ElasticError
from elastic.sources import AttributeSource
from elastic.stats import fit_loglog, slope_verdict, spearman, standard_error

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


def _mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Attention mask; pad can only follow EOS here, so "not pad" marks the real tokens."""
    return (ids != pad_id).long()


# --- training -------------------------------------------------------------------------------------

def batches(ids: torch.Tensor, batch_size: int, epochs: float, seed: int):
    """Shuffled mini-batches for ``epochs`` passes over ``ids`` (a fractional last pass allowed).

    Chapters: lifecycle.
    """
    n = len(ids)
    steps = max(1, int(np.ceil(epochs * n / batch_size)))
    gen = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(n, generator=gen) for _ in range(int(np.ceil(epochs)) + 1)])
    for step in range(steps):
        yield ids[order[step * batch_size:(step + 1) * batch_size]]


def adamw(model, lr: float):
    """The optimizer of every stage: AdamW, constant learning rate, no weight decay.

    Chapters: lifecycle.
    """
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.0)


def train(model, id_batches, optimizer, *, pad_id: int) -> dict:
    """Next-token cross-entropy on each batch, one optimizer step per batch; the loss of each step
    (nats/token, before the step) and the number of target tokens trained on.

    Chapters: lifecycle.
    """
    model.train()
    losses, n_tokens = [], 0
    for ids in id_batches:
        mask = _mask(ids, pad_id)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
        loss, tokens = training.optimizer_step(model, [batch], optimizer)
        losses.append(loss)
        n_tokens += tokens
    model.eval()
    return {"losses": losses, "tokens": n_tokens}


# --- measurement ----------------------------------------------------------------------------------

@torch.no_grad()
def sequence_log2_probs(model, ids: torch.Tensor, pad_id: int, batch_size: int = 512) -> np.ndarray:
    """``log2 q(x)`` of each encoded sequence: every token after ``<s>``, its EOS included."""
    out = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        mask = _mask(chunk, pad_id)
        logits = model(input_ids=chunk, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, chunk[:, 1:, None])[..., 0]
        out.append((logp * mask[:, 1:]).sum(1) / np.log(2))
    return torch.cat(out).numpy()


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
    """One row of every curve: gamma (bits/token) and KL (bits/sequence) on D1, D2, D3, and the
    attribute score of ``n_generate`` sampled sequences with its standard error.

    Chapters: lifecycle. Paper: Def. 3.1, Thm 3.2.
    """
    row = {}
    for name, ids in evalset.ids.items():
        log2_q = sequence_log2_probs(model, ids, tokenizer.pad_token_id)
        row[f"gamma_{name}"] = float(-log2_q.sum() / evalset.n_tokens[name])
        row[f"kl_{name}"] = float(np.mean(evalset.log2_p[name] - log2_q))
    tokens, lengths, valid = sample(model, tokenizer, n_generate, source.max_len, source.vocab_size, seed)
    score = source.posterior(tokens[valid], lengths[valid]) if valid.any() else np.array([np.nan])
    row["score"] = float(score.mean())
    row["score_se"] = standard_error(score)
    row["invalid"] = float(1 - valid.mean())
    return row


# --- stages on disk -------------------------------------------------------------------------------

def stage_key(spec: dict, parent: str | None = None) -> str:
    """A stage's identity: its specification and its parent's key (so a changed pre-training
    invalidates every alignment and perturbation built on it).

    Chapters: lifecycle.
    """
    return content_key({"spec": spec, "parent": parent})


class StageStore(Store):
    """Finished stages under ``root/<key>/``: ``record.json`` and, for stages with children,
    ``model.safetensors``. A stage directory appears only complete (temporary dir + rename).

    Chapters: lifecycle.
    """

    RECORD = "record.json"

    def __init__(self, root: Path):
        super().__init__(root, entry="stage")

    def load_record(self, key: str) -> dict | None:
        path = self.directory(key, self.RECORD)
        if path is None:
            return None
        record = self.read(path / self.RECORD, remove=path)
        self.hits += 1
        return record

    def load_weights(self, key: str, model) -> None:
        from safetensors.torch import load_file

        loaded = model.load_state_dict(load_file(self.path(key) / "model.safetensors"), strict=False)
        if set(loaded.missing_keys) - {"lm_head.weight"} or loaded.unexpected_keys:
            raise ElasticError(f"stage {key} holds weights of another model: delete {self.path(key)}")

    def save(self, key: str, record: dict, model=None) -> None:
        from safetensors.torch import save_file

        try:
            with self.write_directory(key, marker=self.RECORD) as tmp:
                if model is not None:
                    # Tied embeddings share storage; safetensors refuses shared tensors, so save
                    # copies of the unique ones (load_state_dict re-ties them).
                    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
                             if k != "lm_head.weight"}
                    save_file(state, tmp / "model.safetensors")
                (tmp / self.RECORD).write_text(json.dumps(record, default=canonical))
        except OSError as exc:
            raise ElasticError(f"cannot save stage {key} in {self.root} ({exc.strerror or exc}): free disk space "
                               "or point cache_dir elsewhere, then rerun; finished stages are kept") from exc


# --- verdicts computed from the curves ------------------------------------------------------------

def elasticity_points(runs: list[dict], model=None) -> list[dict]:
    """Per aligned model (of the pre-trained ``model`` only, if given): ``k = |D1| / |D2|`` and the
    changes ``Delta gamma_i`` of the compression rates on D1 and D2 over the first perturbation
    checkpoint (the theorem's small ``l``).

    The normalized rate of Def. 3.1 is ``log M - gamma``, so its change is ``-Delta gamma`` and the
    ratio ``Delta gamma_2 / Delta gamma_1`` is the theorem's ratio of normalized changes.
    The Hooke invariant ``|D_i| Delta gamma_i`` is compared on magnitudes through
    ``h = |D2| |dg2| / (|D1| |dg1|)``, which is 1 when the invariant holds.

    Chapters: lifecycle.
    """
    points = []
    for run in runs:
        if model is not None and run["model"] != list(model):
            continue
        for aligned in run["aligned"]:
            before, after = aligned["curve"][0], aligned["curve"][1]
            d1 = after["gamma_D1"] - before["gamma_D1"]
            d2 = after["gamma_D2"] - before["gamma_D2"]
            ratio = d2 / d1 if d1 != 0 else float("nan")
            points.append({"model": run["model"], "volume": run["volume"], "n_align": aligned["n"],
                           "k": run["volume"] / aligned["n"], "perturb": after["size"],
                           "d_gamma_D1": d1, "d_gamma_D2": d2, "ratio": ratio,
                           "hooke": abs(ratio) * aligned["n"] / run["volume"]})
    return points


def rebound_summary(run: dict, threshold: float) -> dict:
    """Fig. 4's shape for one pre-trained model: per alignment size the attribute score after
    alignment, its *early drop* over the first perturbation checkpoint and the score at the last.

    Rebound (the paper's reading of Fig. 4) means the early drop grows with the alignment size:
    Spearman ``rho(|D2|, early drop) >= threshold``.
    """
    sizes = [a["n"] for a in run["aligned"]]
    aligned = [a["curve"][0]["score"] for a in run["aligned"]]
    drops = [a["curve"][0]["score"] - a["curve"][1]["score"] for a in run["aligned"]]
    final = [a["curve"][-1]["score"] for a in run["aligned"]]
    rho_drop = spearman(sizes, drops)
    return {"model": run["model"], "volume": run["volume"], "params": run["params"],
            "pretrained_score": run["pretrain"]["score"], "align_sizes": sizes,
            "aligned_score": aligned, "early_drop": drops, "final_score": final,
            "rho_aligned": spearman(sizes, aligned), "rho_drop": rho_drop,
            "rho_final": spearman(sizes, final),
            "rebound": rho_drop is not None and rho_drop >= threshold,
            "max_align_drop": drops[int(np.argmax(sizes))]}


def verdicts(runs: list[dict], resistance: list[dict], source: dict, *, main_model, main_volume,
             entropy_margin: float, rebound_rho: float) -> dict:
    """Every conclusion of the chapter, computed from the curves (the page only formats them).

    Chapters: lifecycle. Paper: Thm 3.2, §3.3, §4.
    """
    main = next(r for r in runs if r["model"] == list(main_model) and r["volume"] == main_volume)
    gap = main["pretrain"]["kl_D1"] / source["mean_tokens"]
    points = elasticity_points(runs, main_model)
    fit = fit_loglog([p["k"] for p in points], [p["ratio"] for p in points])
    fit_magnitude = fit_loglog([p["k"] for p in points], [abs(p["ratio"]) for p in points])
    hooke = np.log10([p["hooke"] for p in points if p["hooke"] > 0])
    rebounds = [rebound_summary(r, rebound_rho) for r in runs]
    by_volume = sorted((r for r in rebounds if r["model"] == list(main_model)), key=lambda r: r["volume"])
    by_size = sorted((r for r in rebounds if r["volume"] == main_volume), key=lambda r: r["params"])
    ratio_by_volume = {v: float(np.nanmedian([p["ratio"] for p in points if p["volume"] == v]))
                       for v in sorted({p["volume"] for p in points})}
    elastic_volumes = [r["volume"] for r in by_volume
                       if r["rebound"] and ratio_by_volume[r["volume"]] > 1]
    return {
        "entropy_gap": {"kl_bits_per_token": gap, "margin": entropy_margin, "within": bool(gap <= entropy_margin),
                        "gamma_minus_entropy_rate": main["pretrain"]["gamma_D1"] - source["entropy_rate_D1"]},
        "elasticity": {"fit": fit, "fit_magnitude": fit_magnitude, "points": len(points),
                       "both_increase": int(sum(p["d_gamma_D1"] > 0 and p["d_gamma_D2"] > 0 for p in points)),
                       "d1_falls": int(sum(p["d_gamma_D1"] < 0 for p in points)),
                       "d2_rises": int(sum(p["d_gamma_D2"] > 0 for p in points)),
                       "ratio_above_one": int(sum(p["ratio"] > 1 for p in points)),
                       "ratio_by_volume": ratio_by_volume,
                       "signed_verdict": slope_verdict(fit),
                       "magnitude_verdict": slope_verdict(fit_magnitude)},
        "hooke": {"median_log10": float(np.median(hooke)) if len(hooke) else float("nan"),
                  "iqr_log10": (np.percentile(hooke, [25, 75]).tolist() if len(hooke) else [float("nan")] * 2),
                  "n": int(len(hooke))},
        "rebound": rebounds,
        "rebound_main": next(r for r in rebounds if r["model"] == list(main_model) and r["volume"] == main_volume),
        "emergence": {"volumes": [r["volume"] for r in by_volume],
                      "rebound": [r["rebound"] for r in by_volume],
                      "first_elastic_volume": elastic_volumes[0] if elastic_volumes else None,
                      "rho_volume_drop": spearman([r["volume"] for r in by_volume],
                                                  [r["max_align_drop"] for r in by_volume])},
        "model_size": {"params": [r["params"] for r in by_size], "rebound": [r["rebound"] for r in by_size],
                       "max_align_drop": [r["max_align_drop"] for r in by_size],
                       "rho_size_drop": spearman([r["params"] for r in by_size],
                                                 [r["max_align_drop"] for r in by_size])},
        "resistance": {"pairs": len(resistance),
                       "inverse_easier": int(sum(r["inverse_easier"] for r in resistance))},
    }
