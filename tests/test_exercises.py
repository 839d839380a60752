"""The answer key: every exercise of the book is registered, every reference solution (the answer
key's and the notebooks' worked ones) passes its checker, and every known mistake gets its hint."""

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from elastic import checkers, coding, coursework, exercises, prediction
from elastic.answer_key import compression_prediction, joint_compression
from elastic.errors import ElasticError

ROOT = Path(__file__).resolve().parents[1]
CHECKED = exercises.labels(checked_only=True)
MISTAKES = [(label, i) for label in CHECKED for i in range(len(exercises.get(label).answer_key.mistakes))]
HAND = {"weights": {"": (1, 0), "0": ("3/4", "1/4"), "1": (0.25, 0.25), "01": (0.5, 0.5)}, "changed": ["0"]}


def with_part(label, part, value):
    """The reference answer of ``label`` with one part replaced."""
    exercise = exercises.get(label)
    reference = dict(exercise.answer_key.reference)
    reference[part] = value
    return reference if len(reference) > 1 else value


def test_every_exercise_of_the_book_is_registered_in_reading_order():
    in_book = coursework.book_labels(ROOT)
    assert [label for _, label in in_book] == exercises.labels()
    assert all(exercises.get(label).chapter == chapter for chapter, label in in_book)
    assert len(in_book) == 33 and len(CHECKED) == 23


def test_no_experiment_module_registers_exercises():
    for source in (ROOT / "elastic" / "experiments").glob("*.py"):
        assert "exercises" not in source.read_text(), source.name


@pytest.mark.parametrize("label", CHECKED)
def test_every_reference_solution_passes(label):
    feedback = exercises.check(label, exercises.reference(label))
    assert feedback and feedback.correct and "Correct" in str(feedback)


@pytest.mark.parametrize("label", CHECKED)
def test_the_notebook_solution_passes_its_checker(label):
    """The chapter's worked solution (a cell tagged ``solution``), run on its own."""
    chapter = exercises.get(label).chapter
    source = coursework.solutions(ROOT, chapter)[label]
    namespace = {}
    exec(compile(source, f"notebooks/{chapter}.py[{label}]", "exec"), namespace)
    feedback = exercises.check(label, namespace[exercises.get(label).variable])
    assert feedback.correct, feedback.message


def test_solution_cells_are_the_checked_exercises():
    worked = {label for chapter in {exercises.get(x).chapter for x in exercises.labels()}
              for label in coursework.solutions(ROOT, chapter)}
    assert worked == set(CHECKED)


@pytest.mark.parametrize("label, index", MISTAKES)
def test_every_known_mistake_gets_its_hint(label, index):
    mistake = exercises.get(label).answer_key.mistakes[index]
    feedback = exercises.check(label, with_part(label, mistake.part, mistake.answer))
    assert not feedback.correct
    assert mistake.step in feedback.message and feedback.message.startswith("Not yet.")
    assert "\n" not in feedback.message


def test_every_checked_exercise_knows_a_mistake():
    assert all(exercises.get(label).answer_key.mistakes for label in CHECKED)


# ------------------------------------------------------------------------ references, by hand


def test_token_tree_hand_reference_is_the_hand_computed_tree():
    ref = exercises.reference("ex-token-tree-hand")
    assert ref["weights"] == {"": (1, 0), "0": (Fraction(3, 4), Fraction(1, 4)),
                              "1": (Fraction(1, 4), Fraction(1, 4)), "01": (Fraction(1, 2), Fraction(1, 2))}
    assert ref["changed"] == {"0"}
    assert exercises.check("ex-token-tree-hand", HAND)


