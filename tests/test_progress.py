"""Quiet progress: the libraries' bars and trl's metric dicts stay silent unless the verbosity flag
(``--verbose`` / ``ELASTIC_VERBOSE=1``) asks for them; an experiment's one bar names its stage."""

import os
import subprocess
import sys

import pytest

from elastic import progress


def test_library_bars_and_metric_dicts_are_silent_by_default(root, tmp_path, capfd, monkeypatch):
    """Both SFT backends, DPO, a save, a load and a generation print no bar ("NN%|", "it/s") and
    no metric dict ('loss')."""
    import runpy

    monkeypatch.setattr(sys, "argv", ["progress_run.py", str(tmp_path)])
    runpy.run_path(str(root / "tests" / "progress_run.py"), run_name="__main__")
    printed = "".join(capfd.readouterr())
    assert "done" in printed and "%|" not in printed and "it/s" not in printed and "'loss'" not in printed, printed[-2000:]


def test_the_verbosity_flag_brings_them_back(root, tmp_path):
    """The same run with the flag set first, as ``--verbose`` does (about 25 s: a fresh process)."""
    env = {k: v for k, v in os.environ.items() if k != progress.VERBOSE and not k.startswith("HF_")}
    done = subprocess.run([sys.executable, str(root / "tests" / "progress_run.py"), str(tmp_path), "--verbose"],
                          env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-2000:]
    printed = done.stdout + done.stderr
    assert "%|" in printed and "it/s" in printed and "'loss'" in printed, printed[-2000:]


def test_the_cli_flag_sets_verbose(monkeypatch, results_tmp):
    from elastic.cli import main

    calls = []
    monkeypatch.setattr(progress, "set_verbose", calls.append)
    assert main(["run", "token_tree", "--preset", "smoke", "--set", "n_sequences=50", "--verbose"]) == 0
    assert main(["run", "token_tree", "--preset", "smoke", "--set", "n_sequences=50"]) == 0
    assert calls == [True]


def test_an_experiment_bar_counts_cells_and_names_the_stage():
    with progress.experiment(3, "demo cells") as bar:
        progress.stage("SFT on 8 texts")
        assert bar.postfix == "SFT on 8 texts" and bar.total == 3
        with progress.experiment(1, "inner") as inner:
            progress.stage("scoring")
            assert inner.postfix == "scoring" and bar.postfix == "SFT on 8 texts"
        progress.stage("generating")
        assert bar.postfix == "generating"
    progress.stage("after the experiment: no bar, no error")


def test_a_failed_experiment_erases_its_bar(capsys):
    """What stderr shows of a failed run is its one-line error, not the bar where it stopped."""
    with pytest.raises(ValueError):
        with progress.experiment(3, "demo cells"):
            progress.stage("SFT on 8 texts")
            raise ValueError("boom")
    err = capsys.readouterr().err
    assert "\n" not in err and err.endswith("\r") and not err.rsplit("\r", 2)[-2].strip()
