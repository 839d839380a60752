"""The book's exercises for a student: look one up, check an answer, keep the score.

``check("ex-token-tree-mixture", Fraction(10, 1010))`` returns a :class:`elastic.checkers.Feedback`;
``score(chapter)`` says how many of a chapter's checked exercises were answered right. The exercises
are registered by the answer key (:mod:`elastic.answer_key`) with the checkers of
:mod:`elastic.checkers`. When ``ELASTIC_GRADE_LOG`` names a file, every check appends its verdict
there as a JSON line: that is how ``python -m elastic grade`` reads the results of a notebook it
executed.
"""

from __future__ import annotations

import json
import os

from elastic import answer_key  # noqa: F401  (registers every exercise, chapter by chapter)
from elastic.checkers import REGISTRY, Exercise, Feedback
from elastic.errors import ElasticError
from elastic.prose import count

#: Environment variable naming the file that :func:`check` appends its verdicts to.
GRADE_LOG = "ELASTIC_GRADE_LOG"


def labels(chapter: str | None = None, *, checked_only: bool = False) -> list[str]:
    """Every exercise's label in reading order (of one ``chapter``; only checked ones)."""
    return [label for label, e in REGISTRY.items()
            if (chapter is None or e.chapter == chapter) and (e.checked or not checked_only)]


def get(label: str) -> Exercise:
    if label not in REGISTRY:
        raise ElasticError(f"no exercise {label!r}; exercises: {', '.join(REGISTRY)}")
    return REGISTRY[label]


def reference(label: str):
    """The reference answer of ``label``, in the form :func:`check` reads."""
    exercise = get(label)
    if not exercise.checked:
        raise ElasticError(f"{label} is an open question: it has no reference answer")
    ref = exercise.answer_key.reference
    return next(iter(ref.values())) if len(ref) == 1 else dict(ref)


#: The last verdict of each exercise checked in this process (what :func:`score` counts).
ATTEMPTS: dict[str, Feedback] = {}


def check(label: str, answer) -> Feedback:
    """Whether ``answer`` solves exercise ``label``, with a hint when it does not."""
    exercise = get(label)
    if not exercise.checked:
        raise ElasticError(f"{label} is an open question: it has no checker; compare your answer "
                           "with the solution in the chapter")
    feedback = exercise.judge(answer)
    ATTEMPTS[label] = feedback
    log = os.environ.get(GRADE_LOG)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"label": label, "correct": feedback.correct, "message": feedback.message}) + "\n")
    return feedback


def score(chapter: str) -> str:
    """The student's score on ``chapter``'s checked exercises in this session, as one line."""
    todo = labels(chapter, checked_only=True)
    if not todo:
        return f"{chapter} has no exercise with a checker."
    right = [label for label in todo if label in ATTEMPTS and ATTEMPTS[label]]
    missing = [label for label in todo if label not in right]
    line = f"Score for {chapter}: {len(right)} of {count(len(todo), 'exercise')} right"
    return line + (f"; not yet: {', '.join(missing)}." if missing else ".")