@pytest.mark.parametrize("change, expected", [
    ({"weights": {**HAND["weights"], "0": (0.75, 0.5)}}, "EOS weight of node '0'"),
    ({"weights": {**HAND["weights"], "1": (0.5, 0.25)}}, "weight of node '1'"),
    ({"weights": {k: v for k, v in HAND["weights"].items() if k != "01"}}, "'01' are missing"),
    ({"weights": {**HAND["weights"], "10": (0, 0)}}, "no node '10'"),
    ({"changed": ["0", "01"]}, "'changed': {'0', '01'} is not right"),
])
def test_token_tree_hand_wrong_answers_say_what_is_wrong(change, expected):
    feedback = exercises.check("ex-token-tree-hand", {**HAND, **change})
    assert not feedback
    assert expected in str(feedback) and "Hint:" in str(feedback)


def test_hand_computed_references():
    ref = exercises.reference
    assert ref("ex-token-tree-mixture") == Fraction(10, 1010)
    assert ref("ex-mass-pareto-c") == {"c": Fraction(2, 3), "fraction": Fraction(1, 27)}
    assert ref("ex-ablation-interpolation") == Fraction(500, 3)
    assert ref("ex-rebound-rates") == 10 and ref("ex-mass-sampled") == 1
    assert ref("ex-rebound-saturation") == "initial drop"
    assert ref("ex-scaling-slope") == Fraction(17, 1400)  # least squares on log10 N = (5, 6, 8)
    assert ref("ex-lifecycle-posterior")["posterior"] == Fraction(4, 5)
    assert ref("ex-protocol-huffman")["lengths"] == (1, 2, 2) and ref("ex-protocol-huffman")["expected"] == Fraction(8, 5)
    assert ref("ex-cp-kraft") == {"first": False, "second": True,
                                  "distribution": (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8))}
    alpha, k = sp.symbols("alpha k", positive=True)
    assert sp.simplify(ref("ex-elastic-paper-algebra") - (alpha**2 - 1)) == 0
    assert sp.simplify(ref("ex-elastic-ratio-moment")["dA1/dl"] + 1 / ((alpha**2 - 1) * k**2)) == 0
    two = ref("ex-elastic-two-leaves")
    assert math.isclose(two["d1"], -0.0252, rel_tol=2e-3) and math.isclose(two["d2"], 0.2272, rel_tol=2e-3)
    assert math.isclose(9 * two["d1"] + two["d2"], 0, abs_tol=1e-12)  # the mixing identity
    springs = ref("ex-hooke-springs")
    assert np.allclose(springs["elongations"], (0.001, 0.01, 0.1)) and math.isclose(springs["total"], 0.111)


def test_kraft_reference_distribution_is_optimal_for_its_lengths():
    p = [float(x) for x in exercises.reference("ex-cp-kraft")["distribution"]]
    lengths = compression_prediction.KRAFT_LENGTHS[1]
    assert tuple(coding.huffman_lengths(p)) == lengths
    assert math.isclose(coding.entropy(p), sum(x * n for x, n in zip(p, lengths)))


def test_library_functions_behind_the_references_on_known_answers():
    assert coding.kraft_sum((1, 2, 3, 3)) == 1 and coding.kraft_sum((1, 2, 2, 2)) == Fraction(5, 4)
    assert coding.dyadic_distribution((1, 2, 3, 3)) == (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8))
    with pytest.raises(ElasticError, match="Kraft sum of \\(1, 2, 3\\) is 7/8, not 1"):
        coding.dyadic_distribution((1, 2, 3))
    with pytest.raises(ElasticError, match="integers >= 0"):
        coding.kraft_sum((1, -1))
    assert math.isclose(prediction.nats_to_bits(math.log(2)), 1)
    length = prediction.CodeLength.from_loss(math.log(2), n_tokens=300, n_bytes=1200)
    assert math.isclose(length.bits, 300) and math.isclose(length.bits_per_byte, 0.25)


def test_acl_sign_perturbation_makes_every_cross_entropy_grow():
    trees, before, after = joint_compression.acl_sign_trees()
    assert all(coding.cross_entropy(t, 2, after) > coding.cross_entropy(t, 2, before) for t in trees)


# ------------------------------------------------------------------------ kinds of answers


