"""Executing the chapter notebooks with papermill and building the book with jupyter-book.

Notebooks live in ``notebooks/`` as jupytext py:percent files. papermill cannot read those, so each
is converted to an in-memory notebook first and executed with an explicit ``python3`` kernel. The
executed copies (``_build/executed/<preset>/<name>.ipynb``) are then staged beside ``_config.yml``,
``_toc.yml`` and ``book/`` in ``_build/stage/<preset>/``, and jupyter-book renders that stage with
warnings as errors. The committed ``.ipynb`` files therefore never carry outputs.

Beside each executed notebook, ``<name>.json`` holds the chapter's *execution* (see
:mod:`elastic.chapters`): its key, status, start time, duration, the results files it wrote and,
after a failure, the error. ``regenerate`` skips a chapter whose key is unchanged since its last
successful run; the book's status page is written from these executions.
"""

from __future__ import annotations

import ast
import datetime
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from elastic import cache, chapters, colab, coursework, experiments, findings, plan, progress, report, results
from elastic.data import catalog
from elastic.chapters import (KERNEL, SOLUTION_TAG, executed_dir, read_execution, source_path, toc_notebooks,
                              write_execution)
from elastic.errors import ElasticError

#: The whole book as one PDF, in ``_build/latex/`` (``latex_documents.targetname`` in ``_config.yml``).
PDF_NAME = "elastic.pdf"
#: Where the stage holds the results files its pages offer for download (``<folder>/<preset>/``)
#: and the archive of all of them (``<folder>/results-<preset>.zip``).
DOWNLOADS = "downloads"
#: The line of ``book/status.md`` that staging replaces with the table of runs.
STATUS_MARKER = "% execution-status-table"
#: ``{glue:md}`key``` without a format renders the glued text as CommonMark, where ``$...$`` stays
#: raw; staging appends ``:myst`` to every such role, so glued formulas are typeset.
GLUE_MD = re.compile(r"\{glue:md\}`([^`]+?)(?<!:myst)(?<!:commonmark)(?<!:gfm)`")
#: Calls that only put numbers into a page, format them or style figures: a code cell whose
#: statements are imports and these calls alone is bookkeeping, and its input is removed from the
#: page (see :func:`bookkeeping`). Any other call (``run``, a figure of ``elastic.plots``) teaches.
BOOKKEEPING_CALLS = frozenset({"glue", "glue_text", "glue_figure", "glue_summary", "style", "print", "display",
                               "Markdown", "str", "repr", "format", "join", "round", "len"})
