"""The lifecycle's stages (pre-train on D1, align on D2, perturb with D3): trained with the step
every training run of the book takes, and stored under a key made from what made them.

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
from pathlib import Path

import numpy as np
import torch

from elastic import train as training
from elastic.cache import Store, canonical, content_key, require_writable
from elastic.errors import ElasticError
from elastic.measure import attention_mask


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
    # foreach: the for-loop's weights bit for bit, without its per-tensor Python overhead (see train.adamw)
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.0, foreach=True)


def train(model, id_batches, optimizer, *, pad_id: int) -> dict:
    """Next-token cross-entropy on each batch, one optimizer step per batch; the loss of each step
    (nats/token, before the step) and the number of target tokens trained on.

    Chapters: lifecycle.
    """
    model.train()
    losses, n_tokens = [], 0
    for ids in id_batches:
        mask = attention_mask(ids, pad_id)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
        loss, tokens = training.optimizer_step(model, [batch], optimizer)
        losses.append(loss)
        n_tokens += tokens
    model.eval()
    return {"losses": losses, "tokens": n_tokens}


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
        require_writable(self.root)

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
