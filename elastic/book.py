"""Executing the chapter notebooks with papermill and building the book with jupyter-book.

Notebooks live in ``notebooks/`` as jupytext py:percent files. papermill cannot read those, so each
is converted to an in-memory notebook first and executed with an explicit ``python3`` kernel. The
executed copies (``_build/executed/<preset>/<name>.ipynb``) are then staged beside ``_config.yml``,
``_toc.yml`` and ``book/`` in ``_build/stage/<preset>/``, and jupyter-book renders that stage with
warnings as errors. The committed ``.ipynb`` files therefore never carry outputs.

Beside each executed notebook, ``<name>.json`` records its last run: a cache key, status, start
time, duration, the results files it wrote and, after a failure, the error. ``regenerate`` skips a
chapter whose key is unchanged since its last successful run; the book's status page is written
from these records.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from elastic import progress, results
from elastic.cache import content_key, file_key
from elastic.config import PRESET_DIR
from elastic.errors import ElasticError

KERNEL = "python3"
#: The whole book as one PDF, in ``_build/latex/`` (``latex_documents.targetname`` in ``_config.yml``).
PDF_NAME = "elastic.pdf"
LIBRARY = Path(__file__).resolve().parent
#: Cells with this tag are exercise solutions: folded in the book, removed from student notebooks.
SOLUTION_TAG = "solution"
#: The line of ``book/status.md`` that staging replaces with the table of runs.
STATUS_MARKER = "% execution-status-table"
#: ``{glue:md}`key``` without a format renders the glued text as CommonMark, where ``$...$`` stays
#: raw; staging appends ``:myst`` to every such role, so glued formulas are typeset.
GLUE_MD = re.compile(r"\{glue:md\}`([^`]+?)(?<!:myst)(?<!:commonmark)(?<!:gfm)`")
GPU_NOTE = """```{admonition} Needs a GPU in the colab and paper presets
:class: tip

On Colab, choose a GPU runtime before you run this notebook with `preset = "colab"`:
*Runtime → Change runtime type → GPU*. The `smoke` and `cpu` presets run on a CPU.
```"""


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


def executed_dir(root: Path, preset: str) -> Path:
    return root / "_build" / "executed" / preset


def record_path(root: Path, name: str, preset: str) -> Path:
    return executed_dir(root, preset) / f"{name}.json"


def read_record(root: Path, name: str, preset: str) -> dict | None:
    """The record of the last run of ``name`` in ``preset``; None if it never ran (or the file is bad)."""
    try:
        return json.loads(record_path(root, name, preset).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def source_path(root: Path, name: str) -> Path:
    source = root / "notebooks" / f"{name}.py"
    if not source.exists():
        raise ElasticError(f"no notebook {source}: add it, or fix the name in _toc.yml")
    return source


def experiments_used(root: Path, name: str) -> set[str]:
    """The experiments a notebook configures or loads results of (``configure("<x>", ...)``,
    ``results.load("<x>", ...)``): its results files are ``results/<preset>/<x>.json``."""
    source = source_path(root, name).read_text()
    return set(re.findall(r"(?:configure|results\.load)\(\s*[\"'](\w+)[\"']", source))


def results_used(root: Path, name: str) -> set[str]:
    """Names of the results files (``results/<preset>/<x>.json``) of the experiments a notebook
    uses: an experiment's :func:`elastic.experiments.results_name`, or a name it loads directly."""
    from elastic import experiments

    known = experiments.names()
    return {experiments.results_name(u) if u in known else u for u in experiments_used(root, name)}


def dependencies(root: Path, name: str) -> list[str]:
    """Earlier chapters whose results ``name`` loads: they run first, and their keys are part of
    its key. Only earlier ones, so there are no cycles."""
    names = toc_notebooks(root)
    earlier = names[: names.index(name)] if name in names else names
    return [other for other in earlier if other in experiments_used(root, name)]


