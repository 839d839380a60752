"""The rendered book (built once per session, see conftest.built_book) and the staging steps:
status page, Colab buttons, numbering, captions, bibliography, GPU notes, folded solutions, hidden
bookkeeping, figure credits, downloads and the check that pages match their results files."""

import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from elastic import book, chapters, results
from elastic.errors import ElasticError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapters.toc_notebooks(ROOT)


def test_status_page_lists_every_chapter_with_its_run(built_book):
    page = (built_book / "book" / "status.html").read_text()
    table = re.search(r"<table.*?</table>", page, re.S).group(0)
    for name in NOTEBOOKS:
        record = chapters.read_execution(ROOT, name, "smoke")
        row = re.search(rf'<tr[^>]*>\s*<td[^>]*><p><a[^>]+href="../notebooks/{name}.html".*?</tr>', table, re.S)
        assert row, f"no row for {name}"
        cells = re.sub(r"<[^>]+>", " ", row.group(0))
        assert "smoke" in cells and "ok" in cells
        assert record["started"].replace("T", " ")[:16] in cells
        assert f"{record['duration_s']:.1f} s" in cells
        for results_file in record["results"]:
            assert Path(results_file).name in cells
    assert "Total execution time" in page


def test_coursework_page_has_a_row_for_every_registered_exercise(built_book):
    from elastic import exercises

    page = (built_book / "book" / "coursework.html").read_text()
    table = re.search(r"<table.*?</table>", page, re.S).group(0)
    rows = re.findall(r"<tr.*?</tr>", table, re.S)[1:]
    assert len(rows) == len(exercises.labels())
    for row, label in zip(rows, exercises.labels()):
        exercise = exercises.get(label)
        assert f'#{label}"' in row, label  # a link to the exercise in its chapter
        cells = re.sub(r"<[^>]+>", " ", row)
        assert exercise.kind in cells and ("yes" if exercise.checked else "open question") in cells