#: Tags with which a cell's input is already removed or folded: staging leaves such cells alone.
HIDDEN = frozenset({"remove-cell", "remove-input", "hide-cell", "hide-input", SOLUTION_TAG})
#: A ``{glue:figure}`` directive of a notebook's Markdown, up to its closing fence.
GLUE_FIGURE = re.compile(r"(```\{glue:figure\} (\w+)\n.*?)(\n```)", re.S)
GPU_NOTE = """```{admonition} Needs a GPU in the colab and paper presets
:class: tip

On Colab, choose a GPU runtime before you run this notebook with `preset = "colab"`:
*Runtime → Change runtime type → GPU*. The `smoke` and `cpu` presets run on a CPU.
```"""


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
    used = chapters.results_used(root, name)
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

    The execution is recorded in ``_build/executed/<preset>/<name>.json``. A failing cell raises
    papermill's ``PapermillExecutionError``; the partly executed notebook, with the error in it, is
    kept at the returned path and the execution says ``failed``. ``progress`` is papermill's cell bar:
    a bool, or a dict of tqdm arguments.
    """
    import jupytext
    import papermill

    from elastic.progress import verbose  # the argument ``progress`` hides the module here

    root = Path(root).resolve()
    key = chapters.cache_key(root, name, preset, parameters)
    out_dir = executed_dir(root, preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    unexecuted = out_dir / f"{name}.input.ipynb"
    jupytext.write(jupytext.read(source_path(root, name)), unexecuted)
    output = out_dir / f"{name}.ipynb"
    running = out_dir / f".{name}.running.ipynb"
    execution = {
        "name": name, "preset": preset, "key": key, "parameters": parameters or {},
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "notebook": str(output.relative_to(root)),
        "status": "running", "error": None,
    }
    # Written before executing: a SIGKILL skips every ``finally``, and the old "ok" execution must
    # not outlive a run that was cut short. The executed notebook is renamed into place only at the end.
    write_execution(root, execution)
    before, start = _results_snapshot(root), time.perf_counter()
    # The kernel inherits this environment. MPLBACKEND (Agg, as the tests and scripts set it) would
    # replace Jupyter's inline backend, and glued figures would then be stored as text, no image.
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        papermill.execute_notebook(
            str(unexecuted), str(running), parameters={"preset": preset, **(parameters or {})},
            kernel_name=KERNEL, language="python", cwd=str(root), progress_bar=progress,
            # the kernel's own log only when verbose: a warning about its TCP transport at every start,
            # and at ERROR level "KeyboardInterrupt caught in kernel" when its shutdown races an
            # interrupt; a failing cell reaches us as papermill's error, not through this log
            extra_arguments=[] if verbose() else ["--IPKernelApp.log_level=CRITICAL"],
        )
        execution.update(status="ok", error=None)
    except Exception as exc:
        execution.update(status="failed", error=error_line(exc))
        raise
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
        execution.update(duration_s=round(time.perf_counter() - start, 2), results=_written(root, name, before),
                         fingerprints=_fingerprints(root, name, preset))
        if running.exists():
            os.replace(running, output)
        write_execution(root, execution)
        unexecuted.unlink(missing_ok=True)
    return output


def results_dir(root: Path, preset: str) -> Path:
    """``results/<preset>/`` as the book reads it (``$ELASTIC_RESULTS`` honoured)."""
    base = results.root()
    return (base if base.is_absolute() else root / base) / preset


def _fingerprints(root: Path, name: str, preset: str) -> dict[str, str]:
    """sha256 of every results file chapter ``name`` uses, by file name (what its page glues)."""
    folder = results_dir(root, preset)
    return {f"{u}.json": cache.file_key(folder / f"{u}.json") for u in sorted(chapters.results_used(root, name))
            if (folder / f"{u}.json").exists()}


def check_fresh(root: Path, name: str, preset: str) -> None:
    """Stop the build when a results file that chapter ``name`` glues changed (or vanished) after
    the chapter ran: its page would show numbers the file no longer holds."""
    execution = read_execution(root, name, preset) or {}
    recorded, now = execution.get("fingerprints"), _fingerprints(root, name, preset)
    if recorded is None:
        raise ElasticError(f"{name} has no record of the results files it glued in preset {preset}: run "
                           f"`python -m elastic regenerate --preset {preset} --only {name}`")
    changed = sorted(f for f in {*recorded, *now} if recorded.get(f) != now.get(f))
    if changed:
        folder = results_dir(root, preset)
        raise ElasticError(f"{', '.join(str(folder / f) for f in changed)} changed after chapter {name} ran "
                           f"({execution.get('started', '?')}), so its page would not match: run "
                           f"`python -m elastic regenerate --preset {preset} --only {name}`")


def myst_glue(text: str) -> str:
    """``{glue:md}`` roles without a format get ``:myst`` (see :data:`GLUE_MD`)."""
    return GLUE_MD.sub(r"{glue:md}`\1:myst`", text)


def code_listing(functions: list[str]) -> str:
    """The closing section of a chapter's page: the library functions it calls, d2l-style (each
    one's docstring names, in turn, the chapters that use it)."""
    return "\n".join(["## The code of this chapter", "",
                      "The functions of the `elastic` library that this chapter calls, in the order it first calls them:",
                      "", *(f"- `{f}`" for f in functions)])


def bookkeeping(source: str) -> bool:
    """Whether a code cell only imports and makes calls of :data:`BOOKKEEPING_CALLS` (glue, print,
    style), every call inside their arguments included: a reader learns nothing from its code. An
    assignment or any other call teaches. Decided with :mod:`ast`."""
    tree = _parsed(source)
    if tree is None:  # IPython magics: not ours to judge
        return False

    def plumbing(stmt) -> bool:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return True
        calls = [n.func for n in ast.walk(stmt) if isinstance(n, ast.Call)]
        names = {getattr(f, "id", getattr(f, "attr", None)) for f in calls}
        return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and names <= BOOKKEEPING_CALLS

    return bool(tree.body) and all(map(plumbing, tree.body))


