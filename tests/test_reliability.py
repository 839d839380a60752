"""Nothing lost, nothing stale, nothing loaded unsafely (issue 14): a killed chapter re-runs, an
override never replaces the preset's results, a moved cache keeps its runs, pickles are refused,
files follow the umask."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from elastic import chapters, config, experiments, models, progress, results, score, train
from elastic.errors import ElasticError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_regenerate import project  # noqa: E402  a project whose chapters write results files


def test_a_chapter_killed_by_sigkill_runs_again_and_alone(tmp_path, monkeypatch):
    hang = ("\n# %%\nimport os, time\nif os.environ.get('ELASTIC_TEST_HANG'):\n"
            "    open('hanging', 'w').close()\n    time.sleep(60)\n")
    root = project(tmp_path, {"alpha": "", "beta": hang})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("ELASTIC_RESULTS", None)
    regen = [sys.executable, "-m", "elastic", "regenerate", "--preset", "smoke", "--no-build", "--root", str(root)]
    subprocess.run(regen + ["--only", "alpha"], check=True, env=env, capture_output=True, cwd=root)
    child = subprocess.Popen(regen + ["--only", "beta"], env={**env, "ELASTIC_TEST_HANG": "1"}, cwd=root, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 40
    # inside the chapter: its record says running and its kernel is in the hanging cell (the kernel's
    # cwd is the project root), however long the kernel took to start
    while not (root / "hanging").exists() and time.time() < deadline:
        time.sleep(0.1)
    assert (root / "hanging").exists(), "the chapter's kernel never reached its hanging cell"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert chapters.read_execution(root, "beta", "smoke")["status"] == "running"
    key = chapters.cache_key(root, "beta", "smoke")
    assert not chapters.up_to_date(root, "beta", "smoke", key)
    assert chapters.up_to_date(root, "alpha", "smoke", chapters.cache_key(root, "alpha", "smoke"))
    again = subprocess.run(regen, env=env, capture_output=True, text=True, cwd=root)
    assert again.returncode == 0, again.stderr
    assert "skipped (1): alpha" in again.stdout and "executed" in again.stdout
    assert [line.split()[-1] for line in again.stdout.splitlines() if line.startswith("executed")] == ["beta"]
    assert chapters.read_execution(root, "beta", "smoke")["status"] == "ok"
    assert not list(chapters.executed_dir(root, "smoke").glob("*.input.ipynb"))
    assert not list(chapters.executed_dir(root, "smoke").glob(".*.running.ipynb"))


def test_a_chapter_is_stale_once_a_results_file_it_used_is_corrupt_or_another_runs(tmp_path, monkeypatch):
    """Up to date means: an ok record with the key, and every results file it used parses and was
    made in the preset with the chapter's own parameters."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ELASTIC_RESULTS", raising=False)
    root = project(tmp_path, {"alpha": ""})
    key = chapters.cache_key(root, "alpha", "smoke")
    chapters.executed_dir(root, "smoke").mkdir(parents=True)
    (chapters.executed_dir(root, "smoke") / "alpha.ipynb").write_text("{}")
    own = experiments.module("token_tree").run(experiments.load_config("token_tree", "smoke"))
    alpha = root / "results" / "smoke" / "alpha.json"
    alpha.write_text(json.dumps({"preset": "smoke", "provenance": {"parameters": {"preset": "smoke"}}}))
    used = ["results/smoke/alpha.json", "results/smoke/token_tree.json"]
    chapters.execution_path(root, "alpha", "smoke").write_text(json.dumps(
        {"name": "alpha", "preset": "smoke", "key": key, "status": "ok", "parameters": {}, "results": used}))
    assert chapters.up_to_date(root, "alpha", "smoke", key)
    tree = results.path("token_tree", "smoke")
    tree.write_text(tree.read_text().replace('"seed": 0', '"seed": 7'))  # another run of the experiment
    assert not chapters.up_to_date(root, "alpha", "smoke", key)
    tree.write_text(json.dumps(own))
    assert chapters.up_to_date(root, "alpha", "smoke", key)
    alpha.write_text(json.dumps({"preset": "cpu", "provenance": {"parameters": {"preset": "cpu"}}}))
    assert not chapters.up_to_date(root, "alpha", "smoke", key)
    alpha.write_text("{not json")
    assert not chapters.up_to_date(root, "alpha", "smoke", key)


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_results_and_caches_follow_the_umask(umask, file_mode, dir_mode, tmp_path):
    """Results, cells, training runs (safetensors writes 0600), lifecycle stages and conversions."""
    import torch

    from elastic import convert
    from elastic.stages import StageStore

    old = os.umask(umask)
    try:
        target = tmp_path / "r.json"
        target.write_text("{}")
        os.chmod(target, 0o600)  # a replaced file gets the umask's mode, not the old file's
        results.atomic_write_text(target, "{}\n")
        with results.atomic_directory(tmp_path / "stage", marker="done") as tmp:  # mkdtemp makes 0700
            (tmp / "done").write_text("")
        tok = models.byte_tokenizer()
        args = {**config.trainer_args("smoke"), "save_steps": 1, "save_total_limit": 0, "disable_tqdm": True}
        run = tmp_path / "run"
        train.sft(models.tiny_model(tok), tok, [f"the cat sat on mat {i}." for i in range(8)], output_dir=run,
                  args=args, n_slices=2)
        assert list(run.glob("slice-*/model.safetensors")) and list(run.glob("checkpoint-*")) == []
        StageStore(tmp_path / "stages").save("k", {"loss": 1.0}, models.tiny_model(tok))
        pickled = tmp_path / "pickled"
        pickled.mkdir()
        torch.save({"w": torch.zeros(2)}, pickled / "pytorch_model.bin")
        assert convert.convert(str(pickled)) == [pickled / "model.safetensors"]
        written = [target, tmp_path / "stage", run, tmp_path / "stages", pickled / "model.safetensors"]
        for path in [p for top in written for p in [top, *top.rglob("*")] if p.name != "pytorch_model.bin"]:
            assert stat.S_IMODE(path.stat().st_mode) == (dir_mode if path.is_dir() else file_mode), path
    finally:
        os.umask(old)


