"""The checkers of the book's exercises: the kinds of answers, the answer key of an exercise, and
the registry that :mod:`elastic.answer_key` fills (:func:`checked`, :func:`open_question`).

Every ``{exercise}`` of ``book/<chapter>.md`` is registered once, in the answer key
(:mod:`elastic.answer_key`, one module per chapter, in reading order), either as *checked* or as an
*open question*; :mod:`elastic.exercises` looks them up, checks answers and keeps the score. A checked exercise's answer has named parts, each read and compared by a
:class:`Kind`: a :class:`Number` (exact for fractions against a rational reference, within a
tolerance otherwise), an :class:`Expression` (sympy, equal when their difference simplifies to 0),
a :class:`Sampled` function (equal to a library function at given points), a set or sequence of
numbers, a :class:`Choice` (a verdict), a :class:`Function` (a small program, run on test inputs)
or a :class:`Predicate`. The reference answer is computed by the library when first needed, with
the known wrong answers (a :class:`Key`): a wrong part that matches one gets the hint naming the
step that went wrong.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

from elastic.errors import ElasticError

KINDS = ("derivation", "computation", "experiment")
#: What an exercise needs: pen and paper, the chapter's run in the cpu preset, or a GPU.
NEEDS = ("paper", "cpu", "gpu")


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; true when right, and shown as its message in a notebook."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__


# --------------------------------------------------------------------------------------------
# How one part of an answer is read and compared


class Kind:
    """Reads one part of an answer (``read`` raises ValueError or TypeError when it cannot) and
    says whether it equals a reference or a known wrong answer (``same``)."""

    form = "a value"

    def read(self, value):
        return value

    def same(self, answer, reference) -> bool:
        return answer == reference

    def show(self, value) -> str:
        return repr(value)

    def explain(self, answer, reference) -> str:
        """What is wrong with ``answer`` when it matches no known mistake."""
        return f"{self.show(answer)} is not right"


def exact_or_float(value) -> Fraction | float:
    """A number as a Fraction when it is exact (int, Fraction, '3/4', a sympy Rational), else a
    float (floats, numpy scalars, '0.75' and other sympy numbers)."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{value!r} is not a number")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        return Fraction(text) if re.fullmatch(r"[+-]?\d+(/\d+)?", text) else float(text)
    if isinstance(value, numbers.Integral):  # numpy integers
        return Fraction(int(value))
    if isinstance(value, numbers.Real):
        return float(value)
    if type(value).__module__.startswith("sympy"):
        import sympy as sp

        if isinstance(value, sp.Rational):
            return Fraction(int(value.p), int(value.q))
        if getattr(value, "is_number", False) and value.is_extended_real:  # sp.oo reads as inf
            return float(value)
    raise TypeError(f"{type(value).__name__} is not a number")


def rational(x: float, max_denominator: int = 10_000) -> Fraction:
    """The fraction a library float stands for (a leaf weight ``k/N``, a posterior ``4/5``):
    refuses when no fraction with a small denominator is within ``1e-12`` of it."""
    exact = Fraction(float(x)).limit_denominator(max_denominator)
    if not math.isclose(float(exact), float(x), rel_tol=1e-12, abs_tol=1e-15):
        raise ElasticError(f"{x!r} is not a fraction with denominator <= {max_denominator}")
    return exact


@dataclass(frozen=True)
class Number(Kind):
    """One number. Two exact numbers (ints, Fractions, 'p/q') must be equal; a float is right
    within ``rtol`` (relative) or ``atol`` (absolute), to allow for rounding."""

    rtol: float = 1e-3
    atol: float = 1e-12
    form = "a number: 0.25, Fraction(1, 4) or '1/4'"

    def read(self, value):
        return exact_or_float(value)

    def same(self, answer, reference) -> bool:
        answer, reference = exact_or_float(answer), exact_or_float(reference)
        if isinstance(answer, Fraction) and isinstance(reference, Fraction):
            return answer == reference
        return math.isclose(float(answer), float(reference), rel_tol=self.rtol, abs_tol=self.atol)

    def show(self, value) -> str:
        return str(value)


