"""Every training run of the book goes through this module: the SFT and DPO of §4 and Appendix C,
the pre-training of every tiny model, and the lifecycle chapter's stages.

The resistance protocol of §4.1 trains θ0 for one epoch of SFT and keeps the intermediate models
θ1, …, θn at equal fractions of that epoch ("slices"). :func:`sft` does this with ``n_slices=n``:
slice ``k`` is the model after step ``round(k·T/n)`` of the epoch's ``T`` optimizer steps, saved as
safetensors in ``<output_dir>/slice-k`` (a LoRA run saves its adapter there, which
:func:`elastic.models.load_model` merges back into the base model). :func:`dpo` runs DPO (Appendix C),
where the inverse-alignment step uses the *negative* responses as ``chosen`` and the *positive* ones
as ``rejected``; the caller passes them in that order.

``args`` holds fields of ``trl.SFTConfig`` / ``trl.DPOConfig`` themselves, as alignment-handbook
recipes do, over defaults chosen for the hardware (:func:`default_args`). Each preset states its
trainer fields in the ``shared`` section of its YAML file (:class:`elastic.config.TrainerFields`:
the paper's optimizer and each preset's rate, batch and length); experiments pass their config's
``trainer_args()`` merged with their own fields.

One more field, ``backend``, says which implementation runs an SFT run; both read the same fields
and mean the same run:

* ``"lean"`` (the smoke and cpu presets): a plain PyTorch loop, :func:`optimizer_step`, with trl's
  semantics, so that a run of a few steps costs its steps and nothing else. Each text is tokenized
  as trl's ``SFTTrainer`` prepares it (EOS appended, the prompt of a prompt/completion row masked
  out of the loss, truncated to ``max_length``), once per pool (:class:`Examples`); batches are
  right-padded to their longest row, or with ``padding_free`` laid end to end with no padding
  (:mod:`elastic.packing`; trl's field, which trl itself runs only with FlashAttention and without
  ``max_length``); each epoch is a permutation drawn from a generator seeded with
  ``data_seed`` (else ``seed``) plus the epoch, as accelerate's seedable sampler draws it; the loss
  is the mean over the batch's predicted tokens (over the whole accumulated batch with
  ``gradient_accumulation_steps``); AdamW with weight decay on all but biases and norms, the
  transformers schedule of that name, and gradient clipping at ``max_grad_norm``, as the Trainer
  builds them. A field it does not implement is refused with the fix (``backend: trl``).
  ``tests/test_train.py`` shows both implementations give the same loss curve.
* ``"trl"`` (the colab and paper presets): trl's ``SFTTrainer``, for several processes
  (``accelerate launch``), DeepSpeed ZeRO-3 / FSDP and the rest of the Trainer's options.

DPO always runs through trl's ``DPOTrainer``. The lifecycle chapter's stages call
:func:`optimizer_step` directly, with their own optimizer and batches.

Runs are resumable: a run writes ``run.json`` (a fingerprint of its data and arguments) and
checkpoints at every slice step and at ``save_steps``; calling again with the same ``output_dir``
continues from the last checkpoint, and a finished run loads its saved weights without training.
A different run (other model config, data, or trainer fields) in the same directory is set aside.
A finished run's ``run.json`` also holds its loss curve, the seconds its steps took and (lean) the
number of tokens it trained on.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import re
import shutil
import sys
import time
import weakref
from pathlib import Path
from typing import Sequence

import torch

from elastic.cache import content_key
from elastic.errors import ElasticError
from elastic import packing, progress
from elastic.models import pick_device, pick_dtype
from elastic.results import atomic_directory, atomic_write_text, share

_RUN_FILE = "run.json"
# Keys left out of a run's fingerprint: changing them does not change the trained weights.
_COSMETIC = {"disable_tqdm", "logging_steps", "report_to", "save_total_limit", "save_strategy",
             "save_steps", "output_dir", "dataloader_num_workers"}
_DEVICE_DEPENDENT = {"dtype", "torch_dtype", "transformers_version"}
BACKENDS = ("lean", "trl")
#: The fields the lean loop implements (beside the cosmetic ones); any other is refused there.
_LEAN_FIELDS = {
    "backend", "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
    "gradient_accumulation_steps", "max_length", "truncation_mode", "completion_only_loss", "optim",
    "adam_beta1", "adam_beta2", "adam_epsilon", "weight_decay", "lr_scheduler_type", "lr_scheduler_kwargs",
    "warmup_steps", "warmup_ratio", "max_grad_norm", "seed", "data_seed", "train_sampling_strategy", "bf16",
    "gradient_checkpointing", "use_cpu", "padding_free",
}
_LEAN_CHOICES = {"optim": ("adamw_torch", "adamw_torch_fused"), "train_sampling_strategy": ("random", "sequential"),
                 "truncation_mode": ("keep_start", "keep_end")}
#: Fields under the names transformers 5 deprecated (a FutureWarning on every config built with
#: them), and the names it reads now: runs keep the old names, which their fingerprints hold, and
#: the trl config is built with the new ones.
_RENAMED = {"gradient_checkpointing": "activation_checkpointing",
            "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs"}
#: Parameters the Trainer exempts from weight decay: biases and norms (``Trainer.get_decay_parameter_names``).
_NO_DECAY = [re.compile(p) for p in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")]


def default_args(device: str | None = None) -> dict:
    """Trainer fields that depend on the hardware or on this module, under the caller's ``args``.

    bf16 only where :func:`elastic.models.pick_dtype` picks it (trl turns it on everywhere,
    including CPUs, where it is slow); no gradient checkpointing on CPU (it trades compute, the
    scarce resource there, for memory); ``use_cpu`` on CPU, without which transformers ignores the
    process group of a multi-process CPU launch; trl's progress bar and per-step metric dicts only
    when :func:`elastic.progress.verbose`; no experiment trackers; the lean loop.
    """
    device = device or pick_device()
    on_gpu = torch.device(device).type == "cuda"
    return {
        "bf16": pick_dtype(device) == torch.bfloat16, "gradient_checkpointing": on_gpu,
        "use_cpu": not on_gpu,
        "report_to": "none", "disable_tqdm": not progress.verbose(), "logging_steps": 1, "save_total_limit": 1,
        "save_strategy": "steps", "save_steps": 0.5, "seed": 0, "backend": "lean",
    }


@dataclasses.dataclass(frozen=True)
class Examples:
    """SFT rows tokenized as trl's ``SFTTrainer`` prepares them, before truncation: build them once
    per pool of texts and slice off the first ``n`` for each run (``examples[:n]``).

    ``rows`` are the rows as given (``{"text"}`` or ``{"prompt", "completion"}``; the run's
    fingerprint reads them), ``ids`` each row's tokens with EOS appended to the text or the
    completion, ``labels`` the same with -100 on the prompt of a prompt/completion row.
    """

    rows: tuple
    ids: tuple
    labels: tuple

    @classmethod
    def of(cls, tokenizer, texts: Sequence[str] | Sequence[dict]) -> "Examples":
        if isinstance(texts, Examples):
            return texts
        rows = tuple({"text": t} if isinstance(t, str) else dict(t) for t in texts)
        if not rows:
            return cls((), (), ())
        eos = tokenizer.eos_token
        ended = lambda text: text if text.endswith(eos) else text + eos  # noqa: E731
        if "prompt" in rows[0]:
            prompts = tokenizer([r["prompt"] for r in rows])["input_ids"]
            ids = tokenizer([r["prompt"] + ended(r["completion"]) for r in rows])["input_ids"]
            # the completion starts where the tokenized prompt and prompt+completion part (trl's rule)
            cut = [_common_prefix(p, i) for p, i in zip(prompts, ids)]
            labels = [[-100] * k + i[k:] for k, i in zip(cut, ids)]
        else:
            ids = tokenizer([ended(r["text"]) for r in rows])["input_ids"]
            labels = ids
        return cls(rows, tuple(map(tuple, ids)), tuple(map(tuple, labels)))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: slice) -> "Examples":
        return Examples(self.rows[index], self.ids[index], self.labels[index])

    def truncated(self, max_length: int | None, mode: str = "keep_start") -> tuple[list, list]:
        """``(ids, labels)`` cut to ``max_length`` tokens, without rows left with nothing to learn."""
        cut = slice(None) if max_length is None else slice(None, max_length) if mode == "keep_start" \
            else slice(-max_length, None)
        pairs = [(i[cut], l[cut]) for i, l in zip(self.ids, self.labels)]
        pairs = [(i, l) for i, l in pairs if any(t != -100 for t in l)]
        return [list(i) for i, _ in pairs], [list(l) for _, l in pairs]


def _common_prefix(a, b) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def sft(model, tokenizer, texts: Sequence[str] | Sequence[dict] | Examples, *, output_dir: str | Path,
        args: dict | None = None, n_slices: int | Sequence[int] = 0, resume: bool = True):
    """One run of supervised fine-tuning (the SFT of §4.1) on ``texts``; returns the trained model.

    ``texts`` are plain strings (loss on every token), ``{"prompt", "completion"}`` dicts (loss
    on the completion only, trl's default), or :class:`Examples` tokenized earlier. ``n_slices > 0``
    saves θ1..θn at equal fractions of the run (see the module docstring); a list of sample counts
    saves them after those samples (:func:`slice_steps`). The model is trained in
    place and returned; under DeepSpeed ZeRO-3 or FSDP its parameters stay sharded, so load the
    saved ``output_dir`` with :func:`elastic.models.load_model` instead.

    Chapters: compression_prediction.
    """
    from trl import SFTConfig

    examples = Examples.of(tokenizer, texts)
    if not len(examples):
        raise ElasticError("sft needs at least one training text")
    fields, config = _fields("sft", SFTConfig, args, output_dir)
    if fields["backend"] == "lean":
        return _run_lean(model, tokenizer, examples, fields, config, n_slices=n_slices, resume=resume)
    from datasets import Dataset
    from trl import SFTTrainer

    return _run_trl("sft", SFTTrainer, config, model, tokenizer, Dataset.from_list(list(examples.rows)),
                    fields, n_slices=n_slices, resume=resume)


def dpo(model, tokenizer, prompts: Sequence[str], chosen: Sequence[str], rejected: Sequence[str], *,
        output_dir: str | Path, args: dict | None = None, n_slices: int | Sequence[int] = 0, resume: bool = True,
        ref_model=None):
    """Direct preference optimization (Appendix C) of ``model`` towards ``chosen`` over ``rejected``.

    For the paper's inverse alignment pass the negative responses as ``chosen`` and the positive
    ones as ``rejected``. The reference policy is a frozen copy of ``model`` as given (or the base
    model with adapters off for a LoRA model) unless ``ref_model`` is passed. ``beta`` and the loss
    are ``trl.DPOConfig`` fields in ``args``; ``padding_free`` is not taken (trl 1.16 pads DPO).
    """
    from datasets import Dataset
    from peft import PeftModel
    from trl import DPOConfig, DPOTrainer

    if not (len(prompts) == len(chosen) == len(rejected)) or not prompts:
        raise ElasticError(
            f"dpo needs as many prompts as chosen and rejected responses, at least one; got "
            f"{len(prompts)}, {len(chosen)}, {len(rejected)}"
        )
    data = Dataset.from_dict({"prompt": list(prompts), "chosen": list(chosen), "rejected": list(rejected)})
    if ref_model is None and not isinstance(model, PeftModel):
        # trl would reload the reference from model.config's hub id, which a model built in code lacks
        ref_model = copy.deepcopy(model).eval()
    # any backend: DPO runs through trl, which pads (trl 1.16 turned its padding-free DPO off)
    args = {k: v for k, v in (args or {}).items() if k != "padding_free"}
    fields, config = _fields("dpo", DPOConfig, args, output_dir)
    return _run_trl("dpo", DPOTrainer, config, model, tokenizer, data, fields, n_slices=n_slices,
                    resume=resume, ref_model=ref_model)


def slice_steps(total_steps: int, n_slices: int | Sequence[int], samples_per_step: int = 1) -> list[int]:
    """Optimizer steps after which slices θ1..θn are saved. An int ``n_slices`` = n: equal
    fractions of the run, ``round(k·T/n)`` for k = 1..n. A list: slices after those numbers of
    training samples (with a constant rate, a 1-epoch run's slice after n samples is the 1-epoch
    run on its first n samples: the rebound grids of §4.2 share their runs so), each a whole
    number of steps of ``samples_per_step`` samples."""
    if not isinstance(n_slices, int):
        counts = [int(c) for c in n_slices]
        if not counts or counts != sorted(set(counts)) or counts[0] < 1:
            raise ElasticError(f"slices at {counts} samples: give increasing positive sample counts")
        uneven = [c for c in counts if c % samples_per_step]
        if uneven:
            raise ElasticError(f"slices at {uneven} samples are not whole optimizer steps of {samples_per_step} "
                               "samples: give multiples of the batch (per_device_train_batch_size x accumulation)")
        steps = [c // samples_per_step for c in counts]
        if steps[-1] > total_steps:
            raise ElasticError(f"a slice after {counts[-1]} samples is beyond the run's {total_steps} optimizer "
                               "steps: give more training data or smaller sample counts")
        return steps
    if n_slices > total_steps:
        raise ElasticError(
            f"n_slices={n_slices} is more than the run's {total_steps} optimizer steps: "
            "use fewer slices, more data or a smaller batch"
        )
    return [round(k * total_steps / n_slices) for k in range(1, n_slices + 1)]


def slice_dirs(output_dir: str | Path) -> list[Path]:
    """The slice directories of a finished run, θ1 first.

    Chapters: resistance. Paper: §4.1, Table 1.
    """
    dirs = Path(output_dir).glob("slice-*")
    return sorted(dirs, key=lambda p: int(p.name.split("-")[1]))


def _fields(kind: str, config_cls, args: dict | None, output_dir) -> tuple[dict, object]:
    """The run's fields (defaults, then ``args``) and the trl config they make; a key that is not
    a field of ``config_cls``, or an unknown backend, is a one-line error."""
    fields = {**default_args(), **(args or {}), "output_dir": str(output_dir)}
    if fields["backend"] not in BACKENDS:
        raise ElasticError(f"backend={fields['backend']!r}: give one of {', '.join(BACKENDS)}")
    if fields["backend"] == "trl" and fields.get("padding_free") and fields.get("max_length") is not None:
        raise ElasticError("padding_free runs in the lean loop (trl's needs FlashAttention and no max_length): "
                           "set padding_free: false with backend: trl")
    try:
        config = config_cls(**{_RENAMED.get(k, k): v for k, v in fields.items() if k != "backend"})
    except TypeError as exc:
        raise ElasticError(f"bad {kind} args ({exc}): keys must be trl.{config_cls.__name__} fields") from exc
    return fields, config


def _start(kind: str, model, rows, fields: dict, n_slices: int | Sequence[int], resume: bool) -> tuple[str, dict | None, str | None]:
    """``(fingerprint, record, checkpoint)`` of a run about to start in ``fields["output_dir"]``: the
    finished run's record if it is this run (and ``resume``), else the checkpoint to resume from.
    A different run found there (other model, data or args) is set aside with its trained weights."""
    output_dir = Path(fields["output_dir"])
    fingerprint = _fingerprint(kind, model, rows, fields, n_slices)
    record = _read_run(output_dir)
    if record and record["fingerprint"] != fingerprint:
        aside = output_dir.with_name(f"{output_dir.name}.set-aside-{record['fingerprint'][:12]}")
        shutil.rmtree(aside, ignore_errors=True)
        output_dir.rename(aside)
        print(f"{output_dir} held a different {record['kind']} run (other model, data or args): "
              f"set aside as {aside}", file=sys.stderr)
        record = None
    if record and record.get("done") and resume:
        return fingerprint, record, None
    last = _last_complete_checkpoint(output_dir) if resume and output_dir.is_dir() else None
    return fingerprint, None, last


def _finish(kind: str, output_dir: Path, fingerprint: str, curve: dict) -> None:
    """A run's end: optimizer states are only needed to resume, so its checkpoints go; its record
    says it is done and keeps its loss curve."""
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    atomic_write_text(output_dir / _RUN_FILE,
                      json.dumps({"kind": kind, "fingerprint": fingerprint, "done": True, **curve}))


# --- the lean loop ------------------------------------------------------------------------------------

def optimizer_step(model, micro_batches: Sequence[dict], optimizer, scheduler=None, *, max_grad_norm: float = 0.0,
                   bf16: bool = False) -> tuple[float, int]:
    """One optimizer step on ``micro_batches`` (``input_ids``, ``attention_mask``, ``labels`` with
    -100 where no loss; or packed by :class:`elastic.packing.Packed`); returns the loss (mean
    next-token cross-entropy in nats over the predicted tokens of all micro-batches, before the
    step) and the number of those tokens.

    Every training step of the book runs here: the lean SFT loop's and the lifecycle's. One
    micro-batch takes the model's own mean loss; several are weighted by their share of the
    predicted tokens, as the Trainer's gradient accumulation does.
    """
    start = time.perf_counter()
    total = sum(int((b["labels"][:, 1:] != -100).sum()) for b in micro_batches)
    device = next(model.parameters()).device
    num_items = total if len(micro_batches) > 1 else None
    loss_sum = 0.0
    for batch in micro_batches:
        packed = "cu_seq_lens_q" in batch
        with packing.attention(model) if packed else contextlib.nullcontext():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                if packed:
                    loss = packing.loss(model, batch, num_items)
                else:
                    loss = model(**batch, **({"num_items_in_batch": num_items} if num_items else {})).loss
            loss.backward()
        loss_sum += loss.item()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True)  # as AdamW above
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    ledger.add_step(model, total, time.perf_counter() - start)
    return loss_sum, total


class Ledger:
    """The training this process did since the last :meth:`take`: the lean steps (their number,
    predicted tokens, seconds and FLOPs) and the trl runs (their number and the seconds inside
    ``Trainer.train``). :func:`elastic.results.save` takes it into each result's provenance, so
    that a chapter says how much it trained and how fast (the Performance page reads it).

    A step's FLOPs are ``(4 N + 2 N_trainable)`` per predicted token for a model of ``N`` parameters:
    forward (2N) and the gradient of the activations (2N) through every weight, and the gradient of
    the trainable weights (6N for full training, about 4N with LoRA)."""

    def __init__(self):
        self._sizes = weakref.WeakKeyDictionary()  # model -> (N, N_trainable), counted once per model
        self.take()

    def add_step(self, model, tokens: int, seconds: float) -> None:
        if model not in self._sizes:
            params = list(model.parameters())
            self._sizes[model] = (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad))
        n, trainable = self._sizes[model]
        self.steps += 1
        self.tokens += tokens
        self.seconds += seconds
        self.flops += (4 * n + 2 * trainable) * tokens

    def add_trl_run(self, seconds: float) -> None:
        self.trl_runs += 1
        self.trl_seconds += seconds

    def take(self) -> dict:
        """The counts so far, and zero them."""
        counts = {k: getattr(self, k, 0) for k in ("steps", "tokens", "seconds", "flops", "trl_runs", "trl_seconds")}
        self.steps = self.tokens = self.trl_runs = 0
        self.seconds = self.flops = self.trl_seconds = 0.0
        return counts


#: This process's :class:`Ledger`.
ledger = Ledger()


def adamw(model, config) -> torch.optim.AdamW:
    """AdamW as the Trainer builds it from ``config`` (a trl config): the trainable parameters,
    weight decay on all but biases and norms, the config's betas and epsilon."""
    norms = {f"{name}.{p}" if name else p for name, module in model.named_modules()
             if isinstance(module, torch.nn.LayerNorm) for p, _ in module.named_parameters(recurse=False)}
    decay, rest = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            exempt = name in norms or any(p.search(name.lower()) for p in _NO_DECAY)
            (rest if exempt else decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    # foreach: one call per operation over all the tensors instead of a Python loop over them (torch
    # takes it only on GPUs by default); on CPU it gives the for-loop's weights bit for bit and
    # saves most of the optimizer's per-step cost for a model of many small tensors
    fused = {"fused": True} if _value(config.optim) == "adamw_torch_fused" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
                             eps=config.adam_epsilon, **fused)


class Padded:
    """Rows right-padded once, to the longest row; :meth:`take` cuts a batch of them to its own
    longest row (what trl's collator makes of the same rows), with no per-step tensor building."""

    def __init__(self, ids: list[list[int]], labels: list[list[int]], pad_id: int, device="cpu"):
        self.lengths = torch.tensor([len(i) for i in ids])
        shape = (len(ids), int(self.lengths.max()))
        self.ids, self.labels = torch.full(shape, pad_id, dtype=torch.long), torch.full(shape, -100, dtype=torch.long)
        for row, (i, l) in enumerate(zip(ids, labels)):
            self.ids[row, :len(i)], self.labels[row, :len(l)] = torch.tensor(i), torch.tensor(l)
        self.ids, self.labels, self.lengths = self.ids.to(device), self.labels.to(device), self.lengths.to(device)

    def take(self, rows: Sequence[int]) -> dict:
        """``input_ids`` (pad id), ``attention_mask`` and ``labels`` (-100 on padding) of ``rows``."""
        rows = torch.as_tensor(rows, device=self.ids.device)
        lengths = self.lengths[rows]
        width = int(lengths.max())
        mask = (torch.arange(width, device=rows.device)[None, :] < lengths[:, None]).long()
        return {"input_ids": self.ids[rows, :width], "attention_mask": mask, "labels": self.labels[rows, :width]}


def schedule(n_rows: int, config) -> list[list[list[int]]]:
    """The rows of every optimizer step: a list of micro-batches (lists of row indices) per step.

    ``ceil(num_train_epochs x steps per epoch)`` steps, or ``max_steps``; each epoch a permutation
    from a generator seeded with ``data_seed`` (else ``seed``) plus the epoch (accelerate's seedable
    sampler), or the rows in order for ``train_sampling_strategy="sequential"``; an epoch's last
    step may hold fewer micro-batches, its last micro-batch fewer rows (no row is dropped).
    """
    size, accum = config.per_device_train_batch_size, config.gradient_accumulation_steps
    per_epoch = math.ceil(n_rows / size)
    updates = max(per_epoch // accum + int(per_epoch % accum > 0), 1)
    total = config.max_steps if config.max_steps > 0 else math.ceil(config.num_train_epochs * updates)
    seed = config.data_seed if config.data_seed is not None else config.seed
    steps, epoch = [], 0
    while len(steps) < total:
        if _value(config.train_sampling_strategy) == "sequential":
            order = list(range(n_rows))
        else:
            order = torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        micro = [order[i:i + size] for i in range(0, n_rows, size)]
        steps += [micro[i:i + accum] for i in range(0, len(micro), accum)]
        epoch += 1
    return steps[:total]


def _check_lean(fields: dict, config) -> None:
    unknown = sorted(set(fields) - _LEAN_FIELDS - _COSMETIC)
    if unknown:
        raise ElasticError(f"the lean trainer does not implement {', '.join(unknown)}: set backend: trl to use them")
    for name, valid in _LEAN_CHOICES.items():
        if _value(getattr(config, name)) not in valid:
            raise ElasticError(f"the lean trainer does not implement {name}={_value(getattr(config, name))}: "
                               f"use one of {', '.join(valid)} or set backend: trl")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ElasticError("the lean trainer runs in one process: set backend: trl for accelerate launch")


def _value(option):
    """The string of a transformers option (its enums are ``str`` subclasses whose ``str()`` is not the value)."""
    return getattr(option, "value", option)


def _run_lean(model, tokenizer, examples: Examples, fields: dict, config, *, n_slices: int | Sequence[int],
              resume: bool):
    from transformers import get_scheduler

    _check_lean(fields, config)
    output_dir = Path(fields["output_dir"])
    fingerprint, record, last = _start("sft", model, examples.rows, fields, n_slices, resume)
    if record:
        return _load_weights(model, output_dir)
    ids, labels = examples.truncated(config.max_length, _value(config.truncation_mode))
    if not ids:
        raise ElasticError(f"max_length={config.max_length} leaves no text anything to learn: raise max_length")
    if config.completion_only_loss is False:
        labels = ids
    steps = schedule(len(ids), config)
    optimizer = adamw(model, config)
    scheduler = get_scheduler(_value(config.lr_scheduler_type), optimizer,
                              num_warmup_steps=config.get_warmup_steps(len(steps)),
                              num_training_steps=len(steps), scheduler_specific_kwargs=config.lr_scheduler_kwargs)
    per_step = config.per_device_train_batch_size * config.gradient_accumulation_steps
    slices = {s: k for k, s in enumerate(slice_steps(len(steps), n_slices, per_step), 1)} if n_slices else {}
    saves = set(slices)
    if _value(config.save_strategy) == "steps":
        every = math.ceil(config.save_steps * len(steps)) if config.save_steps < 1 else int(config.save_steps)
        saves |= set(range(every, len(steps), every))
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output_dir / _RUN_FILE, json.dumps({"kind": "sft", "fingerprint": fingerprint}))
    curve = _load_checkpoint(Path(last), model, optimizer, scheduler) if last else {"losses": [], "tokens": 0, "seconds": 0.0}
    device = next(model.parameters()).device
    rows = packing.Packed(ids, labels, device) if config.padding_free else Padded(ids, labels, tokenizer.pad_token_id, device)
    if config.activation_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=config.activation_checkpointing_kwargs)
    model.train()
    for step in range(len(curve["losses"]), len(steps)):
        start = time.perf_counter()  # the step: its batch and its update, not the saving
        micro = [rows.take(micro_rows) for micro_rows in steps[step]]
        loss, tokens = optimizer_step(model, micro, optimizer, scheduler, max_grad_norm=config.max_grad_norm,
                                      bf16=bool(config.bf16))
        curve["losses"].append(loss)
        curve["tokens"] += tokens
        curve["seconds"] += time.perf_counter() - start
        if step + 1 in slices:
            _save_model(model, tokenizer, output_dir / f"slice-{slices[step + 1]}")
        if step + 1 in saves:
            _save_checkpoint(output_dir, step + 1, model, optimizer, scheduler, curve, int(config.save_total_limit or 0))
    model.eval()
    if config.activation_checkpointing:
        model.activation_checkpointing_disable()
    _save_model(model, tokenizer, output_dir)
    _finish("sft", output_dir, fingerprint, curve)
    return model