@pytest.mark.parametrize("answer", [10 / 1010, "10/1010", Fraction(1, 101), np.float32(0.0099), 0.0099,
                                    sp.Rational(1, 101)])
def test_number_accepts_equivalent_forms(answer):
    assert exercises.check("ex-token-tree-mixture", answer)


@pytest.mark.parametrize("answer, expected", [
    ("1/100", "not |D2| / |D1|"),
    (0.5, "0.5 is not right. Hint:"),
    ("ten", "Cannot read this answer"),
    (True, "Cannot read this answer"),
    (None, "No answer yet: set ex_token_tree_mixture to the largest possible difference"),
])
def test_number_wrong_answers(answer, expected):
    feedback = exercises.check("ex-token-tree-mixture", answer)
    assert not feedback.correct and expected in feedback.message


def test_exact_answers_must_be_exact_and_floats_may_round():
    assert not exercises.check("ex-token-tree-mixture", "10/1011")   # exact, and wrong
    assert exercises.check("ex-ablation-interpolation", 166.7)       # rounded
    assert not exercises.check("ex-ablation-interpolation", 168)


def test_expressions_are_equal_by_simplification_not_by_string():
    k = sp.Symbol("k")  # the student's own symbol, without assumptions: matched by name
    right = {"CE1": sp.log(k + 1, 2) - sp.log(k, 2), "CE2": "log(k + 1)/log(2)", "CE1_limit": 0, "CE2_limit": sp.oo}
    assert exercises.check("ex-joint-two-leaves", right)
    alpha = sp.Symbol("alpha")
    assert exercises.check("ex-elastic-paper-algebra", (alpha - 1) * (alpha + 1))
    assert exercises.check("ex-elastic-paper-algebra", "alpha**2 - 1")
    wrong = exercises.check("ex-elastic-paper-algebra", "alpha**2 + 1")
    assert not wrong and "is not right" in wrong.message
    unknown = exercises.check("ex-elastic-paper-algebra", "x**2 - 1")
    assert "unknown symbol(s) x: write it with alpha, k" in unknown.message
    assert "cannot parse" in exercises.check("ex-elastic-paper-algebra", "alpha**").message


def test_functions_predicates_and_verdicts():
    n, v = sp.symbols("n V")
    assert exercises.check("ex-cp-uniform", {"bits": n * sp.log(v, 2), "code_v2": lambda t: list(t)})
    broken = exercises.check("ex-cp-uniform", {"bits": n * sp.log(v, 2), "code_v2": lambda t: t[5]})
    assert "Cannot read this answer (it fails on one of" in broken.message
    m, n = sp.symbols("m n")
    assert exercises.check("ex-lifecycle-posterior", {"posterior": 0.8, "half": sp.Eq(2 * m, n)})
    assert exercises.check("ex-lifecycle-posterior", {"posterior": 0.8, "half": "Eq(n - m, m)"})
    assert not exercises.check("ex-lifecycle-posterior", {"posterior": 0.8, "half": lambda n, m: m == n})
    assert exercises.check("ex-joint-acl-sign", {"direction": " Down", "agrees_with_acl": False})
    maybe = exercises.check("ex-joint-acl-sign", {"direction": "sideways", "agrees_with_acl": False})
    assert "'sideways' is not one of 'up', 'down'" in maybe.message
    missing = exercises.check("ex-joint-acl-sign", {"direction": "down"})
    assert "part(s) 'agrees_with_acl' are missing" in missing.message


def test_a_failing_reference_is_not_blamed_on_the_student():
    exercise = exercises.get("ex-mass-zipf")
    part = exercise.parts["alpha"]
    with pytest.raises(ZeroDivisionError):
        part.same(lambda s: 1 / s, lambda s: 1 / 0)


# ------------------------------------------------------------------------ registry, score, log


