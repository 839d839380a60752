"""The book as one PDF (``make pdf``: jupyter-book's pdflatex builder, xelatex through latexmk).

The PDF of the session's smoke book is built once, into ``_build/test-book/_build/latex/``, where
Debian's TeX and poppler are installed (``make test`` installs them as root, like chromium);
otherwise those tests are skipped with the reason. What is checked, each against a count taken
from the sources: every chapter is there, no reference is left as ``??``, every glued figure is
an embedded image, every definition, proposition, theorem and exercise is numbered, and every
entry of ``book/references.bib`` is in the bibliography. Two source checks run everywhere: they
catch, without TeX, the math and titles that MathJax accepts and the PDF does not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from elastic import book, chapters

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("xelatex", "latexmk", "pdfinfo", "pdftotext", "pdfimages")
needs_tex = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in TOOLS),
    reason="needs TeX and poppler (apt-get install --no-install-recommends texlive-xetex texlive-latex-extra "
           "texlive-fonts-recommended fonts-freefont-otf latexmk poppler-utils; `make test` tries this as root)",
)
#: sphinx-proof directives that get a number (a proof does not).
NUMBERED = ("definition", "proposition", "theorem", "lemma", "corollary", "assumption", "remark", "example")


def _sources() -> list[Path]:
    return [ROOT / "book" / f"{Path(f).name}.md" if f.startswith("book/") else ROOT / "notebooks" / f"{Path(f).name}.py"
            for f in chapters.toc_files(ROOT)]


def _title(source: Path) -> str:
    """The page's title: ``# Title`` in a book page, ``# # Title`` in a py:percent notebook."""
    heading = "# # " if source.suffix == ".py" else "# "
    return next(line for line in source.read_text().splitlines() if line.startswith(heading))[len(heading):]


def _words(text: str) -> list[str]:
    """Lower-case words; hyphens dropped, as pdftotext joins a word hyphenated at a line end."""
    return re.findall(r"[a-z]+", text.lower().replace("-", ""))


@pytest.fixture(scope="session")
def pdf(executed) -> Path:
    from conftest import BOOK_OUTPUT

    executed.all(chapters.toc_notebooks(ROOT))
    return book.build(ROOT, "smoke", BOOK_OUTPUT, builder="pdflatex") / book.PDF_NAME


def _run(*cmd) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@needs_tex
def test_pdf_has_every_chapter_and_no_unresolved_reference(pdf):
    text = _run("pdftotext", str(pdf), "-")
    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))
    book_pages = [f for f in chapters.toc_files(ROOT) if f.startswith("book/")]
    assert pages >= len(book_pages), "every chapter starts a page"
    words = " ".join(_words(text))
    for source in _sources():
        assert " ".join(_words(_title(source))) in words, f"{source.name}: its title is not in the PDF"
    assert "??" not in text, [line for line in text.splitlines() if "??" in line]
    log = pdf.with_suffix(".log").read_text(errors="replace")
    assert "Missing character" not in log, re.findall(r"Missing character: There is no (.+?) in font", log)


@needs_tex
def test_pdf_embeds_every_figure(pdf):
    listing = _run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    images = [row for row in listing if row.split()[2] == "image"]
    figures = sum(source.read_text().count("{glue:figure}") for source in _sources())
    assert figures > 0
    assert len(images) >= figures, f"{len(images)} images embedded for {figures} glued figures"


@needs_tex
def test_pdf_numbers_every_statement_and_exercise(pdf):
    tex = (pdf.with_suffix(".tex")).read_text()
    sources = "".join(source.read_text() for source in _sources())
    for kind in (*NUMBERED, "exercise"):
        directive = f"{{{kind}}}" if kind == "exercise" else f"{{prf:{kind}}}"
        expected = sources.count(f"```{directive}")
        numbered = re.findall(rf"\\begin{{sphinxadmonition}}{{note}}{{{kind.title()} \d+(?:\.\d+)*", tex)
        assert len(numbered) == expected, f"{kind}: {len(numbered)} numbered in the PDF, {expected} in the book"


@needs_tex
def test_pdf_bibliography_lists_every_reference(pdf):
    words = " ".join(_words(_run("pdftotext", str(pdf), "-")))
    titles = re.findall(r"^\s*title\s*=\s*\{(.+)\},?\s*$", (ROOT / "book" / "references.bib").read_text(), re.M)
    assert titles
    for title in titles:
        assert " ".join(_words(re.sub(r"[{}]", "", title))) in words, title


def test_math_has_no_bare_command_in_a_subscript():
    """``x_\\mathcal{D}`` and ``p_\\max`` typeset in MathJax; in the PDF, unicode-math stops on
    them with "Missing { inserted". Write ``x_{\\mathcal{D}}``, ``p_{\\max}``."""
    bare = re.compile(r"[_^]\\(?:[A-Za-z]+\{|(?:max|min|log|exp|lim|sup|inf|arg\w*|det)\b)")
    found = [f"{source.name}:{i}: {line.strip()}" for source in _sources()
             for i, line in enumerate(source.read_text().splitlines(), 1) if bare.search(line)]
    assert not found, found


def test_titles_of_pages_with_numbered_statements_have_no_straight_quotes():
    """sphinx-proof finds the chapter of a statement in LaTeX by comparing the smart-quoted title
    with the section's name from the source: with a straight ' or " they differ, and its
    statements lose their numbers and labels. Write the typographic ’ instead."""
    for source in _sources():
        if "```{prf:" in source.read_text():
            assert not re.search(r"['\"]", _title(source)), f"{source.name}: {_title(source)}"


def test_without_tex_the_pdf_build_is_a_one_line_error_before_staging(tmp_path, monkeypatch):
    from elastic.errors import ElasticError

    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(ElasticError, match=r"^the PDF needs xelatex and latexmk, which are not installed: run `make tex`"):
        book.build(tmp_path, "smoke", tmp_path, builder="pdflatex")
    assert not (tmp_path / "_build").exists()
