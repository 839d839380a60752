"""The book's chapters and their bookkeeping: which chapters there are, what each declares, which
results files it uses, when it is up to date, and the record of its last execution.

A chapter ``<name>`` is the notebook ``notebooks/<name>.py`` listed in ``_toc.yml``; when it has an
experiment (:mod:`elastic.experiments`) of the same name, that experiment's ``run`` computes
everything the page shows and writes ``results/<preset>/<results name>.json``. What a chapter
declares lives in the ``elastic:`` section of its notebook's jupytext header (read as YAML, never
searched for in the code):

* ``gpu: true``: it needs a GPU in the colab and paper presets (the book says so under its title);
* ``uses: [<chapter>, ...]``: earlier chapters whose results it reads. They execute first (also
  with ``--jobs``), their results files count as files it uses, and their keys are part of its key.

Beside each executed notebook, ``_build/executed/<preset>/<name>.json`` holds the chapter's
*execution*: its key (:func:`cache_key`), status, start time, duration, the results files it wrote
and, after a failure, the error. :mod:`elastic.book` writes it; the ``regenerate`` command
(:mod:`elastic.cli`) and the back-matter tables (:mod:`elastic.report`) read it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

import yaml

from elastic import config, experiments, results
from elastic.cache import content_key, file_key
from elastic.errors import ElasticError

LIBRARY = Path(__file__).resolve().parent
#: The Jupyter kernel every chapter executes in (papermill's ``-k``).
KERNEL = "python3"
#: Cells with this tag are exercise solutions: folded in the book, removed from student notebooks.
SOLUTION_TAG = "solution"


def toc_files(root: Path) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    walk(child)

    walk(toc)
    return found


def toc_notebooks(root: Path) -> list[str]:
    """Names of the executable chapters (``notebooks/<name>``) in reading order."""
    return [Path(f).name for f in toc_files(root) if f.startswith("notebooks/")]


def source_path(root: Path, name: str) -> Path:
    source = root / "notebooks" / f"{name}.py"
    if not source.exists():
        raise ElasticError(f"no notebook {source}: add it, or fix the name in _toc.yml")
    return source


def student_notebook(root: Path, name: str):
    """The chapter's notebook without its solution cells (those tagged :data:`SOLUTION_TAG`)."""
    import jupytext

    nb = jupytext.read(source_path(root, name))
    nb.cells = [c for c in nb.cells if SOLUTION_TAG not in c.metadata.get("tags", [])]
    return nb


def declared(notebook) -> dict:
    """The ``elastic:`` section of a notebook's metadata (its jupytext header): what it declares."""
    return notebook.metadata.get("elastic", {}) or {}


def needs_gpu(notebook) -> bool:
    """A chapter flags itself as a GPU chapter (in colab/paper) with ``elastic: {gpu: true}``."""
    return bool(declared(notebook).get("gpu"))


def uses(root: Path, name: str) -> list[str]:
    """The earlier chapters whose results ``name`` reads, as its header declares (``uses:``)."""
    import jupytext

    wanted = declared(jupytext.read(source_path(root, name))).get("uses") or []
    names = toc_notebooks(root)
    earlier = names[: names.index(name)] if name in names else names
    wrong = [u for u in wanted if u not in earlier]
    if wrong:
        raise ElasticError(f"notebooks/{name}.py uses {', '.join(wrong)}, not earlier chapters of _toc.yml: "
                           f"list only chapters before it ({', '.join(earlier) or 'none'})")
    return list(wanted)


def dependencies(root: Path, name: str) -> list[str]:
    """The chapters ``name`` uses, in book order: they run first, and their keys are part of its key."""
    used = uses(root, name)
    return [other for other in toc_notebooks(root) if other in used]


def results_name(name: str) -> str:
    """The results file ``results/<preset>/<results name>.json`` of chapter ``name``: its
    experiment's (see :func:`elastic.experiments.results_name`), else the chapter's own name."""
    return experiments.results_name(name) if name in experiments.names() else name


def results_used(root: Path, name: str) -> set[str]:
    """Names of the results files a chapter uses: its own and those of the chapters it uses."""
    return {results_name(n) for n in (name, *uses(root, name))}


def library_hash() -> str:
    """A key over the sources of the ``elastic`` package: any library change re-runs every chapter."""
    files = sorted(p for p in LIBRARY.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file())
    return content_key({p.relative_to(LIBRARY).as_posix(): file_key(p) for p in files}, length=64)