def _save_model(model, tokenizer, directory: Path) -> None:
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    share(directory)  # safetensors writes 0600


def _save_checkpoint(output_dir: Path, step: int, model, optimizer, scheduler, curve: dict, keep: int) -> None:
    """``checkpoint-<step>``: the trainable weights (safetensors), the optimizer and schedule states
    and the loss curve so far, written whole or not at all; only the newest ``keep`` are kept."""
    from safetensors.torch import save_file

    with atomic_directory(output_dir / f"checkpoint-{step}", marker="trainer_state.json") as tmp:
        save_file({n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad},
                  tmp / "trainable.safetensors")
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
        (tmp / "trainer_state.json").write_text(json.dumps({"global_step": step, **curve}))
    if keep:
        old = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]
        for path in old:
            shutil.rmtree(path)


def _load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    from safetensors.torch import load_file

    trainable = load_file(path / "trainable.safetensors")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in trainable.items():
            params[name].copy_(value)
    states = torch.load(path / "optimizer.pt", weights_only=True)  # tensors and numbers only
    optimizer.load_state_dict(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    state = json.loads((path / "trainer_state.json").read_text())
    return {"losses": state["losses"], "tokens": state["tokens"], "seconds": state["seconds"]}


# --- trl ---------------------------------------------------------------------------------------------

def _run_trl(kind, trainer_cls, config, model, tokenizer, dataset, fields: dict, *, n_slices, resume,
             **trainer_kwargs):
    from transformers import TrainerCallback

    output_dir = Path(fields["output_dir"])
    fingerprint, record, last = _start(kind, model, dataset.to_list(), fields, n_slices, resume)
    if record:
        return _load_weights(model, output_dir)

    class Slices(TrainerCallback):
        """Save θk after its step and force a Trainer checkpoint there, so a resumed run keeps it."""

        steps: dict[int, int] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
            self.steps = ({s: k for k, s in enumerate(slice_steps(state.max_steps, n_slices, per_step), 1)}
                          if n_slices else {})

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in self.steps:
                trainer.save_model(str(output_dir / f"slice-{self.steps[state.global_step]}"))
                control.should_save = True

    trainer = trainer_cls(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                          callbacks=[Slices()], **trainer_kwargs)
    if not progress.verbose():  # the metric dict the Trainer prints at every log step, and at the end
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    if trainer.is_world_process_zero():
        output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output_dir / _RUN_FILE, json.dumps({"kind": kind, "fingerprint": fingerprint}))
    trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(output_dir))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        share(output_dir)  # the Trainer's safetensors (model, slices, checkpoints) are 0600
        # the logged losses (one per logging_steps window) and the time inside Trainer.train
        history = trainer.state.log_history
        seconds = next(e["train_runtime"] for e in history if "train_runtime" in e)
        ledger.add_trl_run(seconds)
        _finish(kind, output_dir, fingerprint, {"losses": [e["loss"] for e in history if "loss" in e], "seconds": seconds})
    _restore_forward(model)
    return model


