"""``python -m elastic convert ID_OR_DIR``: the one explicit, opt-in way from pickled weights to safetensors.

The loaders of :mod:`elastic.models` and :mod:`elastic.score` read safetensors only, because a
pickle can run code when it is read. Some checkpoints the book names ship only ``*.bin`` files (the
authors' released models, e.g. ``PKU-Alignment/llama-7b-IMDB-Q1-1000-Q2-2000``, tagged PyTorch on
the hub with no safetensors). This converts them once: each shard is read with
``torch.load(weights_only=True)`` (tensors and plain containers only, no arbitrary objects) and
written as a ``.safetensors`` file beside it, in the local directory or in the hub cache's snapshot
of the id, so that later loads of the same id or directory find safetensors and never unpickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from elastic.data import hub
from elastic.errors import ElasticError
from elastic.results import share

_INDEX = "pytorch_model.bin.index.json"


def snapshot(source: str) -> Path:
    """The directory holding ``source``'s files: the directory itself, or the cached snapshot of a
    hub id (downloading only its config, tokenizer and ``*.bin`` files when the hub answers)."""
    return hub.model_dir(source, fix="pass a local model directory",
                         patterns=("*.json", "*.bin", "*.model", "*.txt"))


def _target(shard: Path) -> Path:
    # pytorch_model-00001-of-00002.bin -> model-00001-of-00002.safetensors (transformers' names)
    return shard.with_name(shard.name.replace("pytorch_model", "model").removesuffix(".bin") + ".safetensors")


def convert(source: str) -> list[Path]:
    """Write safetensors for every ``*.bin`` shard of ``source``; return the files written (empty if
    the checkpoint already has safetensors)."""
    import torch
    from safetensors.torch import save_file

    directory = snapshot(source)
    if any(directory.glob("*.safetensors")):
        return []
    shards = sorted(directory.glob("*.bin"))
    if not shards:
        raise ElasticError(f"{directory} has neither *.safetensors nor *.bin weights: nothing to convert")
    written = []
    for shard in shards:
        try:
            state = torch.load(shard, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - UnpicklingError names the refused global
            raise ElasticError(f"{shard} is not a plain tensor checkpoint ({type(exc).__name__}): it cannot be "
                               "read with weights_only=True, so it is not converted") from exc
        # clone: tied weights share storage, which safetensors refuses to write twice
        save_file({k: v.contiguous().clone() for k, v in state.items()}, str(_target(shard)), metadata={"format": "pt"})
        share(_target(shard))  # safetensors writes 0600
        written.append(_target(shard))
    index = directory / _INDEX
    if index.exists():
        table = json.loads(index.read_text())
        table["weight_map"] = {k: _target(directory / f).name for k, f in table["weight_map"].items()}
        (directory / "model.safetensors.index.json").write_text(json.dumps(table, indent=1))
        written.append(directory / "model.safetensors.index.json")
    return written