def library_hash() -> str:
    """A key over the sources of the ``elastic`` package: any library change re-runs every chapter."""
    files = sorted(p for p in LIBRARY.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file())
    return content_key({p.relative_to(LIBRARY).as_posix(): file_key(p) for p in files}, length=64)


def cache_key(root: Path, name: str, preset: str, parameters: dict | None = None,
              library: str | None = None) -> str:
    """A key (:func:`elastic.cache.content_key`) over the notebook's source and its modification
    time (so `touch` re-runs it), its parameters, the preset file, the library (its
    :func:`library_hash`) and the keys of the chapters whose results it uses."""
    library = library or library_hash()
    source = source_path(root, name)
    return content_key({
        "source": file_key(source), "modified_ns": source.stat().st_mtime_ns,
        "parameters": {"preset": preset, **(parameters or {})},
        "preset": file_key(PRESET_DIR / f"{preset}.yaml"), "library": library,
        "uses": [cache_key(root, dep, preset, None, library) for dep in dependencies(root, name)],
    }, length=64)


def up_to_date(root: Path, name: str, preset: str, key: str) -> bool:
    """True when the last run of ``name`` succeeded with ``key``, its executed notebook is there
    and every results file it used still parses and was made in ``preset`` with the chapter's
    parameters (``run --set`` and papermill's ``-p`` write their overrides elsewhere, see
    :func:`elastic.results.run_dir`, but the Python API writes where it is told)."""
    record = read_record(root, name, preset)
    return (
        record is not None and record.get("status") == "ok" and record.get("key") == key
        and (executed_dir(root, preset) / f"{name}.ipynb").exists()
        and all(_made_by(root / f, preset, record.get("parameters") or {}) for f in record.get("results", []))
    )


def _made_by(path: Path, preset: str, parameters: dict) -> bool:
    """Whether the results file at ``path`` parses and was made in ``preset`` with ``parameters``
    (the chapter's, over the preset's): every config field for an experiment's file, the preset
    for any other."""
    from elastic import config, experiments

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
    own = config.load(experiment, preset, **{k: v for k, v in parameters.items()
                                             if k in fields and k != "preset" and v is not None})
    return made == results.to_jsonable(own.asdict())


def clean_leftovers(root: Path, preset: str) -> None:
    """Remove what a killed run left in the executed directory: papermill's input copies and the
    temporary notebooks that :func:`execute` renames into place only when a run ends."""
    for leftover in executed_dir(root, preset).glob("*.input.ipynb"):
        leftover.unlink(missing_ok=True)
    for leftover in executed_dir(root, preset).glob(".*.running.ipynb"):
        leftover.unlink(missing_ok=True)