def test_every_notebook_page_has_a_colab_button_to_its_paired_ipynb(built_book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    for name in NOTEBOOKS:
        page = (built_book / "notebooks" / f"{name}.html").read_text()
        url = f"https://colab.research.google.com/github/{repo}/blob/{config['repository']['branch']}/notebooks/{name}.ipynb"
        assert url in page, name
        assert (ROOT / "notebooks" / f"{name}.ipynb").exists()


def test_numbered_statements_captioned_figures_and_bibliography(built_book):
    numbers = []
    for page in sorted(built_book.glob("*/*.html")):
        html = page.read_text()
        numbers += re.findall(r'<span class="caption-number">([\w.]+) ([\d.]+) ', html)
        for figure in re.findall(r"<figure.*?</figure>", html, re.S):
            assert re.search(r'<figcaption>.*caption-number">Fig\. \d+\.\d+ .*</figcaption>', figure, re.S), page
            assert "<img" in figure, f"{page}: a figure without an image (a glued figure stored as text)"
    kinds = {kind for kind, _ in numbers}
    assert {"Definition", "Fig."} <= kinds
    assert all(re.fullmatch(r"\d+\.\d+", number) for _, number in numbers), "chapter-numbered: 1.2, not 2"
    references = (built_book / "book" / "references.html").read_text()
    assert re.search("language models resist alignment", references, re.I)
    token_tree = (built_book / "book" / "token_tree.html").read_text()
    assert 'href="references.html#id' in token_tree, "citations link into the bibliography"


def _notebook(tmp_path, header: str, cells: str) -> Path:
    source = tmp_path / "nb.py"
    source.write_text("# ---\n# jupyter:\n" + header + "#   kernelspec:\n#     display_name: Python 3\n"
                      "#     language: python\n#     name: python3\n# ---\n" + cells)
    target = tmp_path / "nb.ipynb"
    nbformat.write(jupytext.read(source), target)
    return target


CELLS = ('\n# %% [markdown]\n# # Title\n\n# %%\nx = 1\n\n# %% tags=["solution"]\nx = 2\n\n'
         '# %% [markdown]\n# ## Later: {glue:md}`a` and {glue:md}`b:commonmark`\n')


def test_gpu_chapter_gets_the_gpu_note_and_solutions_are_folded(tmp_path):
    source = _notebook(tmp_path, "#   elastic:\n#     gpu: true\n", CELLS)
    book._prepare_for_book(source, tmp_path / "staged.ipynb")
    staged = nbformat.read(tmp_path / "staged.ipynb", as_version=4)
    assert [c.source for c in staged.cells[:2]] == ["# Title", book.GPU_NOTE]
    assert "Runtime → Change runtime type → GPU" in book.GPU_NOTE
    solution = next(c for c in staged.cells if c.source == "x = 2")
    assert solution.metadata["tags"] == ["solution", "hide-cell"]
    assert staged.cells[-1].source == "## Later: {glue:md}`a:myst` and {glue:md}`b:commonmark`"


def test_cpu_chapter_gets_no_gpu_note(tmp_path):
    source = _notebook(tmp_path, "", CELLS)
    book._prepare_for_book(source, tmp_path / "staged.ipynb")
    staged = nbformat.read(tmp_path / "staged.ipynb", as_version=4)
    assert book.GPU_NOTE not in [c.source for c in staged.cells]
    assert len(staged.cells) == 4


def test_glue_md_roles_are_rendered_as_myst():
    text = ("{glue:md}`a`, {glue:md}`b:commonmark`, {glue:md}`c:myst`, {glue:md}`../notebooks/x.ipynb::k` "
            "and {glue}`d`")
    assert book.myst_glue(text) == ("{glue:md}`a:myst`, {glue:md}`b:commonmark`, {glue:md}`c:myst`, "
                                    "{glue:md}`../notebooks/x.ipynb::k:myst` and {glue}`d`")


def test_status_table_from_records(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                       "  - file: notebooks/a\n  - file: notebooks/b\n  - file: notebooks/c\n")
    executed = chapters.executed_dir(tmp_path, "cpu")
    executed.mkdir(parents=True)
    common = {"preset": "cpu", "started": "2026-01-02T03:04:05+00:00", "duration_s": 12.34}
    (executed / "a.json").write_text(json.dumps({**common, "status": "ok", "results": ["results/cpu/a.json"]}))
    (executed / "b.json").write_text(json.dumps({**common, "status": "failed", "results": []}))
    rows = book.status_table(tmp_path, "cpu").splitlines()
    assert rows[0].startswith("| Chapter | Preset | Ran (UTC) | Duration | Results files (in `results/cpu/`)")
    assert rows[2] == "| {doc}`../notebooks/a` | cpu | 2026-01-02 03:04 | 12.3 s | `a.json` | ok |"
    assert rows[3].endswith("| none | **failed** |")
    assert rows[4] == "| {doc}`../notebooks/c` | cpu | | | | no record |"
    assert "Total execution time: 24.7 s." in rows[-1]


def test_each_build_stages_the_performance_page_from_the_bench_record_it_finds(tmp_path, monkeypatch):
    """The page is rendered anew from results/bench/bench.json whenever the book is staged, and
    written with a fresh mtime so that Sphinx reads it again: a bench run after one build shows in
    the next. Without a record the page says so without naming anything but commands."""
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", root / "_config.yml")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/performance\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    shutil.copy2(ROOT / "book" / "performance.md", root / "book" / "performance.md")
    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path / "results"))

    page = book.stage(root, "smoke") / "book" / "performance.md"
    before = page.read_text()
    assert "no benchmark had run" in before and "`make bench` measures them" in before
    assert not re.search(r"\bissues?\b", before, re.I)
    staged_at = page.stat().st_mtime_ns
    data = {"targets": {"tree": 10, "sft": 0.9}, "tree": {}, "matmul_peak_flops": 2e9, "threads": 1, "sft": [],
            "generation": [], "chapters": [], "rebound_grid": [], "gpu": "none here", "cpu_count": 2, "load_average": 0.5,
            "matmul_peak_by_threads": {"1": 1e9},
            "before_after": [{"name": "rebound",
                              "lean": {"seconds": 10.0, "training": {"tokens": 2000, "seconds": 4.0, "flops": 2e9, "threads": 1}},
                              "trl": {"seconds": 25.0, "training": {"trl_runs": 3, "trl_seconds": 18.0, "threads": 1}}}]}
    provenance = {"created": "2026-01-02T03:04:05+00:00", "platform": "Linux", "packages": {"torch": "2"}, "wall_time_s": 7}
    results.atomic_write_text(results.path("bench", "bench"), json.dumps({"data": data, "provenance": provenance}))

    page = book.stage(root, "smoke") / "book" / "performance.md"
    after = page.read_text()
    assert "| float32 matmul peak (1 thread) | 2.00 GFLOP/s |" in after
    # 2e9 FLOPs in 4 s against a 1 GFLOP/s peak at 1 thread: 50%; 25 s before, 10 s after: 2.5x
    assert ("| rebound (smoke, from an empty cache), lean loop against trl | 10.0 s; 2,000 tokens trained in 4.0 s (1 thread): "
            "500 tokens/s, 50% of the float32 peak | trl 25.0 s; 3 trl runs in 18.0 s | speed-up 2.5× over trl |") in after
    assert "Measured 2026-01-02 03:04 UTC" in after and "no benchmark had run" not in after
    assert page.stat().st_mtime_ns > staged_at


