"""Acceptance tests of `python -m elastic regenerate` and `student-notebooks`, on a throwaway
project of tiny notebooks (the real chapters run once, in test_notebooks.py)."""

import json
import os
from pathlib import Path

import nbformat
import pytest

from elastic import chapters
from elastic.cli import main
from elastic.errors import ElasticError

HEADER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""
PARAMETERS = '\n# %% tags=["parameters"]\npreset = "cpu"\n'
WRITE_RESULT = """
# %%
import json
from elastic import results
results.atomic_write_text(results.path("{name}", preset), json.dumps(
    {{"name": "{name}", "preset": preset, "data": {{"value": 1}}, "provenance": {{"parameters": {{"preset": preset}}}}}}))
print(results.load("{name}", preset))
"""


def project(root: Path, notebooks: dict[str, str], uses: dict[str, list[str]] | None = None) -> Path:
    """A project with ``notebooks`` ({name: extra cells}) as the chapters of its _toc.yml; ``uses``
    declares, in a notebook's header, the chapters whose results it reads."""
    (root / "notebooks").mkdir(parents=True)
    for name, extra in notebooks.items():
        header = HEADER
        if uses and name in uses:
            header = header.replace("# jupyter:\n", f"# jupyter:\n#   elastic:\n#     uses: {uses[name]}\n")
        (root / "notebooks" / f"{name}.py").write_text(header + PARAMETERS + WRITE_RESULT.format(name=name) + extra)
    chapters = "".join(f"      - file: notebooks/{name}\n" for name in notebooks)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nparts:\n  - caption: C\n    chapters:\n{chapters}")
    return root


def regenerate(root: Path, *args: str) -> int:
    return main(["regenerate", "--preset", "smoke", "--no-build", "--root", str(root), *args])


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("ELASTIC_RESULTS", raising=False)  # notebooks write results/ in their project
    # a fixed library hash: an edit of elastic/ while the tests run must not re-run these notebooks
    # (it is tested on its own below; --jobs workers, in other processes, still hash the real one)
    monkeypatch.setattr(chapters, "library_hash", lambda: "the library")


def test_second_run_executes_nothing_and_an_edited_notebook_runs_alone(tmp_path, capsys):
    root = project(tmp_path, {"alpha": "", "beta": ""})
    assert regenerate(root) == 0
    out = capsys.readouterr().out
    assert "executed" in out and "alpha" in out and "beta" in out
    first = {n: chapters.read_execution(root, n, "smoke") for n in ("alpha", "beta")}
    for name, record in first.items():
        assert record["status"] == "ok" and record["error"] is None and record["duration_s"] > 0
        assert record["results"] == [f"results/smoke/{name}.json"]
        assert record["key"] == chapters.cache_key(root, name, "smoke")
        assert (root / "_build" / "executed" / "smoke" / f"{name}.ipynb").exists()

    assert regenerate(root) == 0
    out = capsys.readouterr().out
    assert "nothing to execute: all 2 chapters are up to date" in out
    assert "executed" not in out
    assert {n: chapters.read_execution(root, n, "smoke") for n in first} == first

    with open(root / "notebooks" / "beta.py", "a") as source:
        source.write("\n# %%\nprint('edited')\n")
    assert regenerate(root) == 0
    out = capsys.readouterr().out
    assert "up to date, skipped (1): alpha" in out and "beta" in out.split("executed", 1)[1]
    assert chapters.read_execution(root, "alpha", "smoke") == first["alpha"]
    assert chapters.read_execution(root, "beta", "smoke")["started"] >= first["beta"]["started"]
    assert chapters.read_execution(root, "beta", "smoke")["key"] != first["beta"]["key"]

    touched = root / "notebooks" / "alpha.py"  # `touch`: same content, newer modification time
    stamp = touched.stat().st_mtime_ns + 10**9
    os.utime(touched, ns=(stamp, stamp))
    assert regenerate(root) == 0
    out = capsys.readouterr().out
    assert "up to date, skipped (1): beta" in out and "alpha" in out.split("executed", 1)[1]

    assert regenerate(root, "--force", "--only", "alpha") == 0
    assert "alpha" in capsys.readouterr().out
    assert chapters.read_execution(root, "alpha", "smoke")["started"] >= first["alpha"]["started"]