def _results_snapshot(root: Path) -> dict[Path, int]:
    base = results.root() if results.root().is_absolute() else root / results.root()
    if not base.exists():
        return {}
    return {p: p.stat().st_mtime_ns for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")}


def _written(root: Path, name: str, before: dict[Path, int]) -> list[str]:
    """Results files of the notebook's experiments created or changed since ``before``. Other
    files that changed meanwhile were written by whatever else ran at the same time (``--jobs``)."""
    used = results_used(root, name)
    after = _results_snapshot(root)
    changed = sorted(p for p, mtime in after.items() if before.get(p) != mtime and p.stem in used)
    return [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in changed]


def error_line(exc: Exception) -> str:
    """One line for a failure: papermill's errors carry the notebook's exception name and value."""
    if hasattr(exc, "ename"):
        line = f"{exc.ename}: {str(exc.evalue).strip()}"
    else:
        text = str(exc).strip().splitlines()
        line = f"{type(exc).__name__}: {text[-1] if text else ''}"
    if "No space left on device" in line:  # raised deep inside torch or transformers: say the fix
        line += " (free disk space and rerun: finished cells, stages and results are kept)"
    return line


def execute(root: Path, name: str, preset: str, parameters: dict | None = None,
            progress: bool | dict = True) -> Path:
    """Run ``notebooks/<name>.py`` under ``preset`` with papermill; return the executed copy.

    The run is recorded in ``_build/executed/<preset>/<name>.json``. A failing cell raises
    papermill's ``PapermillExecutionError``; the partly executed notebook, with the error in it, is
    kept at the returned path and the record says ``failed``. ``progress`` is papermill's cell bar:
    a bool, or a dict of tqdm arguments.
    """
    import jupytext
    import papermill

    root = Path(root).resolve()
    key = cache_key(root, name, preset, parameters)
    out_dir = executed_dir(root, preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    unexecuted = out_dir / f"{name}.input.ipynb"
    jupytext.write(jupytext.read(source_path(root, name)), unexecuted)
    output = out_dir / f"{name}.ipynb"
    running = out_dir / f".{name}.running.ipynb"
    record = {
        "name": name, "preset": preset, "key": key, "parameters": parameters or {},
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "notebook": str(output.relative_to(root)),
        "status": "running", "error": None,
    }
    # Written before executing: a SIGKILL skips every ``finally``, and the old "ok" record must not
    # outlive a run that was cut short. The executed notebook is renamed into place only at the end.
    _write_record(root, record)
    before, start = _results_snapshot(root), time.perf_counter()
    # The kernel inherits this environment. MPLBACKEND (Agg, as the tests and scripts set it) would
    # replace Jupyter's inline backend, and glued figures would then be stored as text, no image.
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        papermill.execute_notebook(
            str(unexecuted), str(running), parameters={"preset": preset, **(parameters or {})},
            kernel_name=KERNEL, language="python", cwd=str(root), progress_bar=progress,
        )
        record.update(status="ok", error=None)
    except Exception as exc:
        record.update(status="failed", error=error_line(exc))
        raise
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
        record.update(duration_s=round(time.perf_counter() - start, 2), results=_written(root, name, before))
        if running.exists():
            os.replace(running, output)
        _write_record(root, record)
        unexecuted.unlink(missing_ok=True)
    return output


def _write_record(root: Path, record: dict) -> None:
    results.atomic_write_text(record_path(root, record["name"], record["preset"]),
                              json.dumps(record, indent=1) + "\n")


def needs_gpu(notebook) -> bool:
    """A chapter flags itself as a GPU chapter (in colab/paper) with ``elastic: {gpu: true}`` in
    its jupytext header."""
    return bool(notebook.metadata.get("elastic", {}).get("gpu"))


def myst_glue(text: str) -> str:
    """``{glue:md}`` roles without a format get ``:myst`` (see :data:`GLUE_MD`)."""
    return GLUE_MD.sub(r"{glue:md}`\1:myst`", text)


def _prepare_for_book(path: Path, target: Path) -> None:
    """Copy an executed notebook into the stage: fold solution cells, render glued Markdown as
    MyST, and add the GPU note after the title of a GPU chapter."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]
        if cell.cell_type == "markdown":
            cell.source = myst_glue(cell.source)
    if needs_gpu(nb):
        first_markdown = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first_markdown + 1, nbformat.v4.new_markdown_cell(GPU_NOTE))
    nbformat.write(nb, target)


def status_table(root: Path, preset: str) -> str:
    """The execution statistics of every chapter as a MyST table (the status page's body)."""
    folder = f"results/{preset}/"
    rows = [f"| Chapter | Preset | Ran (UTC) | Duration | Results files (in `{folder}`) | Status |",
            "|---|---|---|---|---|---|"]
    total = 0.0
    for name in toc_notebooks(root):
        record = read_record(root, name, preset)
        if record is None:
            rows.append(f"| {{doc}}`../notebooks/{name}` | {preset} | | | | no record |")
            continue
        total += record["duration_s"]
        files = "<br>".join(f"`{f.removeprefix(folder)}`" for f in record["results"]) or "none"
        # words, not emoji: without an emoji font (Debian's chromium, the PDF's fonts) ✅ is a blank box
        status = "ok" if record["status"] == "ok" else f"**{record['status']}**"
        rows.append(f"| {{doc}}`../notebooks/{name}` | {record['preset']} | {record['started'][:16].replace('T', ' ')} | "
                    f"{record['duration_s']:.1f} s | {files} | {status} |")
    sha = results.git_sha() or "not a git checkout"
    return "\n".join(rows) + (f"\n\nTotal execution time: {total:.1f} s. "
                              f"Library: `elastic` at commit `{sha}`.\n")


def stage(root: Path, preset: str) -> Path:
    """Assemble the book's sources with the executed notebooks of ``preset``."""
    target = root / "_build" / "stage" / preset
    shutil.rmtree(target, ignore_errors=True)
    (target / "notebooks").mkdir(parents=True)
    for item in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / item, target / item)
    shutil.copytree(root / "book", target / "book")
    for page in (target / "book").rglob("*.md"):
        page.write_text(myst_glue(page.read_text()))
    for name in toc_notebooks(root):
        executed = executed_dir(root, preset) / f"{name}.ipynb"
        if not executed.exists():
            raise ElasticError(f"{name} has not run in preset {preset}: run "
                               f"`python -m elastic regenerate --preset {preset}` first")
        _prepare_for_book(executed, target / "notebooks" / f"{name}.ipynb")
    status = target / "book" / "status.md"
    if status.exists():
        text = status.read_text()
        if STATUS_MARKER not in text:
            raise ElasticError(f"book/status.md lacks the line {STATUS_MARKER!r} that the table replaces")
        status.write_text(text.replace(STATUS_MARKER, status_table(root, preset)))
    from elastic import coursework, plan, report
    from elastic.data import catalog

    for page, marker, table in (("performance.md", report.BENCH_MARKER, report.bench_markdown),
                                ("reproducibility.md", report.TIMES_MARKER, lambda: report.preset_times_markdown(root)),
                                ("reproducibility.md", plan.MARKER, plan.book_markdown),
                                ("reproducibility.md", catalog.MARKER, catalog.markdown),
                                ("coursework.md", coursework.MARKER, lambda: coursework.table_markdown(root))):
        path = target / "book" / page
        if path.exists():
            path.write_text(path.read_text().replace(marker, table()))
    return target


def build(root: Path, preset: str, output: Path, builder: str = "html") -> Path:
    """Render the staged book with warnings as errors: ``builder="html"`` into
    ``output/_build/html``, ``"pdflatex"`` into ``output/_build/latex/``:data:`PDF_NAME` (LaTeX,
    then xelatex through latexmk, whose ``-Werror`` fails on an undefined reference or citation)."""
    missing = [tool for tool in ("xelatex", "latexmk") if builder == "pdflatex" and shutil.which(tool) is None]
    if missing:
        raise ElasticError(f"the PDF needs {' and '.join(missing)}, which are not installed: run `make tex` as root "
                           "(Debian's TeX packages, listed in the Makefile) and build again")
    source = stage(root, preset)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source), "--builder", builder,
           "--path-output", str(output), "--warningiserror", "--keep-going"]
    if not progress.verbose():
        cmd.append("--quiet")  # sphinx's status lines (its reading/writing progress); warnings stay
    done = subprocess.run(cmd, cwd=root, env={**os.environ, "LATEXMKOPTS": "-Werror"})
    if done.returncode != 0:
        raise ElasticError(f"jupyter-book build --builder {builder} failed (exit {done.returncode}): see the messages above")
    return output / "_build" / ("latex" if builder in ("latex", "pdflatex") else builder)


def student_notebook(root: Path, name: str):
    """The chapter's notebook without its solution cells (those tagged ``solution``)."""
    import jupytext

    nb = jupytext.read(source_path(root, name))
    nb.cells = [c for c in nb.cells if SOLUTION_TAG not in c.metadata.get("tags", [])]
    return nb