def _last_complete_checkpoint(output_dir: Path) -> str | None:
    """The latest ``checkpoint-N`` that was written to the end. The Trainer writes a checkpoint in
    place and its ``trainer_state.json`` last, so a process killed while saving leaves a directory
    without a readable one; resuming from it would fail, so it is skipped (and later overwritten)."""
    def complete(path: Path) -> bool:
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            return False
        return True

    found = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[1].isdigit() and complete(p)]
    return str(max(found, key=lambda p: int(p.name.split("-")[1]))) if found else None


def _restore_forward(model) -> None:
    """Undo the trainers' patches of ``forward``.

    trl (its fused LM head) and accelerate (autocast) replace ``forward`` on the model instance by
    a wrapper that closes over the original bound method. The wrapper outlives training, and a
    ``copy.deepcopy`` of the model would then compute with the weights of the model it was copied
    from. Dropping the instance attribute restores the class's own ``forward``; accelerate's
    device-map hooks (``_hf_hook``) are left alone.
    """
    for module in model.modules():
        if "forward" in module.__dict__ and not hasattr(module, "_hf_hook"):
            del module.__dict__["forward"]
            module.__dict__.pop("_original_forward", None)


def _fingerprint(kind, model, rows, fields, n_slices) -> str:
    """What identifies a run: the model's config (its architecture and its parent's key), the data,
    the trainer fields that change the result, and the slices. Never where the cache lives: a
    copied or moved cache keeps its runs."""
    config = {k: v for k, v in model.config.to_dict().items() if k not in _DEVICE_DEPENDENT}
    config["_name_or_path"] = _parent_key(config.get("_name_or_path"))
    adapters = {name: {**c.to_dict(), "base_model_name_or_path": _parent_key(c.base_model_name_or_path)}
                for name, c in getattr(model, "peft_config", {}).items()}
    fields = {k: v for k, v in fields.items() if k not in _COSMETIC}
    return content_key([kind, config, adapters, list(rows), sorted(fields.items()), n_slices], length=64)


