"""``python -m elastic grade``: execute submitted student notebooks and tabulate their checks.

A submission is a student notebook (see :mod:`elastic.coursework`) that a student filled in:
``SUBMISSIONS/<student>.ipynb``, or ``SUBMISSIONS/<student>/<chapter>.ipynb`` for several chapters.
Each runs with papermill in a process of its own, in a scratch directory, under a time limit, with
:data:`elastic.exercises.GRADE_LOG` naming the file its ``check`` cells append their verdicts to.
The result is a CSV with one row per checked exercise (and a row per chapter saying whether its
notebook ran, and the score) and one column per student: ``ok``, or one line saying what is wrong.
A submission that cannot be read, or placed in a chapter of the book, is not graded: it is reported
in a first row, as that student's status, and the others are graded.

The checks run in the student's kernel, so a student who writes to the log can forge a verdict: as
with any grader that executes submitted code, run it on submissions you are prepared to execute.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from elastic import chapters, checkers, exercises
from elastic.errors import ElasticError

OK = "ok"
#: The first row's label, when some submission could not be graded.
NOT_GRADED = "submissions not graded"
#: Tags of the cells papermill adds to an executed notebook.
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


class Ungradable(Exception):
    """A submission that cannot be graded; its message is the student's status."""


@dataclass
class Run:
    """One submitted notebook, executed: ``status`` is ``ran``, or one line on why it stopped (or,
    with no ``chapter``, why it could not be graded)."""

    student: str
    chapter: str | None
    status: str
    verdicts: dict[str, checkers.Feedback] = field(default_factory=dict)