def cache_key(root: Path, name: str, preset: str, parameters: dict | None = None,
              library: str | None = None) -> str:
    """A key (:func:`elastic.cache.content_key`) over the notebook's source and its modification
    time (so `touch` re-runs it), its parameters, the preset file, the library (its
    :func:`library_hash`) and the keys of the chapters it uses."""
    library = library or library_hash()
    source = source_path(root, name)
    return content_key({
        "source": file_key(source), "modified_ns": source.stat().st_mtime_ns,
        "parameters": {"preset": preset, **(parameters or {})},
        "preset": file_key(config.PRESET_DIR / f"{preset}.yaml"), "library": library,
        "uses": [cache_key(root, dep, preset, None, library) for dep in dependencies(root, name)],
    }, length=64)


# --- the code a chapter calls ---------------------------------------------------------------------

#: Modules (and objects) that a chapter's code list leaves out: its plumbing, not its science.
PLUMBING = ("elastic.config", "elastic.results", "elastic.errors", "elastic.prose", "elastic.cache",
            "elastic.exercises", "elastic.notebook", "elastic.experiments", "elastic.progress", "elastic.plots.style")


def functions_used(root: Path, name: str) -> list[str]:
    """The library's functions and classes a chapter calls, by dotted name: those its experiment
    (``elastic/experiments/<name>.py``) uses from other modules, then the figures its notebook
    draws (``plots.<figure>``); found in their sources with :mod:`ast`, plumbing left out."""
    found = []
    if name in experiments.names():
        found += _referenced(Path(experiments.module(name).__file__).read_text())
    import jupytext

    code = "\n".join(c.source for c in jupytext.read(source_path(root, name)).cells[1:] if c.cell_type == "code")
    found += _referenced(code)
    return list(dict.fromkeys(found))


def _referenced(source: str) -> list[str]:
    """Callable objects of ``elastic`` modules that ``source`` refers to, in order of appearance."""
    tree = ast.parse(source)
    names: dict[str, tuple[str, str | None]] = {}  # local name -> (module, object or None for a module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("elastic"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                module = _module(target)
                names[alias.asname or alias.name] = (target, None) if module else (node.module, alias.name)
    found = []
    for node in sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")), key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node, ast.Name) and names.get(node.id, (None, None))[1]:
            module, obj = names[node.id]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names
              and names[node.value.id][1] is None):
            module, obj = names[node.value.id][0], node.attr
        else:
            continue
        value = getattr(_module(module), obj, None)
        if not {module, f"{module}.{obj}"} & set(PLUMBING) and (inspect.isfunction(value) or inspect.isclass(value)):
            found.append(f"{module}.{obj}")
    return list(dict.fromkeys(found))


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --- executions: the record of a chapter's last run -------------------------------------------------

def executed_dir(root: Path, preset: str) -> Path:
    return root / "_build" / "executed" / preset


def execution_path(root: Path, name: str, preset: str) -> Path:
    return executed_dir(root, preset) / f"{name}.json"


def read_execution(root: Path, name: str, preset: str) -> dict | None:
    """The execution of ``name`` in ``preset``; None if it never ran (or the file is bad)."""
    try:
        return json.loads(execution_path(root, name, preset).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_execution(root: Path, execution: dict) -> None:
    results.atomic_write_text(execution_path(root, execution["name"], execution["preset"]),
                              json.dumps(execution, indent=1) + "\n")


def up_to_date(root: Path, name: str, preset: str, key: str) -> bool:
    """True when the last execution of ``name`` succeeded with ``key``, its executed notebook is
    there and every results file it used still parses and was made in ``preset`` with the chapter's
    parameters (``run --set`` and papermill's ``-p`` write their overrides elsewhere, see
    :func:`elastic.results.run_dir`, but the Python API writes where it is told)."""
    execution = read_execution(root, name, preset)
    return (
        execution is not None and execution.get("status") == "ok" and execution.get("key") == key
        and (executed_dir(root, preset) / f"{name}.ipynb").exists()
        and all(_made_by(root / f, preset, execution.get("parameters") or {}) for f in execution.get("results", []))
    )


def _made_by(path: Path, preset: str, parameters: dict) -> bool:
    """Whether the results file at ``path`` parses and was made in ``preset`` with ``parameters``
    (the chapter's, over the preset's): every config field for an experiment's file, the preset
    for any other."""
    try:
        record = json.loads(path.read_text())
        made = record["provenance"]["parameters"]
        if not record["preset"] == made["preset"] == preset:
            return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    experiment = {experiments.results_name(n): n for n in experiments.names()}.get(path.stem)
    if experiment is None:
        return True
    fields = config.field_names(experiments.config_class(experiment))
    own = experiments.load_config(experiment, preset, **{k: v for k, v in parameters.items()
                                                         if k in fields and k != "preset" and v is not None})
    return made == results.to_jsonable(own.asdict())
