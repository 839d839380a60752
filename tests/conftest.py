import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# The Makefile installs the virtualenv without bytecode: this process, and the kernels and
# subprocesses it starts, write it at first import, or each of them would compile what it imports
# again (seconds of CPU each) wherever PYTHONDONTWRITEBYTECODE is set.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def fresh_redirects(monkeypatch):
    """``notebook.configure`` redirects a preset's results for the rest of its process (a kernel);
    a test is not a kernel, so each starts and ends with none."""
    from elastic import results

    monkeypatch.setattr(results, "_REDIRECTS", {})


@pytest.fixture
def results_tmp(tmp_path, monkeypatch) -> Path:
    """Send results of library tests to a temporary directory, not the repo's results/."""
    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture(scope="session")
def executed():
    """Each notebook run once per session in the smoke preset (repo results/, as `make test`);
    a failing cell raises and fails the test that asked for it. ``executed.all(names)`` runs those
    not run yet two at a time, as ``make book`` does (:func:`elastic.cli.run_in_parallel`: one
    kernel per core, each with one thread), and fails on the first chapter that failed."""
    from elastic import book, chapters, cli

    done = {}

    def run(name):
        if name not in done:
            with pytest.MonkeyPatch.context() as patch:
                patch.delenv("ELASTIC_RESULTS", raising=False)
                done[name] = book.execute(ROOT, name, "smoke", progress=False)
        return done[name]

    def run_all(names):
        todo = [name for name in names if name not in done]
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("ELASTIC_RESULTS", raising=False)
            failures = cli.run_in_parallel(ROOT, todo, "smoke", jobs=2)
        if failures:
            pytest.fail("; ".join(f"{name}: {error}" for name, error in failures.items()))
        done.update({name: chapters.executed_dir(ROOT, "smoke") / f"{name}.ipynb" for name in todo})

    run.all = run_all
    return run


#: Where the session's smoke book is built (kept after the tests, to look at).
BOOK_OUTPUT = ROOT / "_build" / "test-book"


@pytest.fixture(scope="session")
def built_book(executed) -> Path:
    """The book of every chapter executed in smoke, built once per session with warnings as
    errors into ``_build/test-book/_build/html``; tests that read the HTML share it."""
    from elastic import book, chapters

    executed.all(chapters.toc_notebooks(ROOT))
    return book.build(ROOT, "smoke", BOOK_OUTPUT)
