"""Student notebooks and `python -m elastic grade`, on a course of one tiny chapter: the real
exercises, solutions and checks of joint_compression, without the chapter's own computations (the
real chapters run in test_notebooks.py). The grading tests execute five notebooks with papermill,
one of them until its 8 s limit: about 70 s on the shared 2-core development machine."""

import copy
import csv
import shutil
import time
from pathlib import Path

import jupytext
import nbformat

from elastic import chapters, coursework, exercises, grading
from elastic.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "joint_compression"
LABELS = exercises.labels(CHAPTER, checked_only=True)
#: Bob's answers: each a known mistake of the answer key.
WRONG = {
    "ex-joint-two-leaves": 'k = sp.Symbol("k", positive=True)\nex_joint_two_leaves = '
                           '{"CE1": sp.log((k + 1) / k), "CE2": sp.log(k + 1, 2), "CE1_limit": 0, "CE2_limit": sp.oo}',
    "ex-joint-average": 'k = sp.Symbol("k", positive=True)\nex_joint_average = '
                        '{"weighted_sum": sp.log((k + 1) / k, 2) + sp.log(k + 1, 2), "arxiv_weighted_sum": 1}',
    "ex-joint-acl-sign": 'ex_joint_acl_sign = {"direction": "up", "agrees_with_acl": True}',
}


def course(tmp_path: Path) -> Path:
    """A book of one chapter: joint_compression's page, and its notebook's parameters and solutions."""
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copy(ROOT / "book" / f"{CHAPTER}.md", root / "book")
    nb = jupytext.read(ROOT / "notebooks" / f"{CHAPTER}.py")
    nb.cells = [c for c in nb.cells if {"parameters", chapters.SOLUTION_TAG} & set(c.metadata.get("tags", []))]
    jupytext.write(nb, root / "notebooks" / f"{CHAPTER}.py", fmt="py:percent")
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nparts:\n  - caption: C\n"
                                   f"    chapters:\n      - file: notebooks/{CHAPTER}\n")
    return root


def handout(root: Path, out: Path, *flags: str) -> nbformat.NotebookNode:
    assert main(["student-notebooks", str(out), "--root", str(root), *flags]) == 0
    return nbformat.read(out / f"{CHAPTER}.ipynb", as_version=4)


def answer_cell(nb, label: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get(coursework.EXERCISE_KEY) == label)


def test_student_notebook_has_an_answer_cell_and_a_check_per_exercise_and_the_score(tmp_path):
    nb = handout(course(tmp_path), tmp_path / "handout")
    assert nb.metadata["elastic"]["chapter"] == CHAPTER
    assert not any(chapters.SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells)
    for label in LABELS:
        i = answer_cell(nb, label)
        variable = exercises.get(label).variable
        assert f"{variable} = " in nb.cells[i].source and "# your answer:" in nb.cells[i].source
        assert nb.cells[i + 1].source == f'check("{label}", {variable})'
        assert "### Exercise" in nb.cells[i - 1].source
    assert nb.cells[-1].source == f'print(score("{CHAPTER}"))'
    statement = nb.cells[answer_cell(nb, "ex-joint-average") - 1].source
    assert "Check `prop-joint-average` on the previous exercise" in statement  # MyST roles made plain


def test_the_real_chapters_student_notebooks(tmp_path, capsys):
    assert main(["student-notebooks", str(tmp_path), "--root", str(ROOT)]) == 0
    assert f"{len(chapters.toc_notebooks(ROOT))} student notebooks" in capsys.readouterr().out
    checks = [c.source for p in tmp_path.glob("*.ipynb") for c in nbformat.read(p, as_version=4).cells
              if c.source.startswith("check(")]
    assert len(checks) == len(exercises.labels(checked_only=True))
    nb = nbformat.read(tmp_path / "resistance.ipynb", as_version=4)
    assert sum("*Open question, not checked" in c.source for c in nb.cells) == 2
    nb = nbformat.read(tmp_path / "rebound.ipynb", as_version=4)  # a partly open exercise says what is not checked
    i = answer_cell(nb, "ex-rebound-saturation")
    assert nb.cells[i + 2].source.startswith("*Not checked: why the paper's evaluation on held-out prompts")


