"""A local Hugging Face hub: tiny stand-ins for every id of :mod:`elastic.data.catalog`, in the
cache layout ``huggingface_hub`` resolves offline.

``<cache>/models--<org>--<name>/snapshots/<revision>/<files>`` plus ``refs/main`` holding the
revision (``datasets--...`` likewise). With ``HF_HUB_CACHE=<cache>`` and ``HF_HUB_OFFLINE=1``,
``snapshot_download(id, local_files_only=True)`` returns the snapshot directory, so
:func:`elastic.data.hub.locate` and the loaders take exactly the path they take on Colab after a
download: they do not learn that a mirror exists.

Every stand-in keeps what the loaders and trainers depend on and shrinks the rest:

* **models**: the real architecture class and ``config.json`` keys (tied embeddings, grouped-query
  heads, Qwen2's attention biases, Gemma's head_dim, the score model's ``score_*`` keys and RoBERTa's
  labels), with 2 layers of width 32 and a vocabulary of about 260 tokens; weights in the files the
  real repository ships (``model.safetensors``, ``model-0000k-of-0000n.safetensors`` with its index,
  or pickled ``pytorch_model*.bin`` where the repository has only those);
* **tokenizers**: the class the real ``tokenizer_config.json`` names, with the same special tokens,
  over the 256 bytes (so every text round-trips);
* **datasets**: the real configs, splits, file paths and formats (parquet, jsonl, jsonl.gz, jsonl.xz)
  and columns, filled with text from :mod:`elastic.data.generators` (reviews with their sentiment
  label, dialogues with their safety label), so the rows carry the signal the experiments measure.

The weights are random (seeded): a rehearsal checks that every id loads, trains, generates and scores
through the real code path, not what the real models would say.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import inspect
import json
import lzma
import os
import socket
from pathlib import Path

import numpy as np

from elastic.cache import Store, content_key
from elastic.data import catalog
from elastic.errors import ElasticError

#: Dimensions of every model stand-in.
WIDTH, LAYERS, HEADS, HEAD_DIM = 32, 2, 4, 8
#: Rows per split and side (label) of every dataset stand-in; TruthfulQA keeps its real 817.
ROWS = 600
TRUTHFULQA_ROWS = 817


def snapshot_dir(cache: Path, repo_id: str, repo_type: str = "model") -> Path:
    """The snapshot directory of ``repo_id`` in ``cache`` (created, with ``refs/main``)."""
    folder = Path(cache) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    revision = hashlib.sha1(f"elastic-mirror {repo_type} {repo_id}".encode()).hexdigest()  # a 40-hex commit id
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    target = folder / "snapshots" / revision
    target.mkdir(parents=True, exist_ok=True)
    return target


# --- tokenizers ------------------------------------------------------------------------------------

def _byte_vocab(before=(), after=()) -> dict:
    from elastic.models import _byte_chars

    tokens = [*before, *_byte_chars(), *after]
    return {t: i for i, t in enumerate(tokens)}


def _sentencepiece_vocab(specials) -> dict:
    """Special tokens, the 256 ``<0xNN>`` byte-fallback pieces and the word marker ``▁``."""
    return {t: i for i, t in enumerate([*specials, *(f"<0x{b:02X}>" for b in range(256)), "\u2581"])}


def tokenizer(name: str, repo_id: str = ""):
    """A tiny tokenizer of class ``name`` with the special tokens of the real one."""
    import transformers

    if name == "LlamaTokenizer":
        extra = ["<pad>"] if repo_id == "PKU-Alignment/beaver-7b-v1.0-cost" else []  # its added_tokens.json
        tok = transformers.LlamaTokenizer(vocab=_sentencepiece_vocab(["<unk>", "<s>", "</s>", *extra]), merges=[])
        if extra:
            tok.pad_token = "<pad>"
        return tok
    if name == "GemmaTokenizer":  # gemma's ids: pad 0, eos 1, bos 2, unk 3
        return transformers.GemmaTokenizer(vocab=_sentencepiece_vocab(["<pad>", "<eos>", "<bos>", "<unk>"]), merges=[])
    if name == "Qwen2Tokenizer":  # <|endoftext|> follows the ordinary vocabulary
        return transformers.Qwen2Tokenizer(vocab=_byte_vocab(after=["<|endoftext|>"]), merges=[])
    if name == "RobertaTokenizer":
        return transformers.RobertaTokenizer(vocab=_byte_vocab(["<s>", "<pad>", "</s>", "<unk>"], ["<mask>"]), merges=[])
    if name == "PreTrainedTokenizerFast":  # Llama 3: byte-level BPE in tokenizer.json, bos prepended
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

        vocab = _byte_vocab(after=["<|begin_of_text|>", "<|end_of_text|>"])
        core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
        core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        core.decoder = decoders.ByteLevel()
        core.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", vocab["<|begin_of_text|>"])])
        return transformers.PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|begin_of_text|>",
                                                    eos_token="<|end_of_text|>")
    raise ElasticError(f"no stand-in for tokenizer class {name!r}")


def _save_tokenizer(tok, entry: catalog.Model, snap: Path) -> None:
    tok.save_pretrained(snap)
    if entry.tokenizer_files == "bpe":  # the repository ships vocab.json + merges.txt, no tokenizer.json
        (snap / "tokenizer.json").unlink()
        (snap / "vocab.json").write_text(json.dumps(tok.get_vocab()))
        (snap / "merges.txt").write_text("#version: 0.2\n")


# --- models ------------------------------------------------------------------------------------------

def stand_in_values(entry: catalog.Model, tok) -> dict:
    """The real ``config.json`` values with the dimensions shrunk and the special-token ids those of
    ``tok``: written as they are, so the loader converts them as it converts the real file."""
    real = entry.config
    values = dict(real)
    n_h, n_kv = real["num_attention_heads"], real.get("num_key_value_heads", real["num_attention_heads"])
    kv = HEADS if n_kv == n_h else 1 if n_kv == 1 else 2   # keep full, multi-query or grouped-query attention
    values.update(vocab_size=len(tok), hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_hidden_layers=LAYERS,
                  num_attention_heads=HEADS)
    if real["model_type"] != "roberta":
        values["num_key_value_heads"] = kv
    if "head_dim" in real:
        values["head_dim"] = HEAD_DIM
    for name in ("bos", "eos", "pad"):
        token_id = getattr(tok, f"{name}_token_id")
        if token_id is not None:
            values[f"{name}_token_id"] = token_id
    return values


def _stand_in_weights(entry: catalog.Model, config) -> dict:
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

    torch.manual_seed(int(hashlib.sha1(entry.repo_id.encode()).hexdigest()[:8], 16))
    kind = entry.config["architectures"][0]
    if kind.endswith("ForScore"):  # safe-rlhf's layout: the backbone under "model.", a linear score head
        backbone = AutoModel.from_config(config)
        head = torch.nn.Linear(config.hidden_size, config.score_dim, bias=config.score_bias)
        return {**{f"model.{k}": v for k, v in backbone.state_dict().items()},
                **{f"score_head.{k}": v for k, v in head.state_dict().items()}}
    auto = AutoModelForSequenceClassification if kind.endswith("ForSequenceClassification") else AutoModelForCausalLM
    state = auto.from_config(config).state_dict()
    if getattr(config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # tied: stored once, as save_pretrained does
    return state


def _write_weights(snap: Path, state: dict, fmt: str, shards: int) -> None:
    """``state`` in ``shards`` files of format ``fmt`` ("safetensors" or "bin"), with an index when
    there is more than one, named as transformers names them."""
    import torch
    from safetensors.torch import save_file

    state = {k: v.contiguous().clone() for k, v in state.items()}
    prefix, suffix = ("model", ".safetensors") if fmt == "safetensors" else ("pytorch_model", ".bin")
    names = list(state)
    bounds = np.linspace(0, len(names), shards + 1).round().astype(int)
    groups = [names[a:b] for a, b in zip(bounds, bounds[1:])]  # plain str keys: a pickle of them stays plain
    weight_map = {}
    for k, keys in enumerate(groups, 1):
        name = f"{prefix}{suffix}" if shards == 1 else f"{prefix}-{k:05d}-of-{shards:05d}{suffix}"
        part = {key: state[key] for key in keys}
        if fmt == "safetensors":
            save_file(part, str(snap / name), metadata={"format": "pt"})
        else:
            torch.save(part, snap / name)
        weight_map.update({key: name for key in keys})
    if shards > 1:
        total = sum(v.numel() * v.element_size() for v in state.values())
        index = "model.safetensors.index.json" if fmt == "safetensors" else "pytorch_model.bin.index.json"
        (snap / index).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1))


def write_model(cache: Path, entry: catalog.Model) -> Path:
    """The stand-in of ``entry`` in ``cache``: config, tokenizer and weights as the repo ships them."""
    from transformers import AutoConfig

    snap = snapshot_dir(cache, entry.repo_id)
    tok = tokenizer(entry.tokenizer, entry.repo_id)
    values = stand_in_values(entry, tok)
    (snap / "config.json").write_text(json.dumps(values, indent=2))
    config = AutoConfig.from_pretrained(snap)
    _save_tokenizer(tok, entry, snap)
    state = _stand_in_weights(entry, config)
    for fmt, shards in (("safetensors", entry.safetensors), ("bin", entry.bin)):
        if shards:
            _write_weights(snap, state, fmt, shards)
    return snap


# --- datasets ----------------------------------------------------------------------------------------

def _categories(rng, safe: bool) -> dict:
    flagged = set() if safe else {catalog.HARM_CATEGORIES[rng.integers(len(catalog.HARM_CATEGORIES))]}
    return {c: c in flagged for c in catalog.HARM_CATEGORIES}


def _imdb(split: str, seed: int) -> list[dict]:
    from elastic import data

    rows = []
    sides = (("unlabelled", -1),) if split == "unsupervised" else (("positive", 1), ("negative", 0))
    for side, label in sides:
        n = ROWS // 8 if split == "unsupervised" else ROWS
        for k, text in enumerate(data.reviews(n, "positive" if side == "unlabelled" else side, seed)):
            # the raw reviews keep HTML line breaks, which the loader turns into spaces
            rows.append({"text": text.replace(". ", ". <br /><br />", 1) if k % 3 == 0 else text, "label": label})
    return rows


def _beavertails(split: str, seed: int) -> list[dict]:
    from elastic import data

    rng = np.random.default_rng(seed)
    return [{"prompt": r.prompt, "response": r.response.lstrip(), "category": _categories(rng, safe), "is_safe": safe}
            for safe in (True, False) for r in data.dialogues(ROWS, safe, seed)]


def _safe_rlhf(split: str, seed: int) -> list[dict]:
    from elastic import data

    rng = np.random.default_rng(seed)
    safe, unsafe = data.dialogues(ROWS, True, seed), data.dialogues(ROWS, False, seed + 1)
    rows = []
    for k, (a, b) in enumerate(zip(safe, unsafe)):
        first_safe = bool(k % 2)  # which of the two responses is the safe one alternates
        r0, r1 = (a, b) if first_safe else (b, a)
        rows.append({
            "prompt": a.prompt, "response_0": r0.response.lstrip(), "response_1": r1.response.lstrip(),
            "prompt_source": "elastic", "response_0_source": "elastic", "response_1_source": "elastic",
            "is_response_0_safe": first_safe, "is_response_1_safe": not first_safe,
            "response_0_harm_category": _categories(rng, first_safe),
            "response_1_harm_category": _categories(rng, not first_safe),
            "response_0_severity_level": 0 if first_safe else 2, "response_1_severity_level": 2 if first_safe else 0,
            "better_response_id": 0 if first_safe else 1, "safer_response_id": 0 if first_safe else 1,
        })
    return rows


_ALPACA_PROMPT = ("Below is an instruction that describes a task. Write a response that appropriately "
                  "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n{output}")


def _alpaca(split: str, seed: int) -> list[dict]:
    from elastic import data

    rows = []
    for k, record in enumerate(data.dialogues(ROWS, True, seed)):
        instruction, given = (record.prompt, "") if k % 2 else ("Answer the question below.", record.prompt)
        output = record.response.lstrip()
        rows.append({"instruction": instruction, "input": given, "output": output,
                     "text": _ALPACA_PROMPT.format(instruction=instruction, output=output)})
    return rows


def _truthfulqa(config: str, seed: int) -> list[dict]:
    from elastic import data

    good, bad = data.dialogues(TRUTHFULQA_ROWS, True, seed), data.dialogues(TRUTHFULQA_ROWS, False, seed)
    if config == "multiple_choice":
        return [{"question": g.prompt,
                 "mc1_targets": {"choices": [g.response.lstrip(), b.response.lstrip()], "labels": [1, 0]},
                 "mc2_targets": {"choices": [g.response.lstrip(), b.response.lstrip()], "labels": [1, 0]}}
                for g, b in zip(good, bad)]
    return [{"type": "Adversarial" if k % 2 else "Non-Adversarial", "category": "Advice", "question": g.prompt,
             "best_answer": g.response.lstrip(), "correct_answers": [g.response.lstrip()],
             "incorrect_answers": [b.response.lstrip()], "source": "elastic"}
            for k, (g, b) in enumerate(zip(good, bad))]


_ROWS = {"stanfordnlp/imdb": _imdb, "PKU-Alignment/BeaverTails": _beavertails, "PKU-Alignment/PKU-SafeRLHF": _safe_rlhf,
         "tatsu-lab/alpaca": _alpaca}


def _write_table(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pd.DataFrame(rows).to_parquet(path)
        return
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "wb") as handle:
        handle.write(text)


def write_dataset(cache: Path, entry: catalog.Dataset, seed: int = 0) -> Path:
    """The stand-in of ``entry``: every config's split files at their real paths, and a README whose
    ``configs:`` maps them as the real card does."""
    snap = snapshot_dir(cache, entry.repo_id, "dataset")
    for c, (config_name, splits) in enumerate(entry.files.items()):
        for k, (split, path) in enumerate(splits.items()):
            if "*" in path:  # a glob over the other configs' folders (PKU-SafeRLHF's default config)
                continue
            if entry.repo_id == "truthfulqa/truthful_qa":
                rows = _truthfulqa(config_name, seed)
            else:
                rows = _ROWS[entry.repo_id](split, seed + 10 * c + k)
            _write_table(snap / path, rows)
    card = "---\n"
    if entry.readme_configs:
        card += "configs:\n" + "".join(
            f"- config_name: {name}\n  data_files:\n" + "".join(f"  - split: {s}\n    path: {p}\n" for s, p in splits.items())
            for name, splits in entry.files.items())
    card += "---\n"
    (snap / "README.md").write_text(card)
    return snap


# --- the whole mirror --------------------------------------------------------------------------------

def fingerprint() -> str:
    """What the mirror is made of: the catalog's facts and this module's code (12 hex digits)."""
    return content_key([sorted(catalog.MODELS.items()), sorted(catalog.DATASETS.items()),
                        inspect.getsource(inspect.getmodule(fingerprint))], length=12)


def default_root() -> Path:
    """Mirrors live under ``$ELASTIC_CACHE/mirror`` (``~/.cache/elastic/mirror``), one per fingerprint."""
    from elastic.models import cache_dir

    return cache_dir() / "mirror"


def build(root: Path | None = None) -> Path:
    """The mirror of every catalog id under ``root`` (built once per fingerprint, atomically, then
    reused, an entry of a :class:`elastic.cache.Store`); returns the hub cache directory to point
    ``HF_HUB_CACHE`` at."""
    store, key = Store(root or default_root(), entry="mirror"), fingerprint()
    if store.directory(key, marker="complete"):
        return store.path(key)
    with store.write_directory(key, marker="complete") as tmp:
        for entry in catalog.MODELS.values():
            write_model(tmp, entry)
        for entry in catalog.DATASETS.values():
            write_dataset(tmp, entry)
        (tmp / "complete").write_text(json.dumps(sorted([*catalog.MODELS, *catalog.DATASETS])))
    return store.path(key)


@contextlib.contextmanager
def environ(**values: str):
    """Set environment variables for the block (for this process and those it starts), then put
    back what was there."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def offline(cache: Path):
    """Point the Hugging Face libraries at ``cache`` and forbid the network for the block: in the
    environment (for child processes) and in ``huggingface_hub.constants``, which read it at import."""
    from huggingface_hub import constants

    imported = {k: getattr(constants, k) for k in ("HF_HUB_CACHE", "HF_HUB_OFFLINE")}
    constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE = str(cache), True
    try:
        with environ(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1"):
            yield cache
    finally:
        for key, value in imported.items():
            setattr(constants, key, value)


class NetworkRefused(ElasticError):
    """A connection to another host was attempted inside :func:`no_network`."""


#: A directory holding the ``sitecustomize`` that installs the same guard in child processes.
_GUARD_DIR = Path(__file__).with_name("_no_network")


@contextlib.contextmanager
def no_network(log: list | None = None):
    """Refuse every connection except to this machine (loopback and local sockets) for the block, in
    this process and, through ``PYTHONPATH``, in the Python processes it starts (papermill kernels,
    ``accelerate launch``); each refused address is appended to ``log``."""
    original = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            if log is not None:
                log.append(address)
            raise NetworkRefused(f"network access to {address} during a rehearsal: everything must come from the mirror")
        return original(sock, address)

    path = os.pathsep.join(p for p in (str(_GUARD_DIR), os.environ.get("PYTHONPATH")) if p)
    socket.socket.connect = guarded
    try:
        with environ(PYTHONPATH=path, ELASTIC_NO_NETWORK="1"):
            yield log
    finally:
        socket.socket.connect = original


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.") or host == "0.0.0.0"
