"""Reaching the Hugging Face hub, or not: one place that decides where a dataset or model comes from.

Everything the book loads by hub id goes through :func:`locate`. A ``source`` that names an
existing local file or directory is used as it is; anything else is a hub id. Before handing a hub
id to ``datasets`` or ``transformers`` we check that the hub answers at all, because their own
retry loops take tens of seconds to give up on a machine without network. So both ways of being
offline fail at once with one line that names the fix:

* ``HF_HUB_OFFLINE=1`` (read when called, not at import): only the local hub cache is consulted;
  a cached snapshot is used, a missing one is an error;
* no flag, but the hub host does not accept a connection within :data:`CONNECT_TIMEOUT_S`
  seconds: error, suggesting a local path or the offline flag with a filled cache.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from elastic.cache import check_path
from elastic.errors import ElasticError

#: Seconds to wait for a TCP connection to the hub before calling it unreachable.
CONNECT_TIMEOUT_S = 3.0

_OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline() -> bool:
    """True when the environment asks the Hugging Face libraries to stay offline."""
    return any(os.environ.get(flag, "").strip().lower() in ("1", "true", "yes", "on") for flag in _OFFLINE_FLAGS)


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def reachable(url: str | None = None, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether the hub host accepts a TCP connection (no HTTP request is made)."""
    parsed = urlparse(url or endpoint())
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def locate(source: str | os.PathLike, *, repo_type: str, fix: str) -> str:
    """What to pass to ``datasets``/``transformers`` for ``source``: a local path as a string, or a
    hub id once the hub is known to answer, or (offline) the directory of its cached snapshot.

    ``repo_type`` is ``"dataset"`` or ``"model"``; ``fix`` is the end of the error message, e.g.
    ``"pass source=<a local directory or .jsonl/.csv/.parquet file>"``.
    """
    if Path(source).exists():
        return str(source)
    check_path(source, fix=fix)
    repo_id = str(source)
    if offline():
        from huggingface_hub import snapshot_download

        try:
            return snapshot_download(repo_id, repo_type=repo_type, local_files_only=True)
        except Exception as exc:  # LocalEntryNotFoundError, HFValidationError, ...
            raise ElasticError(
                f"{repo_type} {repo_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE "
                f"is set: {fix}"
            ) from exc
    if not reachable():
        raise ElasticError(
            f"the Hugging Face hub ({endpoint()}) is unreachable, so {repo_type} {repo_id!r} cannot "
            f"be downloaded: {fix} (or set HF_HUB_OFFLINE=1 to use a cached copy)"
        )
    return repo_id


#: The files of a model repository the loaders read: config, tokenizer, safetensors weights. Pickled
#: ``*.bin`` weights are never fetched by a load; ``python -m elastic convert`` fetches them explicitly.
MODEL_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.jinja")


def model_dir(source: str | os.PathLike, *, fix: str, patterns=MODEL_FILES) -> Path:
    """The local directory of a model: ``source`` itself, or the snapshot of a hub id in the Hugging
    Face cache: offline the cached one, online after fetching ``patterns`` (files already in the
    cache are not downloaded again).

    Every model, scorer and converter goes through here, on Colab as offline, so each reads the
    same directory layout and the same safetensors-only policy applies to all.
    """
    where = Path(locate(source, repo_type="model", fix=fix))
    if where.is_dir():  # a local directory, or (offline) the cached snapshot
        return where
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(source), allow_patterns=list(patterns)))
    except Exception as exc:  # noqa: BLE001 - hub errors come in many types
        raise ElasticError(
            f"cannot download {str(source)!r} from the hub ({type(exc).__name__}): check the id, log in with "
            f"`hf auth login` for gated models, or {fix}"
        ) from exc


def load_table(source: str | os.PathLike, *, split: str, name: str | None = None, fix: str):
    """A ``datasets.Dataset`` from a hub id, a local directory, or one local data file.

    A directory is read by ``datasets.load_dataset(dir, name, split=split)`` (a downloaded copy of
    the hub repository works); a single ``.json``/``.jsonl``/``.csv``/``.parquet`` file is read as
    the whole table and ``split`` is ignored.
    """
    import datasets
    from datasets.exceptions import DatasetsError

    where = locate(source, repo_type="dataset", fix=fix)
    path = Path(where)
    if path.is_file() and not path.stat().st_size:  # some of datasets' readers fail on these with no message
        raise ElasticError(f"{where} is empty: {fix}")
    quiet = path.exists() and not datasets.are_progress_bars_disabled()
    if quiet:  # a local table takes no time to read: no bars, so that an error is the one line on stderr
        datasets.disable_progress_bars()
    try:
        if path.is_file():
            builder = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix)
            if builder is None:
                raise ElasticError(f"cannot read {path}: use a .json, .jsonl, .csv or .parquet file or a directory")
            table = datasets.load_dataset(builder, data_files=str(path), split="train")
        else:
            table = datasets.load_dataset(where, name, split=split)
    except (ConnectionError, OSError) as exc:
        raise ElasticError(f"could not load dataset {where!r} ({type(exc).__name__}): {fix}") from exc
    except ValueError as exc:  # an unknown split or config name; one file's "train" split is all of it
        if path.is_file():
            raise ElasticError(f"{where} holds no rows: {fix}") from exc
        raise ElasticError(f"could not load split {split!r} of {where!r}: {str(exc).splitlines()[0]}") from exc
    except DatasetsError as exc:  # an empty, garbled or mixed file: the parser's error is the cause
        cause = exc.__cause__ or exc
        raise ElasticError(f"cannot read {where} as a table ({type(cause).__name__}): {fix}") from exc
    finally:
        if quiet:
            datasets.enable_progress_bars()
    if not len(table):
        raise ElasticError(f"{where} holds no rows: {fix}")
    return table
