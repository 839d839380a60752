import json
import os

import numpy as np
import pytest

from elastic import experiments, results
from elastic.errors import ElasticError

PROVENANCE = {"git_sha", "parameters", "seed", "wall_time_s", "created", "python", "platform", "packages"}


def test_save_writes_json_with_provenance(results_tmp):
    cfg = experiments.load_config("token_tree", "smoke", seed=4)
    record = results.save("demo", cfg, {"x": np.float64(1.5), "a": np.arange(3), "t": (1, 2)}, 2.0)
    on_disk = json.loads((results_tmp / "smoke" / "demo.json").read_text())
    assert on_disk == record == results.load("demo", "smoke")
    assert on_disk["data"] == {"x": 1.5, "a": [0, 1, 2], "t": [1, 2]}
    assert PROVENANCE <= set(on_disk["provenance"])
    assert on_disk["provenance"]["seed"] == 4
    assert on_disk["provenance"]["parameters"]["n_sequences"] == cfg.n_sequences
    assert on_disk["provenance"]["packages"]["numpy"] == np.__version__


def test_atomic_write_leaves_no_temporary_files(results_tmp):
    target = results_tmp / "x" / "f.json"
    results.atomic_write_text(target, "one")
    results.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["f.json"]


def test_interrupted_write_keeps_old_file(results_tmp, monkeypatch):
    target = results_tmp / "f.json"
    results.atomic_write_text(target, "old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        results.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(results_tmp) == ["f.json"]


def test_full_disk_is_one_line_error(results_tmp, monkeypatch):
    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ElasticError, match="No space left on device.*free space"):
        results.atomic_write_text(results_tmp / "f.json", "data")
    assert os.listdir(results_tmp) == []


def test_missing_results_name_the_command(results_tmp):
    with pytest.raises(ElasticError, match="regenerate --preset smoke --only nothing"):
        results.load("nothing", "smoke")


def test_unwritable_results_directory(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ELASTIC_RESULTS", str(blocker))
    with pytest.raises(ElasticError, match="set ELASTIC_RESULTS to a writable directory"):
        results.save("demo", experiments.load_config("token_tree", "smoke"), {}, 0.0)


def test_nonfinite_numbers_stay_valid_json():
    assert json.loads(json.dumps(results.to_jsonable({"a": float("nan"), "b": np.inf}))) == {"a": "nan", "b": "inf"}


def test_atomic_directory_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "stage"
    with pytest.raises(RuntimeError):
        with results.atomic_directory(target, marker="done") as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("killed mid-write")
    assert os.listdir(tmp_path) == []
    with results.atomic_directory(target, marker="done") as tmp:
        (tmp / "done").write_text("first")
    with results.atomic_directory(target, marker="done") as tmp:  # a racing second writer
        (tmp / "done").write_text("second")
    assert (target / "done").read_text() == "first" and os.listdir(tmp_path) == ["stage"]
