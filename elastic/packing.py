"""Padding-free batches, trl's ``padding_free``: a batch's rows laid end to end as one sequence, so
that no FLOP is spent on padding, with the language-model head and its loss computed only where a
token is predicted.

A padded batch of rows of lengths L_1..L_B costs B·max(L) positions through every layer and the
head; a packed one costs ΣL_i, and the head (4·d·V FLOPs a position with its gradient, a fifth of a
SmolLM2-135M step) runs only at the positions whose next token carries a label. The batch is what
trl's collator makes with ``padding_free=True``: ``input_ids``, ``labels`` (-100 at each row's first
token, so that no row predicts the next row's start), ``position_ids`` restarting at 0 for every row,
and the rows' boundaries ``cu_seq_lens_q/k`` with ``max_length_q/k``. FlashAttention reads those
boundaries itself; for sdpa and eager, :func:`attention` swaps in :func:`segmented_sdpa` for the
step, which attends within each row: ΣL_i² of work, where the block-diagonal mask transformers would
build over the packed sequence costs (ΣL_i)². Loss and gradients equal the padded batch's to float
rounding (``tests/test_train.py``).

Chapters: rebound, performance.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import torch
import torch.nn.functional as F

#: The name :func:`segmented_sdpa` is registered under in transformers' attention interface.
SEGMENTED = "elastic_segmented_sdpa"


def segmented_sdpa(module, query, key, value, attention_mask, *, cu_seq_lens_q, **kwargs):
    """transformers' sdpa attention, causal within each packed row ``[cu_seq_lens_q[i],
    cu_seq_lens_q[i+1])`` and blind across rows; ``query``/``key``/``value`` are ``(1, heads,
    ΣL_i, head_dim)``."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = cu_seq_lens_q.tolist()
    rows = [sdpa_attention_forward(module, query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], None, **kwargs)[0]
            for a, b in zip(bounds, bounds[1:])]
    return torch.cat(rows, dim=1), None


@contextmanager
def attention(model):
    """Within the block, ``model`` attends within the rows of a packed batch: FlashAttention does
    so itself, any other implementation is replaced by :func:`segmented_sdpa` (forward and backward
    both run inside, so that activation checkpointing recomputes the same attention)."""
    from transformers import AttentionInterface

    config = model.config
    before = config._attn_implementation
    if before.startswith("flash"):
        yield
        return
    if SEGMENTED not in AttentionInterface._global_mapping:
        AttentionInterface.register(SEGMENTED, segmented_sdpa)
    config._attn_implementation = SEGMENTED  # not in the mask interface: transformers builds no mask
    try:
        yield
    finally:
        config._attn_implementation = before


class Packed:
    """Rows (token ids and labels, -100 where no loss) kept end to end; :meth:`take` packs a batch
    of them as trl's padding-free collator does, with no padding at all."""

    def __init__(self, ids: list[list[int]], labels: list[list[int]], device="cpu"):
        self.starts = torch.tensor([0, *torch.tensor([len(i) for i in ids]).cumsum(0).tolist()])
        self.ids = torch.tensor([t for row in ids for t in row], dtype=torch.long, device=device)
        self.labels = torch.tensor([t for row in labels for t in row], dtype=torch.long, device=device)
        self.labels[self.starts[:-1]] = -100  # a row's first token is predicted from nothing in it

    def take(self, rows: Sequence[int]) -> dict:
        spans = [(int(self.starts[r]), int(self.starts[r + 1])) for r in rows]
        lengths = torch.tensor([b - a for a, b in spans])
        bounds = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)]).to(torch.int32)
        position = torch.cat([torch.arange(n) for n in lengths.tolist()])
        longest = int(lengths.max())
        return {"input_ids": torch.cat([self.ids[a:b] for a, b in spans])[None],
                "labels": torch.cat([self.labels[a:b] for a, b in spans])[None],
                "position_ids": position[None].to(self.ids.device),
                "cu_seq_lens_q": bounds.to(self.ids.device), "cu_seq_lens_k": bounds.to(self.ids.device),
                "max_length_q": longest, "max_length_k": longest}


def loss(model, batch: dict, num_items: int | None = None) -> torch.Tensor:
    """Next-token cross-entropy (nats) of a packed ``batch``, summed over its predicted tokens and
    divided by ``num_items`` (default: their number), as the model's own loss; the head's logits
    are computed at those positions only (``logits_to_keep``)."""
    labels = batch["labels"][0]
    keep = (labels[1:] != -100).nonzero().squeeze(1)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, logits_to_keep=keep).logits[0]
    return F.cross_entropy(logits.float(), labels[keep + 1], reduction="sum") / (num_items or len(keep))