@dataclass(frozen=True)
class Numbers(Kind):
    """A sequence of numbers, in order, each compared as a :class:`Number`."""

    rtol: float = 1e-3
    atol: float = 1e-12
    form = "a sequence of numbers: (0.5, 0.25, ...)"

    def read(self, value):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and not hasattr(value, "__array__"):
            raise TypeError(f"{type(value).__name__} is not a sequence of numbers")
        return tuple(exact_or_float(v) for v in list(value))

    def same(self, answer, reference) -> bool:
        one = Number(self.rtol, self.atol)
        return len(answer) == len(reference) and all(one.same(a, r) for a, r in zip(answer, reference))

    def show(self, value) -> str:
        return "(" + ", ".join(map(str, value)) + ")"


@dataclass(frozen=True)
class NumberSet(Numbers):
    """A set of numbers, in any order, without repeats."""

    form = "a set of numbers: {1, 0.5}"

    def read(self, value):
        if isinstance(value, (str, bytes)):
            raise TypeError("a string is not a set of numbers")
        return tuple(exact_or_float(v) for v in value)

    def same(self, answer, reference) -> bool:
        one = Number(self.rtol, self.atol)
        return (all(any(one.same(a, r) for r in reference) for a in answer)
                and all(any(one.same(a, r) for a in answer) for r in reference))

    def show(self, value) -> str:
        return "{" + ", ".join(map(str, sorted(value, key=float))) + "}"


@dataclass(frozen=True)
class Choice(Kind):
    """A verdict: one of ``options`` (case and surrounding spaces do not matter); a truth value
    when the options are ``(True, False)``."""

    options: tuple = (True, False)

    @property
    def form(self) -> str:
        return " or ".join(map(repr, self.options))

    def read(self, value):
        if self.options == (True, False):
            if not isinstance(value, bool) and type(value).__name__ != "bool_":
                raise TypeError(f"{value!r} is not True or False")
            return bool(value)
        if not isinstance(value, str) or value.strip().lower() not in self.options:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.options))}")
        return value.strip().lower()


def evaluated(evaluate: Callable, answer, reference, where: str) -> tuple:
    """``evaluate(answer)`` and ``evaluate(reference)``. The answer is a student's function, so
    any failure of it makes the answer unreadable; a failure of the reference (the library's)
    propagates."""
    expected = evaluate(reference)
    try:
        return evaluate(answer), expected
    except Exception as exc:  # the student's code
        raise ValueError(f"it fails {where} ({type(exc).__name__}: {exc})") from None


def _known(expression, names: Sequence[str]) -> dict:
    """``{name: symbol}`` of the free symbols of a student's expression, all among ``names``."""
    unknown = sorted(str(s) for s in expression.free_symbols if str(s) not in names)
    if unknown:
        raise ValueError(f"unknown symbol(s) {', '.join(unknown)}: write it with {', '.join(names)}")
    return {str(s): s for s in expression.free_symbols}


def _symbols(names: Sequence[str]) -> dict:
    import sympy as sp

    return {name: sp.Symbol(name, positive=True) for name in names}


@dataclass(frozen=True)
class Expression(Kind):
    """A sympy expression in the positive symbols ``names`` (a string is parsed with them; a
    student's own symbols are matched by name). Right when the difference simplifies to 0."""

    names: tuple[str, ...]

    @property
    def form(self) -> str:
        return f"a sympy expression in {', '.join(self.names)} (or a string such as 'log(k + 1, 2)')"

    def read(self, value):
        import sympy as sp

        known = _symbols(self.names)
        if isinstance(value, str):
            try:
                value = sp.parse_expr(value, local_dict=dict(known))
            except (SyntaxError, TypeError, sp.SympifyError) as exc:
                raise ValueError(f"sympy cannot parse {value!r} ({type(exc).__name__})") from None
        value = sp.sympify(value)
        return value.subs({s: known[name] for name, s in _known(value, self.names).items()})

    def same(self, answer, reference) -> bool:
        import sympy as sp

        difference = sp.simplify(sp.sympify(answer) - sp.sympify(reference))
        return difference == 0 or difference.equals(0) is True

    def show(self, value) -> str:
        return str(value)