def test_an_override_run_never_replaces_the_presets_results(tmp_path, monkeypatch, capsys):
    from elastic.cli import main

    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path))
    assert main(["run", "token_tree", "--preset", "smoke"]) == 0
    own = tmp_path / "smoke" / "token_tree.json"
    before = own.read_bytes()
    capsys.readouterr()
    assert main(["run", "token_tree", "--preset", "smoke", "--set", "seed=7"]) == 0
    printed = capsys.readouterr().out
    assert own.read_bytes() == before
    other = results.run_dir("smoke", {"seed": 7}) / "token_tree.json"
    assert str(other) in printed and json.loads(other.read_text())["provenance"]["parameters"]["seed"] == 7
    assert results.run_dir("smoke", {}) == tmp_path / "smoke"


def test_a_papermill_override_run_never_replaces_the_presets_results(tmp_path, monkeypatch):
    import jupytext
    import nbformat

    from elastic.cli import main

    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path / "results"))
    assert main(["run", "token_tree", "--preset", "smoke"]) == 0
    own = tmp_path / "results" / "smoke" / "token_tree.json"
    before = own.read_bytes()
    source, out = tmp_path / "token_tree.ipynb", tmp_path / "out.ipynb"
    jupytext.write(jupytext.read(REPO / "notebooks" / "token_tree.py"), source)
    done = subprocess.run([sys.executable, "-m", "papermill", "-k", "python3", str(source), str(out),
                           "--cwd", str(tmp_path), "-p", "preset", "smoke", "-p", "seed", "7"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert own.read_bytes() == before
    other = results.run_dir("smoke", {"seed": 7}) / "token_tree.json"
    assert json.loads(other.read_text())["provenance"]["parameters"]["seed"] == 7
    printed = "".join(o.get("text", "") for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
    assert f"results -> {other}" in printed


@pytest.fixture
def pickled(tmp_path):
    directory = tmp_path / "pickled"
    directory.mkdir()
    (directory / "config.json").write_text('{"architectures": ["LlamaForScore"]}')
    (directory / "adapter_config.json").write_text("{}")
    (directory / "pytorch_model.bin").write_bytes(b"pickle")
    return directory


def test_every_loader_refuses_pickles(pickled):
    fix = f"convert it once with: python -m elastic convert {pickled}"
    for load in (lambda: models.require_safetensors(pickled),
                 lambda: models._load_adapter(pickled, None),
                 lambda: score.load_cost_model(str(pickled)),
                 lambda: score._classifier(str(pickled), None)):
        with pytest.raises(ElasticError) as info:
            load()
        assert str(info.value).endswith(fix) and "\n" not in str(info.value)


def test_a_copied_cache_reuses_its_runs(tmp_path, monkeypatch):
    import shutil

    import transformers

    tok = models.byte_tokenizer()
    texts = [f"the cat sat on mat {i}." for i in range(16)]
    args = {**config.trainer_args("smoke"), "logging_steps": 100, "disable_tqdm": True}

    def chain(cache: Path):
        """θ0 trained into the cache, then a child trained from θ0 read back from its directory."""
        train.sft(models.tiny_model(tok), tok, texts, output_dir=cache / "base", args=args)
        parent = transformers.AutoModelForCausalLM.from_pretrained(cache / "base", use_safetensors=True)
        return train.sft(parent, tok, texts[:8], output_dir=cache / "child", args=args)

    steps = []
    original = train.optimizer_step  # the smoke preset trains with the lean loop
    monkeypatch.setattr(train, "optimizer_step", lambda *a, **k: steps.append(1) or original(*a, **k))
    chain(tmp_path / "a")
    assert len(steps) == 4 + 2  # 16 texts and 8 texts, 4 per step
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    steps.clear()
    chain(tmp_path / "elsewhere" / "b")
    assert steps == []  # zero retraining: the copied runs are keyed by content, not by path
    assert not list((tmp_path / "elsewhere").glob("b/*.set-aside-*"))


def test_a_moved_alignment_cache_and_source_retrain_nothing(tmp_path, monkeypatch):
    """A grid's cache and its local source, both copied elsewhere (the source under another name):
    zero training steps and zero new cells, since the keys hold the source's content, not its path."""
    import csv
    import shutil

    from elastic import data
    from elastic.experiments import rebound

    first = tmp_path / "first"
    first.mkdir()
    with open(first / "reviews.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *((t, 1) for t in data.reviews(8, "positive", 1)),
                                      *((t, 0) for t in data.reviews(8, "negative", 1))])
    grid = {"datasets": ("imdb",), "models": ("tiny-1x16@40",), "positive_sizes": (4,), "negative_sizes": (4,),
            "n_pairs": 2, "n_eval": 2, "max_new_tokens": 4, "max_length": 32}
    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path / "results"))
    steps = []
    original = train.optimizer_step  # the smoke preset trains with the lean loop
    monkeypatch.setattr(train, "optimizer_step", lambda *a, **k: steps.append(1) or original(*a, **k))
    made = rebound.run(experiments.load_config("rebound", "smoke", cache_dir=str(first / "cache"),
                                   source=str(first / "reviews.csv"), **grid))
    assert steps  # θ0 and two stages trained
    moved = tmp_path / "elsewhere" / "moved"
    shutil.copytree(first, moved)
    (moved / "reviews.csv").rename(moved / "copy.csv")
    log = moved / "cache" / "smoke" / "executed.log"
    computed = log.read_text()
    steps.clear()
    again = rebound.run(experiments.load_config("rebound", "smoke", cache_dir=str(moved / "cache"),
                                    source=str(moved / "copy.csv"), **grid))
    assert steps == [] and log.read_text() == computed
    assert again["data"] == made["data"]