def _parent_key(name_or_path):
    """A parent by content: a run directory (or a slice of one) by its run's fingerprint, any
    other local directory by its name, a hub id as itself."""
    if not name_or_path or not Path(name_or_path).is_dir():
        return name_or_path
    path = Path(name_or_path)
    for run in (path, path.parent):
        record = _read_run(run)
        if record:
            return f"{record['fingerprint']}/{path.name if run != path else ''}"
    return path.name


def _read_run(output_dir: Path) -> dict | None:
    path = Path(output_dir) / _RUN_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        record["fingerprint"]
        return record
    except (ValueError, KeyError, TypeError) as exc:
        raise ElasticError(f"{path} is not a run record ({exc}): delete that file to retrain {path.parent}") from exc


def _load_weights(model, output_dir: Path):
    """Put the weights a finished run saved in ``output_dir`` into ``model`` (no training)."""
    from peft import PeftModel, set_peft_model_state_dict
    from safetensors.torch import load_file

    if isinstance(model, PeftModel):
        set_peft_model_state_dict(model, load_file(output_dir / "adapter_model.safetensors"))
        return model
    from transformers import AutoModelForCausalLM

    saved = AutoModelForCausalLM.from_pretrained(output_dir, dtype=model.dtype, use_safetensors=True,
                                                 trust_remote_code=False)
    model.load_state_dict(saved.state_dict())
    return model
