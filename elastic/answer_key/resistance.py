"""Exercises of book/resistance.md: both are open questions."""

from __future__ import annotations

from elastic.checkers import open_question

CHAPTER = "resistance"

open_question("ex-resistance-entropy", chapter=CHAPTER, kind="derivation", needs="paper")
open_question("ex-resistance-steps", chapter=CHAPTER, kind="experiment", needs="paper")