def test_a_local_file_is_keyed_by_its_content(tmp_path):
    from elastic.cache import source_key

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "train.csv").write_text("text,label\ngreat,1\n")
    copy = tmp_path / "b" / "renamed.csv"
    copy.parent.mkdir()
    copy.write_text("text,label\ngreat,1\n")
    assert source_key(str(tmp_path / "a" / "train.csv")) == source_key(str(copy)) != str(copy)
    copy.write_text("text,label\ngreat,0\n")  # the same size, another label: a new key, not a stale entry
    assert source_key(str(copy)) != source_key(str(tmp_path / "a" / "train.csv"))
    assert source_key(str(tmp_path / "a")) != source_key(str(tmp_path / "b"))  # directories by names and bytes
    assert source_key("stanfordnlp/imdb") == "stanfordnlp/imdb" and source_key(None) is None
    with pytest.raises(ElasticError, match=f"no file or directory {tmp_path}/gone.csv: check the path"):
        source_key(str(tmp_path / "gone.csv"))  # a key of the path itself would cache what it never read


#: Bad runs of `python -m elastic run <experiment> --preset smoke --set ...`: (experiment, the
#: --set values, where {data} is a directory of bad files (see bad_data), the error's pattern).
BAD_RUNS = {
    "malformed YAML": ("rebound", ["positive_sizes=[1,"], "not valid YAML"),
    "empty sizes": ("rebound", ["positive_sizes=[]"], "give at least one value"),
    "empty model list": ("compression_prediction", ["models=[]"], "give at least one value"),
    "NaN epochs": ("rebound", ["num_train_epochs=.nan"], "give a finite number"),
    "zero epochs": ("rebound", ["num_train_epochs=0"], "epochs must be > 0"),
    "negative epochs": ("rebound", ["num_train_epochs=-1"], "epochs must be > 0"),
    "no new tokens": ("rebound", ["max_new_tokens=0"], "must be >= 1"),
    "zero length": ("rebound", ["max_length=0"], "must be >= 1"),
    "negative threads": ("rebound", ["num_threads=-3"], "0 \\(torch's default\\) or more"),
    "no layers": ("rebound", ["models=[tiny-0x32]"], r"model spec 'tiny-0x32': give at least 1 layer"),
    "width not a multiple of the heads": ("scaling", ["size_models=[tiny-1x30, tiny-1x32]"], "positive multiple of 4"),
    "no pre-training texts": ("ablations", ["dpo_models=[tiny@0]"], "at least 1 layer and 1 pre-training text"),
    "tiny spec that does not parse": ("resistance", ["models=[tiny-2by64]"], "does not parse: use tiny, tiny-"),
    "empty CSV": ("rebound", ["datasets=[imdb]", "source={data}/empty.csv"], r"empty.csv is empty: pass source="),
    "blank CSV": ("rebound", ["datasets=[imdb]", "source={data}/blank.csv"],
                  r"cannot read \S+blank.csv as a table \(EmptyDataError\): pass source="),
    "garbage CSV": ("rebound", ["datasets=[imdb]", "source={data}/garbage.csv"],
                    r"cannot read \S+garbage.csv as a table \(UnicodeDecodeError\): pass source="),
    "CSV without rows": ("rebound", ["datasets=[imdb]", "source={data}/header.csv"], r"header.csv holds no rows: pass source="),
    "CSV too small": ("rebound", ["datasets=[imdb]", "source={data}/small.csv"], "holds only 1: lower n"),
    "string labels": ("rebound", ["datasets=[imdb]", "source={data}/labels.csv"],
                      r"label 'pos' in column label is none of positive, negative: write those"),
    "label neither 0 nor 1": ("rebound", ["datasets=[imdb]", "source={data}/label2.csv"], "label 2 in column label is none of"),
    "missing source": ("rebound", ["datasets=[imdb]", "source={data}/missing.csv"], "no file or directory .*missing.csv"),
    "empty directory as source": ("rebound", ["datasets=[imdb]", "source={data}/folder"],
                                  r"could not load dataset .*folder' \(EmptyDatasetError\): pass source="),
    "directory of garbage as source": ("resistance", ["datasets=[alpaca]", "source={data}/mixed"],
                                       r"cannot read \S+mixed as a table \(UnicodeDecodeError\)"),
    "directory as model": ("rebound", ["models=[tiny-1x32@200, {data}/folder]"],
                           "folder has no config.json: pass a directory written by save_pretrained"),
    "missing model after a tiny one": ("rebound", ["models=[tiny-1x32@200, {data}/no-such-model]"],
                                       "no-such-model is not a model directory, a .gguf file or a hub id"),
    "missing classifier": ("rebound", ["sentiment_model={data}/no-such-classifier"], "no file or directory .*no-such-classifier"),
    "missing classifier, unused": ("resistance", ["sentiment_model={data}/no-such-classifier"],
                                   r"no file or directory \S+no-such-classifier: .*this run scores no sentiment"),
    "missing cost model, unused": ("rebound", ["cost_model={data}/no-such-cost-model"],
                                   r"no file or directory \S+no-such-cost-model: .*this run scores no safety"),
    **{f"source no dataset of {name} reads": (name, [f"source={{data}}/{csv}"],
                                              rf"source=\S+{csv} is given but no dataset of this run reads it")
       for name, csv in (("rebound", "missing.csv"), ("resistance", "missing.csv"), ("scaling", "small.csv"),
                         ("ablations", "small.csv"))},
    "adapter with pickled weights only": ("rebound", ["models=[tiny-1x32@200, {data}/adapter]"],
                                          r"adapter holds only pickle weights \(adapter_model.bin\).*python -m elastic convert"),
    "pickled classifier": ("rebound", ["sentiment_model={data}/classifier"],
                           r"classifier holds only pickle weights \(pytorch_model.bin\).*python -m elastic convert"),
    "missing GGUF after tiny": ("compression_prediction", ["models=[tiny, {data}/model.gguf]"], r"GGUF file \S+model.gguf not found"),
    "unwritable cache": ("rebound", ["cache_dir={data}/cache-file"],
                         r"cannot write the cache \S+cache-file/smoke \(Not a directory\): pass cache_dir="),
    "unwritable lifecycle cache": ("lifecycle", ["cache_dir={data}/cache-file"],
                                   r"cannot write the cache \S+cache-file/smoke \(Not a directory\): pass cache_dir="),
}


