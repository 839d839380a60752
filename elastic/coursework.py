"""Coursework: the exercises as the book states them, student notebooks that check themselves, and
the coursework page's table.

The statements live in ``book/<chapter>.md`` (``{exercise}`` blocks), the answer key in
:mod:`elastic.answer_key`, and each checked exercise's worked solution in the chapter's notebook, a
cell tagged ``solution`` with the metadata ``exercise="<label>"``. A student notebook is the
chapter's notebook without its solution cells, followed by one section per exercise: the statement,
an answer cell, a cell that calls :func:`elastic.exercises.check`, and at the end the score.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from elastic import chapters, checkers, exercises
from elastic.errors import ElasticError

#: The line of ``book/coursework.md`` that staging replaces with the table of exercises.
MARKER = "% coursework-table"
EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise\}[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
ROLE = re.compile(r"\{([\w:]+)\}`([^`<]*?)(?:\s*<([^>]+)>)?`")
#: Cell metadata key of a solution cell, and tag of a student notebook's answer cell.
EXERCISE_KEY, ANSWER_TAG = "exercise", "answer"


def statements(root: Path, chapter: str) -> dict[str, str]:
    """``{label: statement}`` of the ``{exercise}`` blocks of ``book/<chapter>.md``, in order."""
    page = Path(root) / "book" / f"{chapter}.md"
    if not page.exists():  # a notebook without a derivation page has no exercises
        return {}
    found = {}
    for match in EXERCISE.finditer(page.read_text()):
        body = match.group(2)
        label = re.search(r"^:label:\s*(\S+)", body, re.M)
        if label is None:
            raise ElasticError(f"an exercise in {page} has no :label: line: add one")
        found[label.group(1)] = "\n".join(line for line in body.splitlines() if not line.startswith(":")).strip()
    return found


def book_labels(root: Path) -> list[tuple[str, str]]:
    """``(chapter, label)`` of every exercise of the book, in reading order."""
    return [(name, label) for name in chapters.toc_notebooks(root) for label in statements(root, name)]


def plain(text: str) -> str:
    """A statement for Jupyter, which does not know MyST roles: ``{eq}`x``` becomes ```x```."""

    def role(match):
        kind, text, target = match.groups()
        if kind == "cite":
            return ""
        name = f"`{target or text}`"
        return {"eq": f"equation {name}", "doc": f"the chapter {name}"}.get(kind, text if target else name)

    return ROLE.sub(role, text)


def solutions(root: Path, chapter: str) -> dict[str, str]:
    """``{label: source}`` of the solution cells of ``notebooks/<chapter>.py``."""
    import jupytext

    found = {}
    for cell in jupytext.read(chapters.source_path(Path(root), chapter)).cells:
        label = cell.metadata.get(EXERCISE_KEY)
        if label is None:
            continue
        if chapters.SOLUTION_TAG not in cell.metadata.get("tags", []) or label in found:
            raise ElasticError(f"notebooks/{chapter}.py: the cell of {label} must be tagged "
                               f"{chapters.SOLUTION_TAG!r}, and there must be one per exercise")
        found[label] = cell.source
    return found


def _answer_cell(exercise: checkers.Exercise) -> str:
    """What the answer gives, the sympy symbols it is written in, and ``ex_label = None``: one line
    per part for a multi-part answer, with the form of each."""
    names = sorted({n for kind in exercise.parts.values() for n in getattr(kind, "names", ())})
    lines = [f"# {line}" for line in textwrap.wrap(f"your answer: {exercise.ask}", 96)]
    lines += [f'{", ".join(names)} = sp.symbols("{" ".join(names)}", positive=True)'] if names else []
    if len(exercise.parts) == 1:
        return "\n".join(lines + [f"{exercise.variable} = None  # {exercise.form}"])
    lines += [f"{exercise.variable} = {{"]
    lines += [f'    "{name}": None,  # {kind.form}' for name, kind in exercise.parts.items()]
    return "\n".join(lines + ["}"])


INTRO = """## Exercises

