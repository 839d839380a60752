"""Fine-tuning for §4 and Appendix C: SFT and DPO through trl, with "slices" and resumable runs.

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

Runs are resumable: a run writes ``run.json`` (a fingerprint of its data and arguments) and Trainer
checkpoints at every slice step and at the end of training; calling again with the same
``output_dir`` continues from the last checkpoint, and a finished run loads its saved weights
without training. A different run (other model config, data, or trainer fields) in the same
directory is refused. On several processes (``accelerate launch``) the same calls train data-parallel.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Sequence

import torch

from elastic.errors import ElasticError
from elastic.models import pick_device, pick_dtype
from elastic.results import atomic_write_text

_RUN_FILE = "run.json"
# Keys left out of a run's fingerprint: changing them does not change the trained weights.
_COSMETIC = {"disable_tqdm", "logging_steps", "report_to", "save_total_limit", "save_strategy",
             "save_steps", "output_dir", "dataloader_num_workers"}
_DEVICE_DEPENDENT = {"dtype", "torch_dtype", "transformers_version"}


def default_args(device: str | None = None) -> dict:
    """Trainer fields that depend on the hardware or on this module, under the caller's ``args``.

    bf16 only where :func:`elastic.models.pick_dtype` picks it (trl turns it on everywhere,
    including CPUs, where it is slow); no gradient checkpointing on CPU (it trades compute, the
    scarce resource there, for memory); ``use_cpu`` on CPU, without which transformers ignores the
    process group of a multi-process CPU launch; progress bars on; no experiment trackers.
    """
    device = device or pick_device()
    on_gpu = torch.device(device).type == "cuda"
    return {
        "bf16": pick_dtype(device) == torch.bfloat16, "gradient_checkpointing": on_gpu,
        "use_cpu": not on_gpu,
        "report_to": "none", "disable_tqdm": False, "logging_steps": 1, "save_total_limit": 1,
        "save_strategy": "steps", "save_steps": 0.5, "seed": 0,
    }


def sft(model, tokenizer, texts: Sequence[str] | Sequence[dict], *, output_dir: str | Path,
        args: dict | None = None, n_slices: int = 0, resume: bool = True):
    """One run of supervised fine-tuning (the SFT of §4.1) on ``texts``; returns the trained model.

    ``texts`` are plain strings (loss on every token) or ``{"prompt", "completion"}`` dicts (loss
    on the completion only, trl's default). ``n_slices > 0`` saves θ1..θn at equal fractions of the
    run (see the module docstring). The model is trained in place and returned; under DeepSpeed
    ZeRO-3 or FSDP its parameters stay sharded, so load the saved ``output_dir`` with
    :func:`elastic.models.load_model` instead.
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not texts:
        raise ElasticError("sft needs at least one training text")
    rows = [{"text": t} if isinstance(t, str) else dict(t) for t in texts]
    return _run("sft", SFTTrainer, SFTConfig, model, tokenizer, Dataset.from_list(rows),
                output_dir=output_dir, args=args, n_slices=n_slices, resume=resume)


def dpo(model, tokenizer, prompts: Sequence[str], chosen: Sequence[str], rejected: Sequence[str], *,
        output_dir: str | Path, args: dict | None = None, n_slices: int = 0, resume: bool = True,
        ref_model=None):
    """Direct preference optimization (Appendix C) of ``model`` towards ``chosen`` over ``rejected``.

    For the paper's inverse alignment pass the negative responses as ``chosen`` and the positive
    ones as ``rejected``. The reference policy is a frozen copy of ``model`` as given (or the base
    model with adapters off for a LoRA model) unless ``ref_model`` is passed. ``beta`` and the loss
    are ``trl.DPOConfig`` fields in ``args``.
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
    return _run("dpo", DPOTrainer, DPOConfig, model, tokenizer, data, output_dir=output_dir,
                args=args, n_slices=n_slices, resume=resume, ref_model=ref_model)


def slice_steps(total_steps: int, n_slices: int) -> list[int]:
    """Optimizer steps after which slices θ1..θn are saved: ``round(k·T/n)`` for k = 1..n."""
    if n_slices > total_steps:
        raise ElasticError(
            f"n_slices={n_slices} is more than the run's {total_steps} optimizer steps: "
            "use fewer slices, more data or a smaller batch"
        )
    return [round(k * total_steps / n_slices) for k in range(1, n_slices + 1)]


def slice_dirs(output_dir: str | Path) -> list[Path]:
    """The slice directories of a finished run, θ1 first."""
    dirs = Path(output_dir).glob("slice-*")
    return sorted(dirs, key=lambda p: int(p.name.split("-")[1]))


def _run(kind, trainer_cls, config_cls, model, tokenizer, dataset, *, output_dir, args, n_slices,
         resume, **trainer_kwargs):
    from transformers import TrainerCallback

    output_dir = Path(output_dir)
    fields = {**default_args(), **(args or {}), "output_dir": str(output_dir)}
    try:
        config = config_cls(**fields)
    except TypeError as exc:
        raise ElasticError(f"bad {kind} args ({exc}): keys must be trl.{config_cls.__name__} fields") from exc
    fingerprint = _fingerprint(kind, model, dataset, fields, n_slices)
    record = _read_run(output_dir)
    if record and record["fingerprint"] != fingerprint:
        # Another model, data or args made it: keep its trained weights beside, and train afresh.
        aside = output_dir.with_name(f"{output_dir.name}.set-aside-{record['fingerprint'][:12]}")
        shutil.rmtree(aside, ignore_errors=True)
        output_dir.rename(aside)
        print(f"{output_dir} held a different {record['kind']} run (other model, data or args): "
              f"set aside as {aside}", file=sys.stderr)
        record = None
    if record and record.get("done") and resume:
        return _load_weights(model, output_dir)
    last = _last_complete_checkpoint(output_dir) if resume and output_dir.is_dir() else None

    class Slices(TrainerCallback):
        """Save θk after its step and force a Trainer checkpoint there, so a resumed run keeps it."""

        steps: dict[int, int] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            self.steps = {s: k for k, s in enumerate(slice_steps(state.max_steps, n_slices), 1)} if n_slices else {}

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in self.steps:
                trainer.save_model(str(output_dir / f"slice-{self.steps[state.global_step]}"))
                control.should_save = True

    trainer = trainer_cls(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                          callbacks=[Slices()], **trainer_kwargs)
    if trainer.is_world_process_zero():
        output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output_dir / _RUN_FILE, json.dumps({"kind": kind, "fingerprint": fingerprint}))
    trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(output_dir))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        # optimizer states are only needed to resume; a finished run keeps its models
        for checkpoint in output_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint)
        atomic_write_text(output_dir / _RUN_FILE,
                          json.dumps({"kind": kind, "fingerprint": fingerprint, "done": True}))
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


def _fingerprint(kind, model, dataset, fields, n_slices) -> str:
    """What identifies a run: the model's config (its architecture and its parent's key), the data,
    the trainer fields that change the result, and the slices. Never where the cache lives: a
    copied or moved cache keeps its runs."""
    config = {k: v for k, v in model.config.to_dict().items() if k not in _DEVICE_DEPENDENT}
    config["_name_or_path"] = _parent_key(config.get("_name_or_path"))
    adapters = {name: {**c.to_dict(), "base_model_name_or_path": _parent_key(c.base_model_name_or_path)}
                for name, c in getattr(model, "peft_config", {}).items()}
    fields = {k: v for k, v in fields.items() if k not in _COSMETIC}
    payload = json.dumps([kind, config, adapters, dataset.to_list(), sorted(fields.items()), n_slices],
                         default=_canonical, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


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


def _canonical(value):
    """JSON for what ``json`` cannot write. Sets (peft's ``target_modules``) are sorted: their
    iteration order changes from process to process, and the fingerprint must not."""
    return sorted(map(str, value)) if isinstance(value, (set, frozenset)) else str(value)


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