def assert_one_error_line(err: str, pattern: str) -> None:
    """stderr holds one line, the error matching ``pattern``: an experiment's bar, if it was drawn,
    was erased (carriage returns, no newline), so a terminal shows the error alone."""
    import re

    shown = err.rsplit("\r", 1)[-1]
    assert err.count("\n") == 1 and shown.startswith("error: ") and re.search(pattern, shown), err


@pytest.fixture
def bad_data(tmp_path) -> Path:
    data = tmp_path / "data"
    for name, text in {"empty.csv": b"", "blank.csv": b"\n\n", "garbage.csv": bytes(range(128, 256)) * 4, "header.csv": b"text,label\n",
                       "small.csv": b"text,label\ngreat film,1\nawful film,0\n",
                       "labels.csv": b"text,label\ngreat film,pos\nawful film,neg\n",
                       "label2.csv": b"text,label\ngreat film,2\nawful film,0\n",
                       "mixed/a.csv": bytes(range(128, 256)) * 4, "cache-file": b"not a directory\n",
                       "adapter/adapter_config.json": b"{}", "adapter/adapter_model.bin": b"pickle",
                       "classifier/config.json": b"{}", "classifier/pytorch_model.bin": b"pickle"}.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(text)
    (data / "folder").mkdir()
    return data


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_a_bad_run_is_one_line_exit_2_before_any_model_loads_and_changes_nothing(case, bad_data, tmp_path,
                                                                                 monkeypatch, capsys):
    """Bad values, sources, models and caches: one line on stderr, exit code 2, nothing written
    (no model trained or cached either: every source and spec is checked before the first loads)
    and nothing changed."""
    from elastic.cli import main

    name, overrides, message = BAD_RUNS[case]
    work = tmp_path / "work"  # the default cache (_build/cache/alignment) lands here
    (work / "results" / "smoke").mkdir(parents=True)
    earlier = work / "results" / "smoke" / f"{name}.json"
    earlier.write_text('{"kept": true}\n')
    monkeypatch.chdir(work)
    monkeypatch.setenv("ELASTIC_RESULTS", str(work / "results"))
    files = {p: p.read_bytes() for p in bad_data.rglob("*") if p.is_file()}
    assert main(["run", name, "--preset", "smoke", "--set", *(o.format(data=bad_data) for o in overrides)]) == 2
    assert_one_error_line(capsys.readouterr().err, message)
    assert [p for p in work.rglob("*") if p.is_file()] == [earlier]
    assert earlier.read_text() == '{"kept": true}\n'
    assert {p: p.read_bytes() for p in bad_data.rglob("*") if p.is_file()} == files


