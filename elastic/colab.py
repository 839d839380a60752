"""The Colab install cell: one setting, ``repository.url`` in ``_config.yml``, written into every notebook.

Each chapter notebook must run alone on Colab, so its first code cell installs this library from the
repository with pip, and that cell has to carry the URL itself. The URL is set in one place only:
``repository.url`` in ``_config.yml`` (which also makes the book's launch buttons).
``python -m elastic colab-cell`` writes :func:`install_cell` of that URL into the first code cell of
every ``notebooks/*.py`` and re-pairs its ``.ipynb`` (``make notebooks`` runs it);
``--check`` only reports the notebooks whose cell differs. The repository is not published yet:
the URL is still the placeholder :data:`PLACEHOLDER`, the one setting to change before a reader can
install from Colab.
"""

from __future__ import annotations

import re
from pathlib import Path

from elastic.errors import ElasticError

#: The repository URL until the book is published.
PLACEHOLDER = "https://github.com/elastic-book/elastic"

_CELL = '''# %% tags=["remove-cell"]
# On Colab, install the library first; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "elastic @ git+{url}"], check=True)
'''
#: The install cell in a jupytext py:percent file: from its marker to the next cell marker.
_CELL_PATTERN = re.compile(r'# %% tags=\["remove-cell"\]\n# On Colab, install the library first;.*?(?=\n+# %%)', re.S)


def repository_url(root: Path) -> str:
    """``repository.url`` of ``<root>/_config.yml``."""
    from elastic.config import read_yaml

    path = Path(root) / "_config.yml"
    url = ((read_yaml(path) or {}).get("repository") or {}).get("url")
    if not url:
        raise ElasticError(f"{path} has no repository.url: set it to the repository readers install from")
    return url


def install_cell(url: str) -> str:
    """The first code cell of every notebook, installing from ``url`` (py:percent text)."""
    return _CELL.format(url=url).rstrip("\n")


def sync(root: Path, check: bool = False) -> list[Path]:
    """Write the install cell of ``repository.url`` into every notebook (and re-pair its ``.ipynb``);
    return the notebooks that differed. With ``check``, change nothing."""
    import jupytext

    root = Path(root)
    cell = install_cell(repository_url(root))
    changed = []
    for source in sorted((root / "notebooks").glob("*.py")):
        text = source.read_text()
        found = _CELL_PATTERN.search(text)
        if found is None:
            raise ElasticError(f"{source} has no Colab install cell: start it with the cell of {__name__}.install_cell")
        if found.group(0) == cell:
            continue
        changed.append(source)
        if not check:
            source.write_text(text[:found.start()] + cell + text[found.end():])
            jupytext.write(jupytext.read(source), source.with_suffix(".ipynb"))
    return changed