def source_url(root: Path, dotted: str) -> str:
    """The line of the repository (``repository.url`` and ``branch`` of ``_config.yml``) where the
    library function or class ``dotted`` (``elastic.plots.example_tree``) is defined."""
    from elastic.config import read_yaml

    module, _, attr = dotted.rpartition(".")
    obj = getattr(chapters._module(module), attr)
    line = inspect.getsourcelines(obj)[1]
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(chapters.LIBRARY.parent).as_posix()
    branch = (read_yaml(root / "_config.yml").get("repository") or {}).get("branch", "main")
    return f"{colab.repository_url(root)}/blob/{branch}/{path}#L{line}"


def figure_functions(nb) -> dict[str, str]:
    """{glued figure: the library function that drew it} from the notebook's ``glue_figure(name,
    <call>)`` calls, the call resolved through the notebook's imports (:func:`chapters.functions_used`'s rules)."""
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    trees = [t for t in map(_parsed, code) if t is not None]
    imports = "\n".join(ast.unparse(n) for t in trees for n in t.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    found = {}
    for node in (n for t in trees for n in ast.walk(t)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue_figure"
                and len(node.args) == 2 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[1], ast.Call)):
            drawn = chapters._referenced(imports + "\n" + ast.unparse(node.args[1].func))
            if drawn:
                found[node.args[0].value] = drawn[0]
    return found


def _parsed(source: str):
    """The module ``source`` parses to; None for a cell that is not plain Python (IPython magics)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def figure_credit(root: Path, name: str, drawn: str) -> str:
    """The line under a figure: the function that drew it and the experiment that computed its data."""
    line = f"Drawn by [`{drawn}`]({source_url(root, drawn)})"
    if name in experiments.names():
        run = f"{experiments.module(name).__name__}.run"
        line += f" from what [`{run}`]({source_url(root, run)}) computed"
    return line + "."


def built_from(root: Path, names: list[str], preset: str, depth: int) -> str:
    """The closing section of a page that glues the results of chapters ``names``: each results
    file with its creation time and short hash, as a download (staged by :func:`stage` under
    ``downloads/``, ``depth`` folders above the page)."""
    folder = results_dir(root, preset)
    files = sorted({f"{u}.json" for n in names for u in chapters.results_used(root, n) if (folder / f"{u}.json").exists()})
    if not files:
        return ""
    lines = ["## Built from", "", f"The results files this page was built from (`results/{preset}/`; download them here):", ""]
    for f in files:
        created = json.loads((folder / f).read_text())["provenance"]["created"][:16].replace("T", " ")
        lines.append(f"- {{download}}`{f} <{'../' * depth}{DOWNLOADS}/{preset}/{f}>`: created {created} UTC, "
                     f"sha256 `{cache.file_key(folder / f, length=12)}`")
    return "\n".join(lines)


def _prepare_for_book(path: Path, target: Path, functions: list[str] = (), root: Path | None = None,
                      preset: str | None = None) -> None:
    """Copy an executed notebook into the stage: fold solution cells, remove papermill's injected
    parameters and the input of bookkeeping cells (:func:`bookkeeping`), render glued Markdown as
    MyST, credit each glued figure to the function that drew it, add the GPU note after the title
    of a GPU chapter, and at its end the list of the ``functions`` it calls and, given ``root`` and
    ``preset``, the results files it was built from."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    name = path.stem
    credits = figure_functions(nb) if root is not None else {}
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = tags = [*tags, "hide-cell"]
        if "injected-parameters" in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        elif cell.cell_type == "code" and not HIDDEN & set(tags) and bookkeeping(cell.source):
            cell.metadata["tags"] = [*tags, "remove-input"]
        if cell.cell_type == "markdown":
            cell.source = GLUE_FIGURE.sub(
                lambda m: (f"{m[1]}\n\n{figure_credit(root, name, credits[m[2]])}{m[3]}" if m[2] in credits else m[0]),
                myst_glue(cell.source))
    if chapters.needs_gpu(nb):
        first_markdown = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first_markdown + 1, nbformat.v4.new_markdown_cell(GPU_NOTE))
    if functions:
        nb.cells.append(nbformat.v4.new_markdown_cell(code_listing(functions)))
    if root is not None and (footer := built_from(root, [name], preset, depth=1)):
        nb.cells.append(nbformat.v4.new_markdown_cell(footer))
    nbformat.write(nb, target)


