"""One cache for everything the book computes once and reuses: keys made from content, entries
written whole or not at all.

*Keys.* :func:`content_key` hashes a description of what made an entry (canonical JSON: sorted
keys, sets sorted, anything else JSON cannot write as its ``str``), never where the cache lives,
so a copied or moved cache keeps its entries; it is defined in :mod:`elastic.results`, whose
directories of overridden runs it keys too. :func:`file_key` hashes a file's content, and
:func:`source_key` a local dataset, model or scorer (file or directory) that a key names; a path
that names nothing is an error (:func:`check_path`, which :mod:`elastic.data.hub` applies too),
never a key or a hub id. They key the alignment stages and cells (:mod:`elastic.lab`), the
lifecycle stages (:mod:`elastic.stages`), the fine-tuning runs (:mod:`elastic.train`), the SmolLM2
conversion (:mod:`elastic.models`), the hub mirror (:mod:`elastic.data.mirror`), the rehearsals
(:mod:`elastic.rehearse`) and the chapters' records and results files (:mod:`elastic.chapters`,
:mod:`elastic.book`).

*Entries.* A :class:`Store` holds entries under one directory: a JSON value as ``<key>.json``, or a
directory ``<key>/`` that counts as present once its marker file exists. Both are written with
:func:`elastic.results.atomic_write_text` / :func:`elastic.results.atomic_directory`, so a reader
(or a run killed half-way) sees a whole entry or none. A corrupt entry is an error that names its
file and the fix, never a silent recomputation or a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from elastic.errors import ElasticError
# the content hash lives with the results store, which keys overridden runs' directories with it
# (it cannot import this module, which writes through it); the cache's keys are read from here
from elastic.results import atomic_directory, atomic_write_text, canonical, content_key  # noqa: F401


def file_key(path: str | Path, *, sample: int | None = None, length: int = 64) -> str:
    """sha256 (its first ``length`` hex digits) of a file's bytes; with ``sample``, of its size and
    its first and last ``sample`` bytes only, so that a large model file is not read whole on every
    load (two copies of one GGUF file then share one converted entry)."""
    path = Path(path)
    if sample is None:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:length]
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(sample))
        handle.seek(max(0, size - sample))
        digest.update(handle.read(sample))
    return digest.hexdigest()[:length]


#: Endings of local files; a hub id (``owner/name``) does not end so.
_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".txt", ".gguf", ".safetensors", ".bin")


def _looks_like_path(source: str) -> bool:
    """A missing local path must not be reported as an unreachable hub id: absolute or relative
    paths, paths with more than one ``/`` and data files cannot be hub ids."""
    return (source.startswith(("/", "./", "../", "~")) or source.count("/") > 1
            or source.lower().endswith(_FILE_SUFFIXES))


def check_path(source: str | os.PathLike, *, fix: str) -> None:
    """Raise the one-line error of a ``source`` that names a local file or directory which is not
    there (looking nothing up on the hub); ``fix`` is the end of the message."""
    if not Path(source).exists() and _looks_like_path(str(source)):
        raise ElasticError(f"no file or directory {source}: check the path, {fix}")


def source_key(spec: str | None):
    """What a cache key holds for a ``source``, model or scorer: a local file or directory by the
    sha256 of its content (file names relative to it, and bytes), so that a moved or copied copy
    keeps its key and an edited one gets a new one; anything else (a hub id, a built-in name,
    None) as itself. A path that names nothing is an error, not a key."""
    if spec is None:
        return None
    if not Path(spec).exists():
        check_path(spec, fix="or pass a hub id")  # a hub id or a built-in name is its own key
        return spec
    root = Path(spec)
    digest = hashlib.sha256()
    for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def require_writable(root: Path) -> None:
    """Create the cache ``root`` and write a file there, so that a cache which cannot be written
    fails before the first model trains, not at its first save."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=root).close()
    except OSError as exc:
        raise ElasticError(f"cannot write the cache {root} ({exc.strerror}): "
                           "pass cache_dir=<a writable directory>") from exc


class Store:
    """Keyed entries under ``root``: JSON values (:meth:`get`, :meth:`put`) and directories
    (:meth:`directory`, :meth:`write_directory`). ``entry`` names an entry in error messages
    ("cell", "stage"); ``hits`` and ``misses`` count entries found and entries written."""

    def __init__(self, root: str | Path, entry: str = "entry"):
        self.root, self.entry = Path(root), entry
        self.hits = self.misses = 0

    def path(self, key: str) -> Path:
        """Where the directory entry ``key`` lives (``<root>/<key>``)."""
        return self.root / key

    def read(self, path: Path, field: str | None = None, remove: Path | None = None):
        """The JSON at ``path`` (its ``field``, if given), which this store wrote; a corrupt or
        empty file names itself and what to delete (``remove``, else the file itself)."""
        try:
            value = json.loads(path.read_text())
            return value if field is None else value[field]
        except (ValueError, KeyError, TypeError) as exc:
            target = "it" if remove is None else remove
            raise ElasticError(f"{path} is corrupt ({type(exc).__name__}): delete {target} to recompute "
                               f"that {self.entry}") from exc

    def get(self, key: str, field: str | None = None):
        """The JSON entry ``key`` (its ``field``), or None if it was never written."""
        path = self.root / f"{key}.json"
        if not path.exists():
            return None
        value = self.read(path, field)
        self.hits += 1
        return value

    def put(self, key: str, value) -> None:
        """Write the JSON entry ``key`` atomically."""
        atomic_write_text(self.root / f"{key}.json", json.dumps(value, default=canonical))
        self.misses += 1

    def directory(self, key: str, marker: str) -> Path | None:
        """The directory entry ``key`` if it is complete (its ``marker`` file exists), else None."""
        path = self.path(key)
        return path if (path / marker).exists() else None

    @contextlib.contextmanager
    def write_directory(self, key: str, marker: str):
        """Yield a temporary directory to fill; it becomes the entry ``key`` when the block ends
        without error (see :func:`elastic.results.atomic_directory`)."""
        with atomic_directory(self.path(key), marker=marker) as tmp:
            yield tmp
        self.misses += 1
