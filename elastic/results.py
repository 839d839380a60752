"""The results store: ``results/<preset>/<name>.json``, written atomically, with provenance.

Every number a page shows comes from one of these files (through myst-nb ``glue``), so a file is
never left half-written: it is written to a temporary file in the same directory, flushed to disk
and then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from elastic.errors import ElasticError

#: Packages whose versions are recorded with every result.
TRACKED_PACKAGES = (
    "elastic", "numpy", "scipy", "sympy", "torch", "transformers", "peft", "trl",
    "accelerate", "datasets", "gguf", "matplotlib", "papermill", "jupyter-book",
)


def root() -> Path:
    """The results directory: ``$ELASTIC_RESULTS`` or ``./results``."""
    return Path(os.environ.get("ELASTIC_RESULTS", "results"))


#: Where this process writes a preset's results instead of ``root()/<preset>`` (see :func:`redirect`).
_REDIRECTS: dict[str, Path] = {}


def directory(preset: str) -> Path:
    """Where results of ``preset`` go in this process: ``root()/<preset>`` unless redirected."""
    return _REDIRECTS.get(preset, root() / preset)


def path(name: str, preset: str) -> Path:
    return directory(preset) / f"{name}.json"


def run_dir(preset: str, overrides: dict | None = None) -> Path:
    """The results directory of a run: ``results/<preset>/`` for the preset's own parameters, and
    ``results/<preset>+<hash>/`` (12 hex digits of sha256 over the overrides) for any other, so an
    override never replaces a file the book is built from."""
    if not overrides:
        return root() / preset
    return root() / f"{preset}+{content_key(to_jsonable(overrides), length=12)}"


def use_run_dir(preset: str, overrides: dict | None) -> Path:
    """From now on in this process (a notebook's kernel), results of ``preset`` are written to
    and read from :func:`run_dir`; no overrides means the preset's own directory again."""
    if overrides:
        _REDIRECTS[preset] = run_dir(preset, overrides)
    else:
        _REDIRECTS.pop(preset, None)
    return directory(preset)


@contextlib.contextmanager
def redirect(preset: str, overrides: dict | None):
    """Within the block, results of ``preset`` are written to and read from :func:`run_dir`."""
    before = _REDIRECTS.get(preset)
    try:
        yield use_run_dir(preset, overrides)
    finally:
        _REDIRECTS.pop(preset, None)
        if before is not None:
            _REDIRECTS[preset] = before


def atomic_write_text(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` so that readers see the old file or the new one, never a part."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ElasticError(
            f"cannot write results to {target.parent} ({exc.strerror}): "
            "set ELASTIC_RESULTS to a writable directory"
        ) from exc
    try:
        share(tmp)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ElasticError(
                f"cannot write {target} ({exc.strerror}): free space or set ELASTIC_RESULTS elsewhere"
            ) from exc
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def share(target: Path) -> None:
    """Give ``target`` (and, for a directory, everything under it) the modes the umask allows:
    0666 for files and 0777 for directories, less the umask. ``mkstemp``, ``mkdtemp`` and
    safetensors write 0600/0700, which would keep a shared results or cache directory private."""
    target, mask = Path(target), _umask()
    for path in [target, *(target.rglob("*") if target.is_dir() else ())]:
        if not path.is_symlink():  # a link's mode is its target's, which may not be ours to change
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_directory(target: Path, marker: str):
    """Yield a temporary directory beside ``target`` to fill; when the block ends without error it
    is renamed to ``target``, so readers see the whole directory or none of it. If another process
    completed ``target`` first (its ``marker`` file exists), theirs is kept and ours dropped."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
        share(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / marker).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def to_jsonable(value):
    """numpy scalars and arrays, tuples and paths as plain JSON; NaN/inf as strings JSON can hold."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Path):
        return str(value)
    return value


def canonical(value):
    """JSON for what ``json`` cannot write. Sets (peft's ``target_modules``) are sorted: their
    iteration order changes from process to process, and a key must not."""
    return sorted(map(str, value)) if isinstance(value, (set, frozenset)) else str(value)


def content_key(payload, length: int = 16) -> str:
    """sha256 (its first ``length`` hex digits) of ``payload`` as canonical JSON: the book's one
    content hash, for the keys of :mod:`elastic.cache` and the directories of :func:`run_dir`."""
    text = json.dumps(payload, sort_keys=True, default=canonical)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def git_sha() -> str | None:
    """The commit the library runs from, with ``-dirty`` when the tree has changes; None outside git."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(config, wall_time_s: float, run: dict | None = None) -> dict:
    """Where a result came from. ``run`` holds what differs between two runs of the same
    parameters (timings, cache counters), so that the ``data`` of reruns are bit-identical. A result
    made by ``python -m elastic rehearse`` (stand-in models from the local mirror) says so in
    ``rehearsal``, which the rehearsal passes to its kernels as ``$ELASTIC_REHEARSAL``."""
    mark = os.environ.get("ELASTIC_REHEARSAL")
    return {
        **({"rehearsal": json.loads(mark)} if mark else {}),
        "run": run or {},
        "git_sha": git_sha(),
        "parameters": config.asdict(),
        "seed": config.seed,
        "wall_time_s": round(float(wall_time_s), 3),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }


def _training() -> dict:
    """The torch threads and the training (:class:`elastic.train.Ledger`) of this run, when it
    loaded torch or trained at all; a run that did neither imports neither."""
    out = {}
    if "torch" in sys.modules:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    if "elastic.train" in sys.modules:
        out["training"] = sys.modules["elastic.train"].ledger.take()
    return out


def save(name: str, config, data: dict, wall_time_s: float, run: dict | None = None, summary=None) -> dict:
    """Write ``data`` as ``results/<preset>/<name>.json`` with provenance (``run``: this run's
    timings and counters, see :func:`provenance`, with its torch threads and the training it did
    since the last save of this process); return the record.

    ``summary(data, config)``, given the data as the file holds them, returns what the chapter's
    page glues ({key: text, or a number}): it is stored as ``data["summary"]``, so every number and
    verdict a page shows is in its results file (see :func:`elastic.notebook.run`). What a page
    glues from this run's timings goes into ``run["summary"]`` instead, beside the timings.
    """
    data = to_jsonable(data)
    if summary is not None:
        data["summary"] = to_jsonable(summary(data, config))
    record = to_jsonable({
        "name": name,
        "preset": config.preset,
        "data": data,
        "provenance": provenance(config, wall_time_s, {**(run or {}), **_training()}),
    })
    atomic_write_text(path(name, config.preset), json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def load(name: str, preset: str) -> dict:
    """The record saved by :func:`save`; a missing file says which notebook makes it."""
    target = path(name, preset)
    if not target.exists():
        raise ElasticError(
            f"no results at {target}: run `python -m elastic regenerate --preset {preset} --only {name}`"
        )
    try:
        return json.loads(target.read_text())
    except json.JSONDecodeError as exc:
        raise ElasticError(f"{target} is not valid JSON ({exc.msg}): delete it and rerun {name}") from exc