def test_bookkeeping_cells_are_told_from_cells_that_teach():
    assert book.bookkeeping('from elastic.notebook import glue_text\nglue_text("a", f"{x:.2f}")\nglue_text("b", str(y))')
    assert book.bookkeeping("import numpy as np\nfrom elastic import plots\nplots.style()")
    assert not book.bookkeeping('from elastic import plots\nplots.style()\nres = run("token_tree", globals())')
    assert not book.bookkeeping('glue_figure("fig", plots.example_tree(res))')
    assert not book.bookkeeping("plots.kl_table(res)")  # a table the cell shows teaches
    assert not book.bookkeeping("x = 2 ** 3") and not book.bookkeeping('text = f"{x:.2f}"\nprint(text)')
    assert not book.bookkeeping("") and not book.bookkeeping("%time x = 1")


INJECTED = ('\n# %% [markdown]\n# # Title\n\n# %% tags=["injected-parameters"]\n# Parameters\npreset = "smoke"\n\n'
            '# %%\nfrom elastic.notebook import glue_text\nglue_text("a", "1")\n\n# %%\nres = run("x", globals())\n')


def test_staging_removes_the_injected_parameters_and_the_input_of_bookkeeping_cells(tmp_path):
    source = _notebook(tmp_path, "", INJECTED)
    book._prepare_for_book(source, tmp_path / "staged.ipynb")
    tags = [c.metadata.get("tags", []) for c in nbformat.read(tmp_path / "staged.ipynb", as_version=4).cells[1:]]
    assert tags == [["injected-parameters", "remove-cell"], ["remove-input"], []]


def test_figure_functions_resolve_glued_figures_through_the_imports(tmp_path):
    cells = ('\n# %%\nfrom elastic import plots\nfrom elastic.notebook import glue_figure\n\n'
             '# %%\nglue_figure("fig_a", plots.example_tree(res))\nglue_figure("fig_b", some_figure)\n')
    nb = jupytext.read(_notebook(tmp_path, "", cells))
    assert book.figure_functions(nb) == {"fig_a": "elastic.plots.example_tree"}
    url = book.source_url(ROOT, "elastic.plots.example_tree")
    assert re.fullmatch(r"https://github\.com/[\w-]+/[\w-]+/blob/main/elastic/plots\.py#L\d+", url)
    line = int(url.rpartition("#L")[2])
    assert (ROOT / "elastic" / "plots.py").read_text().splitlines()[line - 1].startswith("def example_tree(")


def test_a_results_file_rewritten_after_its_chapter_ran_fails_the_build(executed, tmp_path):
    """Costs the token_tree chapter once per session (shared with the notebook tests), then stages
    nothing: the build stops at the first stale chapter, before jupyter-book starts."""
    executed("token_tree")
    target = book.results_dir(ROOT, "smoke") / "token_tree.json"
    original = target.read_bytes()
    record = json.loads(original)
    record["provenance"]["created"] = "2030-01-01T00:00:00+00:00"
    try:
        target.write_text(json.dumps(record))
        with pytest.raises(ElasticError, match=r"results/smoke/token_tree\.json changed after chapter token_tree ran"):
            book.build(ROOT, "smoke", tmp_path)
    finally:
        target.write_bytes(original)
    book.check_fresh(ROOT, "token_tree", "smoke")  # the same bytes again: fresh


def _visible_code(page: str) -> list[str]:
    """The code of every code cell whose input a page shows, as text."""
    import html

    inputs = re.findall(r'<div class="cell_input docutils container">(.*?)</div>\s*</div>\s*</div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", i)).strip() for i in inputs]


def test_pages_show_no_bookkeeping_code_credit_figures_and_offer_their_results(built_book):
    for name in NOTEBOOKS:
        page = (built_book / "notebooks" / f"{name}.html").read_text()
        shown = _visible_code(page)
        assert shown, f"{name}: no code shown at all (the parser found no cell inputs)"
        assert not [code for code in shown if book.bookkeeping(code)], f"{name}: a visible cell is only bookkeeping"
        assert not any(code.startswith("# Parameters") for code in shown), f"{name}: papermill's injected cell shows"
        for figure in re.findall(r"<figure.*?</figure>", page, re.S):
            assert re.search(r"Drawn by <a [^>]*href=\"https://github\.com/[^\"]+/elastic/plots\.py#L\d+\"", figure), name
        file = f"{chapters.results_name(name)}.json"
        link = re.search(rf'href="(\.\./_downloads/\w+/{re.escape(file)})"', page)
        assert link, f"{name}: no download of {file}"
        downloaded = (built_book / "notebooks" / link.group(1)).resolve()
        assert json.loads(downloaded.read_text()) == json.loads((book.results_dir(ROOT, "smoke") / file).read_text())
        assert "Built from" in page and f"sha256 <code" in page


def test_status_page_offers_the_results_archive(built_book):
    import zipfile

    page = (built_book / "book" / "status.html").read_text()
    link = re.search(r'href="(\.\./_downloads/\w+/results-smoke\.zip)"', page)
    assert link, "no archive of results/smoke/ on the status page"
    with zipfile.ZipFile(built_book / "book" / link.group(1)) as archive:
        names = set(archive.namelist())
    assert {f"smoke/{chapters.results_name(n)}.json" for n in NOTEBOOKS} <= names