#: A rebound grid small enough to fill an alignment cache in seconds (two seeds, six cells).
SMALL_REBOUND = ["rebound", "--preset", "smoke", "--set", "models=[tiny-1x16@40]", "positive_sizes=[4]",
                 "negative_sizes=[4]", "n_pairs=2", "n_eval=2", "max_new_tokens=4", "max_length=32"]


def _corrupt(pattern: str):
    return lambda work, monkeypatch: [path.write_text("{not json") for path in work.glob(pattern)]


def _preset(edit):
    """A smoke preset edited by ``edit(text)``, read from the work directory instead of the library."""
    def setup(work, monkeypatch):
        (work / "presets").mkdir()
        (work / "presets" / "smoke.yaml").write_text(edit((config.PRESET_DIR / "smoke.yaml").read_text()))
        monkeypatch.setattr(config, "PRESET_DIR", work / "presets")
    return setup


#: Bad runs that fail on a file written before them: (what the setup does to the work directory,
#: whose alignment cache and results a SMALL_REBOUND run has filled; the failing run; the error's pattern).
SPOILED_RUNS = {
    "corrupt cells": (_corrupt("_build/cache/alignment/smoke/cells/*.json"), SMALL_REBOUND,
                      r"cells/\w+\.json is corrupt \(JSONDecodeError\): delete it to recompute that entry"),
    "corrupt run records": (_corrupt("_build/cache/alignment/smoke/runs/*/run.json"), SMALL_REBOUND,
                            r"run\.json is not a run record .*: delete that file to retrain \S+"),
    "malformed preset": (_preset(lambda text: text + "broken: [1,\n"), ["token_tree", "--preset", "smoke"],
                         r"smoke\.yaml is not valid YAML at line \d+: fix that line"),
    "section given twice in a preset": (_preset(lambda text: text + "token_tree:\n  seed: 1\n"),
                                        ["token_tree", "--preset", "smoke"],
                                        r"smoke\.yaml: key 'token_tree' appears twice \(line \d+\): remove one"),
    "key given twice in a preset": (_preset(lambda text: text.replace("token_tree:\n", "token_tree:\n  seed: 1\n  seed: 2\n")),
                                    ["token_tree", "--preset", "smoke"],
                                    r"smoke\.yaml: key 'seed' appears twice \(line \d+\): remove one"),
}


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A work directory where SMALL_REBOUND has run: its results, and its cache of runs and cells."""
    from elastic.cli import main

    work = tmp_path_factory.mktemp("filled")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        patch.setenv("ELASTIC_RESULTS", str(work / "results"))
        assert main(["run", *SMALL_REBOUND]) == 0
    return work


@pytest.mark.parametrize("case", list(SPOILED_RUNS))
def test_a_run_on_a_spoiled_file_is_one_line_exit_2_and_changes_nothing(case, filled, tmp_path, monkeypatch, capsys):
    """Corrupt cells and run records, malformed presets and keys given twice: through the CLI, one
    line on stderr (no stopped bar, no library warning before it), exit code 2, no file changed."""
    import shutil

    from elastic.cli import main

    setup, run, message = SPOILED_RUNS[case]
    work = tmp_path / "work"
    shutil.copytree(filled, work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("ELASTIC_RESULTS", str(work / "results"))
    setup(work, monkeypatch)
    files = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:  # pytest collects warnings a user would see
        warnings.simplefilter("always")
        progress.quiet_libraries()  # the filters the CLI's import sets, back on top
        assert main(["run", *run]) == 2
    assert_one_error_line(capsys.readouterr().err, message)
    assert [str(w.message) for w in caught] == []
    assert {p: p.read_bytes() for p in work.rglob("*") if p.is_file()} == files


def test_a_key_given_twice_in_a_preset_is_an_error(tmp_path):
    from elastic import config

    path = tmp_path / "p.yaml"
    path.write_text("rebound:\n  seed: 1\nrebound:\n  seed: 2\n")
    with pytest.raises(ElasticError, match=r"p.yaml: key 'rebound' appears twice \(line 3\): remove one"):
        config.read_yaml(path)
    path.write_text("rebound: [1,\n")
    with pytest.raises(ElasticError, match=r"p.yaml is not valid YAML at line \d: fix that line"):
        config.read_yaml(path)


def test_a_corrupt_run_record_names_its_file(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(ElasticError, match=r"run.json is not a run record .*: delete that file to retrain"):
        train._read_run(tmp_path)


def test_a_corrupt_results_file_names_itself_in_one_line(results_tmp):
    target = results.path("rebound", "smoke")
    target.parent.mkdir(parents=True)
    target.write_text('{"data": [1,')
    with pytest.raises(ElasticError, match=r"rebound.json is not valid JSON .*: delete it and rerun rebound") as info:
        results.load("rebound", "smoke")
    assert "\n" not in str(info.value) and str(target) in str(info.value)


#: Provenance that differs between two runs of the same parameters: clocks and cache counters.
RUN_SPECIFIC = ("run", "wall_time_s", "created")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """An empty working directory: the fresh runs' results and caches (relative by default) start
    empty there, and the experiments share the caches as the book's chapters do."""
    return tmp_path_factory.mktemp("fresh")