@dataclass(frozen=True)
class Sampled(Kind):
    """A function of ``names`` given as a sympy expression (or string) or a Python callable,
    compared with a reference function of the library at ``points`` (dicts of values)."""

    names: tuple[str, ...]
    points: tuple[dict, ...]
    rtol: float = 1e-6

    @property
    def form(self) -> str:
        return Expression(self.names).form

    def read(self, value):
        return value if callable(value) else Expression(self.names).read(value)

    def values(self, f) -> list[float]:
        if not callable(f):
            import sympy as sp

            f = sp.lambdify([_symbols(self.names)[n] for n in self.names], f, "mpmath")
        return [float(f(*(point[n] for n in self.names))) for point in self.points]

    def same(self, answer, reference) -> bool:
        given, expected = evaluated(self.values, answer, reference, f"at {self.points}")
        return all(math.isclose(a, r, rel_tol=self.rtol, abs_tol=1e-12) for a, r in zip(given, expected))

    def show(self, value) -> str:
        return str(value) if not callable(value) else "this function"


@dataclass(frozen=True)
class Function(Kind):
    """A small program: a callable, right when it gives the reference's outputs on ``inputs``
    (each output passed through ``normal`` first, e.g. to accept a list of bits for a string)."""

    inputs: tuple
    form: str = "a Python function"
    normal: Callable[[Any], Any] | None = None

    def read(self, value):
        if not callable(value):
            raise TypeError(f"{type(value).__name__} is not a function")
        return value

    def same(self, answer, reference) -> bool:
        def outputs(f):
            return [self.normal(f(x)) if self.normal else f(x) for x in self.inputs]

        given, expected = evaluated(outputs, answer, reference, f"on one of {self.inputs}")
        return given == expected

    def show(self, value) -> str:
        return "this function"


@dataclass(frozen=True)
class Predicate(Kind):
    """A condition on ``names``: a callable returning a truth value, or a sympy relation (such
    as ``Eq(2*m, n)``); compared with the reference on every point of ``domain``."""

    names: tuple[str, ...]
    domain: tuple[tuple, ...]

    @property
    def form(self) -> str:
        return f"a function of ({', '.join(self.names)}) returning True or False, or a sympy relation"

    def read(self, value):
        if callable(value):
            return value
        import sympy as sp

        relation = sp.sympify(value)
        if not isinstance(relation, sp.core.relational.Relational):
            raise TypeError(f"{value!r} is neither a function nor a relation such as Eq(2*m, n)")
        by_name = _known(relation, self.names)
        return sp.lambdify([by_name.get(n, sp.Symbol(n)) for n in self.names], relation, "math")

    def same(self, answer, reference) -> bool:
        given, expected = evaluated(lambda f: [bool(f(*p)) for p in self.domain], answer, reference,
                                    "at one of the points")
        return given == expected

    def show(self, value) -> str:
        return "this condition"


# --------------------------------------------------------------------------------------------
# Exercises


@dataclass(frozen=True)
class Mistake:
    """A known wrong value of one part of an answer, and the step that produces it."""

    part: str
    answer: Any
    step: str


@dataclass(frozen=True)
class Key:
    """An exercise's answer key: the reference value of each part and the known mistakes."""

    reference: dict
    mistakes: tuple[Mistake, ...] = ()


