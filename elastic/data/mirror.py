"""A local Hugging Face hub cache, written by hand: the layout ``huggingface_hub`` resolves offline.

``<cache>/models--<org>--<name>/snapshots/<revision>/<files>`` plus ``refs/main`` holding the
revision (``datasets--...`` likewise). With ``HF_HUB_CACHE=<cache>`` and ``HF_HUB_OFFLINE=1``,
``snapshot_download(id, local_files_only=True)`` returns the snapshot directory, so
:func:`elastic.data.hub.locate` and the loaders take exactly the path they take on Colab after a
download: they do not learn that a mirror exists. Stand-ins are written with the same
``save_pretrained`` a real checkpoint comes from.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path


def snapshot_dir(cache: Path, repo_id: str, repo_type: str = "model") -> Path:
    """The snapshot directory of ``repo_id`` in ``cache`` (created, with ``refs/main``)."""
    folder = Path(cache) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    revision = hashlib.sha1(f"elastic-mirror {repo_type} {repo_id}".encode()).hexdigest()  # a 40-hex commit id
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    target = folder / "snapshots" / revision
    target.mkdir(parents=True, exist_ok=True)
    return target


@contextmanager
def offline(cache: Path):
    """Point the Hugging Face libraries at ``cache`` and forbid the network for the block: in the
    environment (for child processes) and in ``huggingface_hub.constants``, which read it at import."""
    from huggingface_hub import constants

    names = ("HF_HUB_CACHE", "HF_HUB_OFFLINE")
    saved = {k: os.environ.get(k) for k in names}
    imported = {k: getattr(constants, k) for k in names}
    os.environ.update(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1")
    constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE = str(cache), True
    try:
        yield cache
    finally:
        for key, value in imported.items():
            setattr(constants, key, value)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
