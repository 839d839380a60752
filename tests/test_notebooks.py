"""Every chapter notebook: paired and clean, parameterised, executed in the smoke preset, and
the book built from the executed copies with warnings as errors."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from elastic import chapters, colab, experiments, results

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapters.toc_notebooks(ROOT)
PROVENANCE = {"git_sha", "parameters", "seed", "wall_time_s", "packages"}


def cells(nb):
    return [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in nb.cells]


#: What would make a notebook compute: definitions, and the comparisons and branches a verdict is
#: made of. A chapter's code cells call its experiment, plot and print (see elastic.notebook).
COMPUTATION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Compare, ast.BoolOp,
               ast.IfExp, ast.If, ast.While, ast.For, ast.comprehension)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_defines_nothing_and_computes_no_verdict(name):
    nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    # the first code cell installs the library on Colab; a worked solution of an exercise (a cell
    # tagged "solution", folded in the book) is the student's computation, not the chapter's
    code = [c for c in nb.cells
            if c.cell_type == "code" and chapters.SOLUTION_TAG not in c.metadata.get("tags", [])][1:]
    found = [(type(node).__name__, getattr(node, "lineno", "?"), cell.source.splitlines()[0])
             for cell in code for node in ast.walk(ast.parse(cell.source)) if isinstance(node, COMPUTATION)]
    assert not found, f"notebooks/{name}.py computes: move it into elastic.experiments.{name} or elastic.plots"
    runs = [node for cell in code for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run"]
    assert len(runs) == 1 and runs[0].args[0].value == name, "one run(<chapter>, globals()) call"


def test_toc_lists_every_notebook_and_page():
    on_disk = {p.stem for p in (ROOT / "notebooks").glob("*.py")}
    assert set(NOTEBOOKS) == on_disk
    for entry in chapters.toc_files(ROOT):
        assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.py").exists(), entry


def tables(source: str) -> list[ast.Call]:
    """The calls of an ``elastic.plots`` table (``plots.<name>_table(...)``) in a cell's code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: no table
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and getattr(n.func.value, "id", None) == "plots" and n.func.attr.endswith("_table")]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_tables_end_their_cells_unprinted(name):
    """A table is a DataFrame the cell shows as an HTML table: its call is the cell's last
    statement, bare; printed, it would be a monospace block that scrolls sideways."""
    nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for call in tables(cell.source):
            last = ast.parse(cell.source).body[-1]
            assert isinstance(last, ast.Expr) and ast.dump(last.value) == ast.dump(call), \
                f"notebooks/{name}.py: end the cell with the bare call {ast.unparse(call)}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pair_in_sync_and_without_outputs(name):
    source = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    paired = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert cells(paired) == cells(source), f"run `make notebooks` to re-pair {name}"
    for cell in paired.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}.ipynb carries outputs"
    assert paired.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_and_colab_cell(name):
    nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    # the first code cell installs the library on Colab, from _config.yml's repository.url, exactly
    assert code[0].source == colab.install_cell(repo).split("\n", 1)[1], "run python -m elastic colab-cell"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r"^preset = ", params[0].source, re.M)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_smoke_and_writes_results(name, executed, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("ELASTIC_RESULTS", raising=False)
    out = executed(name)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    record = results.load(experiments.results_name(name), "smoke")
    assert record["preset"] == "smoke"
    assert PROVENANCE <= set(record["provenance"])
    # every number and verdict the pages quote is in the results file: the notebook's {glue:md}
    # roles and the chapter page's {glue:text} references name keys of the run's summary
    glued = {**record["data"]["summary"], **record["provenance"]["run"].get("summary", {})}
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    page = ROOT / "book" / f"{name}.md"
    quoted = set(re.findall(r"\{glue:md\}`(\w+)", prose))
    if page.exists():
        quoted |= set(re.findall(rf"\{{glue:text\}}`\.\./notebooks/{name}\.ipynb::(\w+)", page.read_text()))
    assert quoted and quoted <= set(glued), sorted(quoted - set(glued))
    # every table shows as an HTML table (a DataFrame), not as printed text
    for cell in (c for c in nb.cells if c.cell_type == "code" and tables(c.source)):
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown and "<table" in shown[0].data.get("text/html", ""), cell.source
        assert not [o for o in cell.outputs if o.get("name") == "stdout"], cell.source


def run_papermill(name, tmp_path, *params):
    src = tmp_path / f"{name}.ipynb"
    jupytext.write(jupytext.read(ROOT / "notebooks" / f"{name}.py"), src)
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", str(src), str(tmp_path / "out.ipynb"),
           "--cwd", str(tmp_path), *params]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_papermill_unknown_preset_is_one_line_error(tmp_path):
    done = run_papermill("token_tree", tmp_path, "-p", "preset", "nosuch")
    assert done.returncode != 0
    assert "ElasticError: unknown preset 'nosuch'; valid presets: smoke, cpu, colab, paper" in done.stderr


def test_papermill_unknown_parameter_is_an_error(tmp_path):
    done = run_papermill("token_tree", tmp_path, "-p", "preset", "smoke", "-p", "n_seqs", "5")
    assert done.returncode != 0
    assert "unknown parameter(s) n_seqs for token_tree; valid parameters: preset, seed" in done.stderr


def test_book_builds_with_warnings_as_errors(built_book):
    html = built_book
    assert (html / "index.html").exists()
    for entry in chapters.toc_files(ROOT):
        assert (html / f"{entry}.html").exists(), entry
    page = (html / "book" / "intro.html").read_text()
    assert re.search(r'<script[^>]+src="\.\./_static/mathjax/tex-chtml\.js', page)
    assert not re.search(r"cdn\.jsdelivr|mathjax@|cdnjs", page), "MathJax must come from a local copy"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    colab = (html / "notebooks" / f"{NOTEBOOKS[0]}.html").read_text()
    assert f"colab.research.google.com/github/" in colab and f"notebooks/{NOTEBOOKS[0]}.ipynb" in colab


def test_results_used_names_the_files_chapters_write():
    assert chapters.results_used(ROOT, "elasticity_theorem") == {"theorem"}
    assert chapters.results_used(ROOT, "token_tree") == {"token_tree"}


def test_glue_summary_glues_text_as_markdown_and_numbers_and_page_text_plain(monkeypatch):
    import myst_nb

    from elastic import notebook

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value, display)))
    notebook.glue_summary({"rate": "1.5", "count_num": 2, "verdict_page": "holds"})
    assert [(name, type(value).__name__, display) for name, value, display in glued] == [
        ("rate", "Markdown", False), ("count_num", "int", False), ("verdict_page", "str", False)]
    assert glued[0][1].data == "1.5" and glued[2][1] == "holds"