def test_a_failure_is_listed_the_others_run_and_the_partial_notebook_is_kept(tmp_path, capsys):
    failing = "\n# %%\nraise RuntimeError('broken on purpose')\n\n# %%\nprint('never reached')\n"
    root = project(tmp_path, {"broken": failing, "fine": ""})
    assert regenerate(root) == 1
    captured = capsys.readouterr()
    assert "FAILED broken: RuntimeError: broken on purpose" in captured.err
    assert "1 of 2 executed chapters failed" in captured.err
    assert chapters.read_execution(root, "fine", "smoke")["status"] == "ok"
    record = chapters.read_execution(root, "broken", "smoke")
    assert record["status"] == "failed" and record["error"] == "RuntimeError: broken on purpose"
    assert record["results"] == ["results/smoke/broken.json"]  # the cell before the failure ran
    partial = nbformat.read(root / record["notebook"], as_version=4)
    outputs = [o for c in partial.cells for o in c.get("outputs", [])]
    assert any(o.output_type == "error" and o.ename == "RuntimeError" for o in outputs)
    assert not any("never reached" in o.get("text", "") for o in outputs)

    # a failed chapter is never up to date: the next run retries it and skips the others
    assert regenerate(root) == 1
    captured = capsys.readouterr()
    assert "up to date, skipped (1): fine" in captured.out and "FAILED broken" in captured.err


def test_parallel_jobs_respect_dependencies_and_attribute_results(tmp_path, capsys):
    reads_alpha = '\n# %%\nprint(results.load("alpha", preset))\n'
    root = project(tmp_path, {"alpha": "", "beta": "", "gamma": reads_alpha}, uses={"gamma": ["alpha"]})
    assert chapters.dependencies(root, "gamma") == ["alpha"]
    assert chapters.dependencies(root, "alpha") == []
    assert regenerate(root, "--jobs", "2") == 0
    out = capsys.readouterr().out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("executed")] == ["alpha", "beta", "gamma"]
    for name in ("alpha", "beta", "gamma"):
        assert chapters.read_execution(root, name, "smoke")["results"] == [f"results/smoke/{name}.json"]
    # gamma read alpha's results (it fails if it starts before alpha is done)
    assert chapters.read_execution(root, "gamma", "smoke")["status"] == "ok"

    # gamma's key includes alpha's: editing alpha re-runs both
    assert chapters.results_used(root, "gamma") == {"gamma", "alpha"}
    keys = {name: chapters.cache_key(root, name, "smoke") for name in ("alpha", "beta", "gamma")}
    with open(root / "notebooks" / "alpha.py", "a") as source:
        source.write("\n# %%\nprint('edited')\n")
    assert {name for name in keys if chapters.cache_key(root, name, "smoke") != keys[name]} == {"alpha", "gamma"}


def test_cache_key_covers_source_parameters_and_preset(tmp_path):
    root = project(tmp_path, {"alpha": ""})
    key = chapters.cache_key(root, "alpha", "smoke")
    assert key == chapters.cache_key(root, "alpha", "smoke")
    assert key != chapters.cache_key(root, "alpha", "cpu")
    assert key != chapters.cache_key(root, "alpha", "smoke", {"seed": 1})
    assert key != chapters.cache_key(root, "alpha", "smoke", library="another library")


def test_library_hash_covers_python_and_preset_files(tmp_path, monkeypatch):
    monkeypatch.undo()
    monkeypatch.setattr(chapters, "LIBRARY", tmp_path)
    (tmp_path / "presets").mkdir()
    (tmp_path / "module.py").write_text("x = 1\n")
    (tmp_path / "presets" / "smoke.yaml").write_text("a: {}\n")
    first = chapters.library_hash()
    (tmp_path / "module.cpython-311.pyc").write_bytes(b"compiled")
    assert chapters.library_hash() == first
    (tmp_path / "presets" / "smoke.yaml").write_text("a: {n: 1}\n")
    second = chapters.library_hash()
    (tmp_path / "module.py").write_text("x = 2\n")
    assert len({first, second, chapters.library_hash()}) == 3


