"""The rendered book (built once per session, see conftest.built_book) and the staging steps:
status page, Colab buttons, numbering, captions, bibliography, GPU notes, folded solutions."""

import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import yaml

from elastic import book, chapters, results

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
    assert ("| rebound (smoke, from an empty cache), lean loop against trl | 10.0 s; 2,000 tokens trained in 4.0 s (1 threads): "
            "500 tokens/s, 50% of the float32 peak | trl 25.0 s; 3 trl runs in 18.0 s | speed-up 2.5× over trl |") in after
    assert "Measured 2026-01-02 03:04 UTC" in after and "no benchmark had run" not in after
    assert page.stat().st_mtime_ns > staged_at