def submissions(folder: Path, out: Path) -> list[tuple[str, Path]]:
    """``(student, notebook)`` of every submission under ``folder`` (skipping ``out``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ElasticError(f"no folder {folder}: give the folder of submitted notebooks")
    found = [(p.stem, p) for p in sorted(folder.glob("*.ipynb"))]
    found += [(p.parent.name, p) for p in sorted(folder.glob("*/*.ipynb"))
              if p.parent.resolve() != Path(out).resolve() and not p.parent.name.startswith(".")]
    if not found:
        raise ElasticError(f"no notebooks in {folder}: put <student>.ipynb or <student>/<chapter>.ipynb there")
    return found


def one_line(text: str) -> str:
    """``text`` with its runs of whitespace, newlines included, as single spaces."""
    return " ".join(str(text).split())


def chapter_of(path: Path, book_chapters: list[str]) -> str:
    """The chapter of the book a student notebook belongs to, from the metadata
    ``student-notebooks`` wrote; :class:`Ungradable` when the file is not such a notebook."""
    import nbformat

    try:
        metadata = nbformat.read(path, as_version=4).metadata
    except Exception as exc:  # a submission can be any file: whatever fails to read it is its status
        raise Ungradable(f"unreadable: {path.name} is not a notebook ({type(exc).__name__}: {exc})") from None
    elastic = metadata.get("elastic")
    chapter = elastic.get("chapter") if isinstance(elastic, dict) else None
    if chapter is None:
        raise Ungradable(f"not graded: {path.name} has no 'elastic.chapter' in its metadata; hand out "
                         "notebooks written by `python -m elastic student-notebooks`")
    if chapter not in book_chapters:
        raise Ungradable(f"not graded: {path.name} is for chapter {chapter!r}, which is not in this book")
    return chapter


def _stopped_at(executed: Path, stderr: str) -> str:
    """One line on why a notebook stopped: the first error output of the executed copy, else the
    last line papermill printed."""
    import nbformat

    if executed.exists():
        # number the cells as in the submitted notebook, without those papermill added
        cells = [c for c in nbformat.read(executed, as_version=4).cells
                 if not set(c.metadata.get("tags", [])) & PAPERMILL_TAGS]
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    value = (str(output.get("evalue", "")).strip().splitlines() or [""])[0]
                    return f"error in cell {index + 1}: {output.get('ename')}: {value}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"error: {lines[-1] if lines else 'papermill failed without a message'}"


def execute(student: str, chapter: str, notebook: Path, out: Path, preset: str, timeout: float) -> Run:
    """Execute one submission under ``out/<student>/`` and read the verdicts of its checks."""
    work = Path(out) / student / chapter
    work.mkdir(parents=True, exist_ok=True)
    log, executed = work / "checks.jsonl", Path(out) / student / f"{chapter}.ipynb"
    log.unlink(missing_ok=True)
    executed.unlink(missing_ok=True)
    env = {**os.environ, exercises.GRADE_LOG: str(log.resolve()), "ELASTIC_RESULTS": str((work / "results").resolve())}
    env.pop("MPLBACKEND", None)  # as in book.execute: the kernel's inline backend keeps figures as images
    cmd = [sys.executable, "-m", "papermill", str(notebook.resolve()), str(executed.resolve()), "-k", chapters.KERNEL,
           "-p", "preset", preset, "--cwd", str(work.resolve()), "--no-progress-bar"]
    # A session of its own, so that a notebook past its time is killed with everything it started
    # (the kernel, in a session of its own too, exits when papermill does).
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
        status = "ran" if process.returncode == 0 else _stopped_at(executed, stderr)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        status = f"timed out after {timeout:g} s"
    verdicts = {}
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            verdicts[entry["label"]] = checkers.Feedback(entry["correct"], entry["message"])
    return Run(student, chapter, status, verdicts)


def cell(run: Run | None, label: str) -> str:
    """The CSV cell of one exercise for one student."""
    if run is None:
        return "not submitted"
    if label in run.verdicts:
        return OK if run.verdicts[label] else run.verdicts[label].message
    if run.status != "ran":
        return "not checked: the notebook stopped before this check"
    return "not checked: the check cell of this exercise did not run"


def table(runs: list[Run], root: Path) -> list[list[str]]:
    """Rows of the CSV: the submissions that could not be graded, if any; per chapter (in reading
    order) its status row and one row per checked exercise; then each student's score over the
    checked exercises of the chapters submitted."""
    students = sorted({r.student for r in runs})
    by = {(r.student, r.chapter): r for r in runs if r.chapter}
    submitted = [c for c in chapters.toc_notebooks(root) if any(r.chapter == c for r in runs)]
    rows = [["exercise", *students]]
    if any(not r.chapter for r in runs):
        rows.append([NOT_GRADED, *("; ".join(r.status for r in runs if r.student == s and not r.chapter)
                                   for s in students)])
    right = dict.fromkeys(students, 0)
    total = 0
    for chapter in submitted:
        rows.append([f"{chapter} (notebook)", *(by[s, chapter].status if (s, chapter) in by else "not submitted"
                                                  for s in students)])
        for label in exercises.labels(chapter, checked_only=True):
            cells = [cell(by.get((s, chapter)), label) for s in students]
            rows.append([label, *cells])
            total += 1
            for s, c in zip(students, cells):
                right[s] += c == OK
    rows.append(["score", *(f"{right[s]}/{total}" for s in students)])
    return rows


def grade(folder: Path, out: Path, preset: str, timeout: float, root: Path) -> Path:
    """Execute every submission in ``folder``; write ``out/grades.csv`` and return its path."""
    if timeout <= 0:
        raise ElasticError(f"--timeout {timeout:g}: give a positive number of seconds")
    out = Path(out)
    book_chapters = chapters.toc_notebooks(root)
    todo, runs = [], []
    for student, notebook in submissions(folder, out):
        try:
            todo.append((student, chapter_of(notebook, book_chapters), notebook))
        except Ungradable as exc:
            runs.append(Run(student, None, str(exc)))
            print(f"{student}: {exc}", flush=True)
    twice = sorted({f"{s} ({c})" for s, c, _ in todo if sum(t[:2] == (s, c) for t in todo) > 1})
    if twice:
        raise ElasticError(f"two submissions of one chapter by {', '.join(twice)}: keep one of each")
    for student, chapter, notebook in todo:
        run = execute(student, chapter, notebook, out, preset, timeout)
        print(f"{student}: {chapter}: {run.status}; {sum(map(bool, run.verdicts.values()))} of "
              f"{len(exercises.labels(chapter, checked_only=True))} right", flush=True)
        runs.append(run)
    target = out / "grades.csv"
    with open(target, "w", newline="", encoding="utf-8") as f:
        # a reason can quote the student's own exception, newlines and all: each cell is one line
        csv.writer(f).writerows([one_line(c) for c in row] for row in table(runs, root))
    return target