The exercises of `book/{chapter}.md`. Write your answer in the cell after each statement, in place
of `None`, and run the cell below it: `check` says whether the answer is right and, if not, which
step to look at again. Open questions have no checker: compare your answer with the solution in
the book. The last cell prints your score."""


def student_notebook(root: Path, name: str, answers: bool = False):
    """The chapter's notebook without solutions, with an answer cell and a check for each exercise
    and the score at the end. ``answers`` fills each answer cell with the chapter's solution (the
    instructor's answer sheet)."""
    import nbformat

    root = Path(root)
    nb = chapters.student_notebook(root, name)
    nb.metadata["elastic"] = {**nb.metadata.get("elastic", {}), "chapter": name}
    worked = solutions(root, name) if answers else {}
    cells = [nbformat.v4.new_markdown_cell(INTRO.format(chapter=name)),
             nbformat.v4.new_code_cell("from fractions import Fraction\n\nimport sympy as sp\n\n"
                                       "from elastic.exercises import check, score")]
    for label, statement in statements(root, name).items():
        exercise = exercises.get(label)
        cells.append(nbformat.v4.new_markdown_cell(f"### Exercise `{label}`\n\n{plain(statement)}"))
        if not exercise.checked:
            cells.append(nbformat.v4.new_markdown_cell(
                "*Open question, not checked: write your answer here and compare it with the solution in the book.*"))
            continue
        answer = nbformat.v4.new_code_cell(worked.get(label) or _answer_cell(exercise))
        answer.metadata.update({"tags": [ANSWER_TAG], EXERCISE_KEY: label})
        cells += [answer, nbformat.v4.new_code_cell(f'check("{label}", {exercise.variable})')]
        if exercise.open_part:
            cells.append(nbformat.v4.new_markdown_cell(
                f"*Not checked: {exercise.open_part}. Compare your argument with the solution in the book.*"))
    cells.append(nbformat.v4.new_code_cell(f'print(score("{name}"))'))
    nb.cells += cells
    return nb


def write_student_notebooks(root: Path, out: Path, answers: bool = False) -> list[Path]:
    """Every chapter's student notebook (see :func:`student_notebook`) as ``out/<name>.ipynb``."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in chapters.toc_notebooks(root):
        target = out / f"{name}.ipynb"
        nbformat.write(student_notebook(root, name, answers), target)
        written.append(target)
    return written


NEEDS = {"paper": "paper", "cpu": "CPU: the chapter in the cpu preset", "gpu": "GPU"}


def _needs(root: Path, exercise: checkers.Exercise) -> str:
    if exercise.needs != "cpu":
        return NEEDS[exercise.needs]
    record = chapters.read_execution(root, exercise.chapter, "cpu")
    minutes = f" ({record['duration_s'] / 60:.0f} min in the last run)" if record and record["status"] == "ok" else ""
    return NEEDS["cpu"] + minutes


def _link(exercise: checkers.Exercise) -> str:
    """A link to the exercise that shows its label, as student notebooks name it (with the
    explicit text, the reference also resolves in the PDF)."""
    return f"{{ref}}`{exercise.label} <{exercise.label}>`"


def _checker(exercise: checkers.Exercise) -> str:
    if not exercise.checked:
        return "open question"
    return "yes, partly open" if exercise.open_part else "yes"


def table_markdown(root: Path) -> str:
    """The coursework page's body: every exercise (chapter, kind, needs, checker), the counts of
    each kind, the open questions and the questions left open in checked exercises, from the
    registry."""
    root = Path(root)
    rows = ["| Exercise | Chapter | Kind | Needs | Checker |", "|---|---|---|---|---|"]
    registry = [exercises.get(label) for label in exercises.labels()]
    for e in registry:
        rows.append(f"| {_link(e)} | {{doc}}`{e.chapter}` | {e.kind} | {_needs(root, e)} | {_checker(e)} |")

    def count(name: str, of_kind: list[checkers.Exercise], bold: str = "") -> str:
        numbers = (len(of_kind), sum(e.checked for e in of_kind), sum(bool(e.open_part) for e in of_kind),
                   sum(not e.checked for e in of_kind))
        return f"| {name} | " + " | ".join(f"{bold}{n}{bold}" for n in numbers) + " |"

    counts = ["| Kind | Exercises | With a checker | Of these, partly open | Open questions |", "|---|---|---|---|---|"]
    counts += [count(kind, [e for e in registry if e.kind == kind]) for kind in checkers.KINDS]
    counts.append(count("**all**", registry, "**"))
    open_ = [f"- {_link(e)} ({{doc}}`{e.chapter}`, {e.kind})" for e in registry if not e.checked]
    partly = [f"- {_link(e)} ({{doc}}`{e.chapter}`): {e.open_part}" for e in registry if e.open_part]
    page = ("\n".join(rows) + "\n\n" + "\n".join(counts)
            + "\n\nThe open questions, whose answer is an argument rather than a value:\n\n" + "\n".join(open_) + "\n")
    if partly:
        page += "\nThe questions that checked exercises leave open, to compare with the solution:\n\n" + "\n".join(partly) + "\n"
    return page