@dataclass(eq=False)
class Exercise:
    """One ``{exercise}`` of the book. A checked one has ``parts`` ({name: Kind}) and ``key``, a
    function computing its :class:`Key` with the library; an open question has neither. A checked
    exercise that also asks for an argument is *partly open*: ``open_part`` names that question."""

    label: str
    chapter: str
    kind: str
    needs: str
    ask: str = ""
    hint: str = ""
    parts: dict[str, Kind] = field(default_factory=dict)
    key: Callable[[], Key] | None = None
    open_part: str = ""

    @property
    def checked(self) -> bool:
        return self.key is not None

    @functools.cached_property
    def answer_key(self) -> Key:
        key = self.key()
        if set(key.reference) != set(self.parts) or not {m.part for m in key.mistakes} <= set(self.parts):
            raise ElasticError(f"the answer key of {self.label} does not match its parts {list(self.parts)}")
        return key

    @property
    def variable(self) -> str:
        """The name of the answer variable in a student notebook."""
        return self.label.replace("-", "_")

    @property
    def form(self) -> str:
        if len(self.parts) == 1:
            return next(iter(self.parts.values())).form
        return "a dict {" + ", ".join(f"{name!r}: {k.form}" for name, k in self.parts.items()) + "}"

    def split(self, answer) -> dict:
        """The answer's parts: the answer itself when there is one part, else a dict by name or
        a sequence in the order of ``parts``."""
        names = list(self.parts)
        if len(names) == 1:
            return {names[0]: answer}
        if isinstance(answer, dict):
            missing = [n for n in names if n not in answer]
            if missing:
                raise KeyError(f"the part(s) {', '.join(map(repr, missing))} are missing")
            return {n: answer[n] for n in names}
        if isinstance(answer, (tuple, list)) and len(answer) == len(names):
            return dict(zip(names, answer))
        raise TypeError(f"give a dict with the keys {', '.join(map(repr, names))}")

    def judge(self, answer) -> Feedback:
        """Whether ``answer`` is right; if not, the hint for the first wrong part."""
        if answer is None:
            return Feedback(False, f"No answer yet: set {self.variable} to {self.ask}, as {self.form}.")
        key = self.answer_key
        try:
            given = self.split(answer)
            for name, part in self.parts.items():
                if given[name] is None:
                    return Feedback(False, f"No answer yet for {name!r}: write {part.form}.")
                value = part.read(given[name])
                if part.same(value, key.reference[name]):
                    continue
                where = "" if len(self.parts) == 1 else f"{name!r}: "
                for mistake in key.mistakes:
                    if mistake.part == name and part.same(value, mistake.answer):
                        return Feedback(False, f"Not yet. {where}{mistake.step}")
                return Feedback(False, f"Not yet. {where}{part.explain(value, key.reference[name])}. Hint: {self.hint}")
        except (ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as exc:
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return Feedback(False, f"Cannot read this answer ({message}). Write it as {self.form}.")
        return Feedback(True, f"Correct ({self.label}).")


REGISTRY: dict[str, Exercise] = {}


def _add(exercise: Exercise) -> Exercise:
    if exercise.label in REGISTRY:
        raise ElasticError(f"exercise {exercise.label!r} is registered twice: give one of them another label")
    if exercise.kind not in KINDS or exercise.needs not in NEEDS:
        raise ElasticError(f"{exercise.label}: kind must be one of {KINDS} and needs one of {NEEDS}")
    REGISTRY[exercise.label] = exercise
    return exercise


def checked(label: str, *, chapter: str, kind: str, needs: str, ask: str, parts: dict[str, Kind],
            key: Callable[[], Key], hint: str, open_part: str = "") -> Exercise:
    """Register an exercise with a checker: ``ask`` says what the answer gives (its ``parts``),
    ``hint`` how to find it, and ``key()`` computes its answer key with the library;
    ``open_part`` is the question it also asks whose answer is an argument, if any."""
    return _add(Exercise(label, chapter, kind, needs, ask, hint, dict(parts), key, open_part))


def open_question(label: str, *, chapter: str, kind: str, needs: str) -> Exercise:
    """Register an exercise whose answer is an argument or a discussion: it has no checker."""
    return _add(Exercise(label, chapter, kind, needs))