def test_parallel_chapters_get_their_share_of_the_cores(tmp_path, monkeypatch):
    """With --jobs 2 each kernel starts with cores // 2 threads (torch reads OMP_NUM_THREADS), so two
    chapters do not oversubscribe the machine; the parent's environment is left as it was."""
    import os

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads = ("\n# %%\nimport os, torch\n"
               "results.atomic_write_text(results.path('threads', preset).with_name('threads-{n}.txt'), "
               "f\"{{os.environ.get('OMP_NUM_THREADS')}} {{torch.get_num_threads()}}\")\n")
    root = project(tmp_path, {"alpha": threads.format(n="alpha"), "beta": threads.format(n="beta")})
    assert regenerate(root, "--jobs", "2") == 0
    share = max(1, os.cpu_count() // 2)
    for name in ("alpha", "beta"):
        assert (root / "results" / "smoke" / f"threads-{name}.txt").read_text() == f"{share} {share}"
    assert "OMP_NUM_THREADS" not in os.environ


def test_unknown_chapter_and_bad_jobs_are_one_line_errors(tmp_path, capsys):
    root = project(tmp_path, {"alpha": ""})
    assert regenerate(root, "--only", "nosuch") == 2
    assert "error: unknown chapter(s) nosuch; chapters: alpha" in capsys.readouterr().err
    assert regenerate(root, "--jobs", "0") == 2
    assert "--jobs 0: give at least 1" in capsys.readouterr().err


def test_student_notebooks_strip_solution_cells(tmp_path, capsys):
    solution = '\n# %% tags=["solution"]\nanswer = 42\n\n# %% [markdown] tags=["solution"]\n# Because.\n'
    root = project(tmp_path / "p", {"alpha": "\n# %%\nanswer = None  # your answer\n" + solution})
    out = tmp_path / "students"
    assert main(["student-notebooks", str(out), "--root", str(root)]) == 0
    assert "1 student notebook " in capsys.readouterr().out
    nb = nbformat.read(out / "alpha.ipynb", as_version=4)
    sources = [c.source for c in nb.cells]
    assert "answer = None  # your answer" in sources
    assert not any("42" in s or "Because" in s for s in sources)
    assert not any(chapters.SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert json.loads((out / "alpha.ipynb").read_text())["nbformat"] == 4


def test_a_chapter_may_use_only_earlier_chapters(tmp_path):
    root = project(tmp_path, {"alpha": "", "beta": ""}, uses={"alpha": ["beta"]})
    with pytest.raises(ElasticError, match=r"notebooks/alpha.py uses beta, not earlier chapters of _toc.yml"):
        chapters.dependencies(root, "alpha")


def test_a_log_gets_a_line_per_finished_chapter_and_no_bar(tmp_path, capfd):
    """Printed to a file (a CI log), regenerate draws no bar (each refresh would be a line) and the
    kernels print no log of their own; a chapter's own bar stays in its notebook. What is left: a
    line per finished chapter and the summary, fewer lines than cells. About 10 s (two kernels)."""
    bar = "\n# %%\nfrom tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='cells of an experiment'):\n    pass\n"
    root = project(tmp_path, {"alpha": "", "beta": bar})
    assert regenerate(root) == 0
    out, err = capfd.readouterr()
    lines = (out + err).replace("\r", "\n").splitlines()
    assert lines[:2] == ["done  alpha", "done  beta"], out + err
    assert len(lines) == 4 and all(line.startswith("executed") for line in lines[2:]), out + err
    executed = nbformat.read(root / "_build" / "executed" / "smoke" / "beta.ipynb", as_version=4)
    assert "cells of an experiment" in str(executed.cells[-1].outputs)