def test_grade_three_submissions(tmp_path):
    root = course(tmp_path)
    key = handout(root, tmp_path / "key", "--answers")
    blank = handout(root, tmp_path / "handout")
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(key, subs / "alice.ipynb")                    # the solutions
    for label, source in WRONG.items():                          # a known mistake in every answer
        blank.cells[answer_cell(blank, label)].source = source
    nbformat.write(blank, subs / "bob.ipynb")
    raising = answer_cell(key, "ex-joint-average")               # stops at the second answer
    key.cells[raising].source = "ex_joint_average = 1 / 0"
    nbformat.write(key, subs / "carol.ipynb")

    out = tmp_path / "graded"
    assert main(["grade", str(subs), "--out", str(out), "--timeout", "300", "--root", str(root)]) == 0
    rows = list(csv.reader((out / "grades.csv").open()))
    stopped = "not checked: the notebook stopped before this check"
    assert rows == [
        ["exercise", "alice", "bob", "carol"],
        [f"{CHAPTER} (notebook)", "ran", "ran", f"error in cell {raising + 1}: ZeroDivisionError: division by zero"],
        ["ex-joint-two-leaves", "ok", "Not yet. 'CE1': CE is counted in bits: use log base 2", "ok"],
        ["ex-joint-average", "ok", "Not yet. 'weighted_sum': weight each CE_i by w_i = |D_i| / |D|: "
                                   "w_1 = k/(k + 1), w_2 = 1/(k + 1)", stopped],
        ["ex-joint-acl-sign", "ok", "Not yet. 'direction': M does not change, so γ = log2 M - CE_i moves "
                                    "against CE_i", stopped],
        ["score", "3/3", "0/3", "1/3"],
    ]
    assert (out / "carol" / f"{CHAPTER}.ipynb").exists()  # the executed copy, with the error in it


def test_a_notebook_past_its_time_is_killed_and_reported(tmp_path):
    root = course(tmp_path)
    nb = handout(root, tmp_path / "handout")
    nb.cells.insert(0, nbformat.v4.new_code_cell(  # first, so that it starts well within the limit
        "import os\nimport time\n\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)"))
    subs = tmp_path / "submissions" / "dave"
    subs.mkdir(parents=True)
    nbformat.write(nb, subs / f"{CHAPTER}.ipynb")
    out = tmp_path / "graded"
    assert main(["grade", str(subs.parent), "--out", str(out), "--timeout", "8", "--root", str(root)]) == 0
    rows = list(csv.reader((out / "grades.csv").open()))
    assert rows[1] == [f"{CHAPTER} (notebook)", "timed out after 8 s"]
    assert rows[2] == [LABELS[0], "not checked: the notebook stopped before this check"]
    assert rows[-1] == ["score", "0/3"]
    pid = int((out / "dave" / CHAPTER / "kernel.pid").read_text())
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:  # the kernel exits when papermill is killed
        time.sleep(0.5)
    assert not alive(pid)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_submissions_that_cannot_be_graded_are_reported_and_the_others_graded(tmp_path):
    root = course(tmp_path)
    key = handout(root, tmp_path / "key", "--answers")
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / "zed.ipynb").write_text("this is not a notebook\n{")
    stripped = copy.deepcopy(key)
    del stripped.metadata["elastic"]
    nbformat.write(stripped, subs / "yan.ipynb")
    two_leaves = answer_cell(key, LABELS[0])                     # the student's code raises on two lines
    key.cells[two_leaves].source += ("\n\ndef ce1(k):\n    raise ValueError('no closed form yet\\nstill working')"
                                     "\n\n\nex_joint_two_leaves['CE1'] = ce1")
    nbformat.write(key, subs / "xia.ipynb")

    out = tmp_path / "graded"
    assert main(["grade", str(subs), "--out", str(out), "--timeout", "300", "--root", str(root)]) == 0
    rows = list(csv.reader((out / "grades.csv").open()))
    assert rows[0] == ["exercise", "xia", "yan", "zed"]
    assert rows[1][:3] == [grading.NOT_GRADED, "", "not graded: yan.ipynb has no 'elastic.chapter' in its "
                           "metadata; hand out notebooks written by `python -m elastic student-notebooks`"]
    assert rows[1][3].startswith("unreadable: zed.ipynb is not a notebook (NotJSONError: ")
    assert rows[2] == [f"{CHAPTER} (notebook)", "ran", "not submitted", "not submitted"]
    assert rows[3][0] == LABELS[0] and "(ValueError: no closed form yet still working)" in rows[3][1]
    assert all("\n" not in c for row in rows for c in row)
    assert rows[-1] == ["score", f"{len(LABELS) - 1}/{len(LABELS)}", f"0/{len(LABELS)}", f"0/{len(LABELS)}"]


def test_bad_submission_folders_are_one_line_errors(tmp_path, capsys):
    subs = tmp_path / "submissions"
    subs.mkdir()
    assert main(["grade", str(subs), "--root", str(ROOT)]) == 2
    assert "no notebooks in" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "nosuch"), "--root", str(ROOT)]) == 2
    assert "no folder" in capsys.readouterr().err