def status_table(root: Path, preset: str) -> str:
    """The executions of every chapter as a MyST table (the status page's body)."""
    folder = f"results/{preset}/"
    rows = [f"| Chapter | Preset | Ran (UTC) | Duration | Results files (in `{folder}`) | Status |",
            "|---|---|---|---|---|---|"]
    total = 0.0
    for name in toc_notebooks(root):
        execution = read_execution(root, name, preset)
        if execution is None:
            rows.append(f"| {{doc}}`../notebooks/{name}` | {preset} | | | | no record |")
            continue
        total += execution["duration_s"]
        files = "<br>".join(f"`{f.removeprefix(folder)}`" for f in execution["results"]) or "none"
        # words, not emoji: without an emoji font (Debian's chromium, the PDF's fonts) ✅ is a blank box
        status = "ok" if execution["status"] == "ok" else f"**{execution['status']}**"
        rows.append(f"| {{doc}}`../notebooks/{name}` | {execution['preset']} | "
                    f"{execution['started'][:16].replace('T', ' ')} | {execution['duration_s']:.1f} s | {files} | {status} |")
    sha = results.git_sha() or "not a git checkout"
    archive = (f" Every results file of this build in one archive: {{download}}`results-{preset}.zip "
               f"<../{DOWNLOADS}/results-{preset}.zip>`." if results_dir(root, preset).exists() else "")
    return "\n".join(rows) + (f"\n\nTotal execution time: {total:.1f} s. "
                              f"Library: `elastic` at commit `{sha}`.{archive}\n")


def stage(root: Path, preset: str) -> Path:
    """Assemble the book's sources with the executed notebooks of ``preset``."""
    target = root / "_build" / "stage" / preset
    shutil.rmtree(target, ignore_errors=True)
    (target / "notebooks").mkdir(parents=True)
    for item in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / item, target / item)
    shutil.copytree(root / "book", target / "book")
    folder = results_dir(root, preset)
    if folder.exists():
        shutil.copytree(folder, target / DOWNLOADS / preset, ignore=shutil.ignore_patterns(".*"))
        shutil.make_archive(str(target / DOWNLOADS / f"results-{preset}"), "zip", folder.parent, preset)
    for page in (target / "book").rglob("*.md"):
        text = myst_glue(page.read_text())
        glued = sorted(set(re.findall(r"\.\./notebooks/(\w+)\.ipynb::", text)))
        footer = built_from(root, glued, preset, depth=len(page.relative_to(target).parts) - 1)
        page.write_text(text + ("\n\n" + footer + "\n" if footer else ""))
    for name in toc_notebooks(root):
        executed = executed_dir(root, preset) / f"{name}.ipynb"
        if not executed.exists():
            raise ElasticError(f"{name} has not run in preset {preset}: run "
                               f"`python -m elastic regenerate --preset {preset}` first")
        check_fresh(root, name, preset)
        _prepare_for_book(executed, target / "notebooks" / f"{name}.ipynb", chapters.functions_used(root, name),
                          root, preset)
    status = target / "book" / "status.md"
    if status.exists():
        text = status.read_text()
        if STATUS_MARKER not in text:
            raise ElasticError(f"book/status.md lacks the line {STATUS_MARKER!r} that the table replaces")
        status.write_text(text.replace(STATUS_MARKER, status_table(root, preset)))
    for page, marker, table in (("performance.md", report.BENCH_MARKER, report.bench_markdown),
                                ("reproducibility.md", report.TIMES_MARKER, lambda: report.preset_times_markdown(root)),
                                ("reproducibility.md", plan.MARKER, plan.book_markdown),
                                ("reproducibility.md", catalog.MARKER, catalog.markdown),
                                ("coursework.md", coursework.MARKER, lambda: coursework.table_markdown(root)),
                                ("findings.md", findings.MARKER, findings.markdown),
                                ("reproducibility.md", findings.POWER_MARKER,
                                 lambda: findings.power_markdown(target / "book", preset))):
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