def test_unknown_label_open_question_and_duplicate_registration_are_errors():
    with pytest.raises(ElasticError, match="no exercise 'ex-nosuch'; exercises: ex-token-tree-hand"):
        exercises.check("ex-nosuch", 1)
    with pytest.raises(ElasticError, match="ex-cp-determinism is an open question: it has no checker"):
        exercises.check("ex-cp-determinism", "because")
    with pytest.raises(ElasticError, match="registered twice"):
        checkers.open_question("ex-token-tree-mixture", chapter="token_tree", kind="derivation", needs="paper")
    with pytest.raises(ElasticError, match="kind must be one of"):
        checkers.open_question("ex-test-kind", chapter="token_tree", kind="essay", needs="paper")


def test_score_and_grade_log(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(exercises.GRADE_LOG, str(log))
    monkeypatch.setattr(exercises, "ATTEMPTS", {})
    assert exercises.score("hookes_law") == "Score for hookes_law: 0 of 1 exercise right; not yet: ex-hooke-springs."
    exercises.check("ex-hooke-springs", {"elongations": (1000, 100, 10), "total": 0.111})
    exercises.check("ex-hooke-springs", exercises.reference("ex-hooke-springs"))
    assert exercises.score("hookes_law") == "Score for hookes_law: 1 of 1 exercise right."
    assert exercises.score("resistance") == "resistance has no exercise with a checker."
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["correct"] for e in entries] == [False, True]
    assert "Δl = F/k" in entries[0]["message"] and entries[0]["label"] == "ex-hooke-springs"


# ------------------------------------------------------------------------ the coursework page


def test_coursework_table_is_the_registry():
    page = (ROOT / "book" / "coursework.md").read_text()
    assert page.count(coursework.MARKER) == 1
    table = coursework.table_markdown(ROOT)
    rows = [line for line in table.splitlines() if line.startswith("| {ref}")]
    assert [re.match(r"\| \{ref\}`(\S+) <\1>`", row).group(1) for row in rows] == exercises.labels()
    for row, label in zip(rows, exercises.labels()):
        e = exercises.get(label)
        assert f"| {{doc}}`{e.chapter}` | {e.kind} |" in row
        assert row.endswith(("| yes, partly open |" if e.open_part else "| yes |") if e.checked else "| open question |")
    n_open = len(exercises.labels()) - len(CHECKED)
    partly = [label for label in CHECKED if exercises.get(label).open_part]
    assert partly == ["ex-mass-sampled", "ex-rebound-saturation"]
    assert (f"| **all** | **{len(exercises.labels())}** | **{len(CHECKED)}** | **{len(partly)}** | "
            f"**{n_open}** |") in table
    assert sum(line.startswith("- {ref}`") for line in table.splitlines()) == n_open + len(partly)
    assert "- {ref}`ex-rebound-saturation <ex-rebound-saturation>` ({doc}`rebound`): why the paper's" in table
    # the course paths cite exercises that exist
    cited = re.findall(r"\{ref\}`([^`]+)`", page)
    assert cited and all(re.fullmatch(r"(\S+) <\1>", c) for c in cited)  # shown as the label, in the PDF too
    assert {c.split()[0] for c in cited} <= set(exercises.labels())


def test_cpu_needs_read_the_time_of_the_last_cpu_run(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text((ROOT / "_toc.yml").read_text())
    record = {"name": "rebound", "preset": "cpu", "status": "ok", "duration_s": 412.0}
    target = tmp_path / "_build" / "executed" / "cpu" / "rebound.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(record))
    for label in ("ex-rebound-rates", "ex-resistance-steps"):  # as if they asked for the chapter's run
        monkeypatch.setattr(exercises.get(label), "needs", "cpu")
    table = coursework.table_markdown(tmp_path)
    assert ("| {ref}`ex-rebound-rates <ex-rebound-rates>` | {doc}`rebound` | computation | "
            "CPU: the chapter in the cpu preset (7 min in the last run) |") in table
    assert ("| {ref}`ex-resistance-steps <ex-resistance-steps>` | {doc}`resistance` | experiment | "
            "CPU: the chapter in the cpu preset |") in table