@pytest.mark.parametrize("name", experiments.names())
def test_a_fresh_run_gives_the_chapters_data_byte_for_byte(name, executed, fresh, monkeypatch):
    """Two runs of every smoke experiment, each in its own process: the chapter's (papermill, shared
    with test_notebooks; fresh on a clean clone, and a stale cached entry would fail here too) and
    a fresh one here. Their ``data`` are byte-identical, and so is all provenance but clocks."""
    executed(name)
    kept = json.loads((REPO / "results" / "smoke" / f"{experiments.results_name(name)}.json").read_text())
    monkeypatch.chdir(fresh)
    monkeypatch.delenv("ELASTIC_RESULTS", raising=False)
    experiments.module(name).run(experiments.load_config(name, "smoke"))
    again = json.loads(results.path(experiments.results_name(name), "smoke").read_text())
    assert json.dumps(again["data"], sort_keys=True) == json.dumps(kept["data"], sort_keys=True)
    for record in (kept, again):
        for key in RUN_SPECIFIC:
            del record["provenance"][key]
    assert again == kept


@pytest.mark.parametrize("content", ["", "{not json", '{"kind": "x"}'])
def test_a_corrupt_cell_names_its_file(tmp_path, content):
    from elastic.lab import Store

    store = Store(tmp_path)
    assert store.cell("drop", {"n": 1}, lambda: 3) == 3
    assert store.cell("drop", {"n": 1}, lambda: pytest.fail("recomputed a stored cell")) == 3
    (cell,) = (tmp_path / "cells").glob("*.json")
    cell.write_text(content)
    with pytest.raises(ElasticError, match=f"{cell} is corrupt .*: delete it to recompute that entry"):
        store.cell("drop", {"n": 1}, lambda: 4)


def test_a_corrupt_stage_record_names_its_file(tmp_path):
    from elastic.stages import StageStore

    store = StageStore(tmp_path)
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "record.json").write_text("")
    with pytest.raises(ElasticError, match="record.json is corrupt .*: delete .* to recompute that stage"):
        store.load_record("k")


@pytest.mark.parametrize("source", ["/no/such/reviews.csv", "data/reviews.jsonl", "./missing"])
def test_a_missing_local_source_is_not_called_a_hub_id(source):
    from elastic.data import hub

    with pytest.raises(ElasticError, match=f"no file or directory {source}: check the path, pass source=x"):
        hub.locate(source, repo_type="dataset", fix="pass source=x")
