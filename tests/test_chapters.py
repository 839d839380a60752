"""elastic.chapters: what each chapter calls, and the backlinks from the library to the chapters."""

import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

from elastic import book, chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapters.toc_notebooks(ROOT)


def test_functions_used_by_the_token_tree_chapter():
    assert chapters.functions_used(ROOT, "token_tree") == [
        "elastic.sources.IIDSource", "elastic.tokentree.token_tree", "elastic.tokentree.mixture",
        "elastic.tokentree.mixture_weights", "elastic.plots.example_responses", "elastic.plots.example_tree",
        "elastic.plots.pruning_sizes", "elastic.plots.mixture_leaves"]


def _chapters_named(function: str) -> set[str]:
    module, name = function.rsplit(".", 1)
    doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
    lines = [line for line in doc.splitlines() if line.startswith("Chapters:")]
    return set(re.findall(r"\w+", lines[0].removeprefix("Chapters:").split(".")[0])) if lines else set()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_function_a_chapter_calls_names_the_chapter(name):
    """d2l-style backlinks: the docstring of each function a chapter calls has a line
    ``Chapters: <name>, ...`` (and the chapter's page lists the functions, see book.code_listing)."""
    used = chapters.functions_used(ROOT, name)
    assert used
    missing = [f for f in used if name not in _chapters_named(f)]
    assert not missing, f"add {name} to the 'Chapters:' line of the docstrings of {missing}"


def test_staged_chapter_lists_the_functions_it_calls(tmp_path):
    source = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")]), source)
    book._prepare_for_book(source, tmp_path / "staged.ipynb", ["elastic.tokentree.token_tree"])
    staged = nbformat.read(tmp_path / "staged.ipynb", as_version=4)
    assert staged.cells[-1].source == book.code_listing(["elastic.tokentree.token_tree"])
    assert "- `elastic.tokentree.token_tree`" in staged.cells[-1].source
