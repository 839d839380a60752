"""Hardening (issue 7): SIGKILL during writes, partial checkpoints, bad input and full disks as
one-line errors that name the fix, safe model loading, no credential in any output; and the
benchmark's code path at tiny sizes. (Grid resumption after SIGKILL, pickle refusal, offline hub ids,
full disks and unwritable results directories are tested beside their modules; same seed -> same
bytes for every experiment in test_reliability.)"""

import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import transformers

from elastic import config, data, experiments, models, results, train
from elastic.errors import ElasticError

torch.set_num_threads(1)


#: What the writers below import (tiny_model's Llama classes too). Each writer is a process forked
#: from a server that imported these once (multiprocessing's forkserver), not a fresh interpreter: a
#: SIGKILL ends it all the same, and the kills do not each pay torch's and transformers' imports
#: (about 5 s of CPU).
WRITER_IMPORTS = ["elastic.models", "elastic.stages", "elastic.results", "elastic.experiments",
                  "transformers.models.llama.modeling_llama"]


def _kill_while(script: str, progress, env=None, kills: int = 3, seed: int = 0) -> None:
    """Run ``script`` in a process of its own ``kills`` times, SIGKILLing it at a random moment once
    ``progress()`` has changed since the start of that run (i.e. once it is in its loop of writes)."""
    rng = random.Random(seed)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WRITER_IMPORTS)
    for _ in range(kills):
        before = progress()
        ready = lambda: progress() != before  # noqa: E731
        code = f"import os\nos.environ.update({env or {}!r})\n{script}"
        proc = context.Process(target=exec, args=(code, {"__name__": "__main__"}))
        proc.start()
        deadline = time.monotonic() + 60
        while not ready() and proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        assert proc.is_alive(), "the writer ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL


# --- SIGKILL during writes ------------------------------------------------------------------------

def test_sigkill_during_results_writes_leaves_a_complete_file(tmp_path):
    """A writer saves a ~2 MB results record in a loop and is killed at random moments: the file
    is always one whole record (the old or the new), never a part."""
    target = tmp_path / "results" / "smoke" / "token_tree.json"
    script = ("from elastic import results, experiments\n"
              "cfg = experiments.load_config('token_tree', 'smoke')\n"
              "for i in range(10**6):\n"
              "    results.save('token_tree', cfg, {'i': i, 'values': list(range(200_000))}, 0.0)\n")
    _kill_while(script, lambda: target.exists() and target.stat().st_mtime_ns,
                env={"ELASTIC_RESULTS": str(tmp_path / "results")})
    record = json.loads(target.read_text())
    assert record["data"]["values"] == list(range(200_000)) and record["provenance"]["parameters"]
    # the rerun of the writer completes over whatever the kills left
    rerun = subprocess.run([sys.executable, "-c", script.replace("10**6", "1")],
                           env={**os.environ, "ELASTIC_RESULTS": str(tmp_path / "results")})
    assert rerun.returncode == 0 and json.loads(target.read_text())["data"]["i"] == 0


def test_sigkill_during_stage_checkpoint_writes_leaves_only_complete_stages(tmp_path):
    """The lifecycle's stage store (model.safetensors + record.json per stage) killed while it
    saves: every stage it shows is complete and loads; a rerun adds the missing ones."""
    from safetensors.torch import load_file

    from elastic.stages import StageStore

    store_dir = tmp_path / "stages"
    script = ("import torch\nfrom elastic import models\nfrom elastic.stages import StageStore\n"
              "torch.set_num_threads(1)\n"
              "tok = models.byte_tokenizer(); model = models.tiny_model(tok, n_layer=4, d_model=256)\n"
              f"store = StageStore({str(store_dir)!r})\n"
              "for i in range(10**6):\n"
              "    if store.load_record(f'stage{i}') is None:\n"
              "        store.save(f'stage{i}', {'i': i}, model)\n")
    _kill_while(script, lambda: len(list(store_dir.glob("stage*"))))
    stages = sorted(store_dir.glob("stage*"))
    assert stages, "some stages were finished before the kills"
    reference = {k: v for k, v in models.tiny_model(models.byte_tokenizer(), n_layer=4, d_model=256)
                 .state_dict().items() if k != "lm_head.weight"}
    for stage in stages:
        assert json.loads((stage / "record.json").read_text()) == {"i": int(stage.name[5:])}
        weights = load_file(stage / "model.safetensors")
        assert weights.keys() == reference.keys() and all(torch.equal(weights[k], reference[k]) for k in weights)
    store = StageStore(store_dir)
    assert all(store.load_record(s.name) is not None for s in stages)  # finished work is reused


TEXTS = [f"the cat sat on mat {i}." for i in range(16)]
ARGS = {**config.trainer_args("smoke"), "logging_steps": 100, "disable_tqdm": True}  # 4 steps of 4 texts


class Killed(Exception):
    pass


def test_checkpoint_cut_short_by_a_kill_is_skipped_on_resume(tmp_path, monkeypatch):
    """The Trainer (backend trl) writes checkpoint-N in place, trainer_state.json last. A run that
    died while writing its second checkpoint resumes from the last complete one and ends as an
    uninterrupted run. (The lean loop writes each checkpoint whole or not at all.)"""
    tok = models.byte_tokenizer()
    args = {**ARGS, "backend": "trl", "padding_free": False}
    reference = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "ref", args=args, n_slices=2)
    original_save = transformers.Trainer._save_checkpoint

    def save_then_die(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        raise Killed

    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_die)
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=out, args=args, n_slices=2)
    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", original_save)
    # what a SIGKILL in the middle of the next checkpoint leaves: half a weights file, no state
    partial = out / "checkpoint-4"
    partial.mkdir()
    weights = (out / "checkpoint-2" / "model.safetensors").read_bytes()
    (partial / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    assert train._last_complete_checkpoint(out).endswith("checkpoint-2")
    resumed = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=out, args=args, n_slices=2)
    ref = reference.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in resumed.state_dict().items())


# --- bad input ------------------------------------------------------------------------------------

def _corrupt_checkpoint(tmp_path):
    tok = models.byte_tokenizer()
    path = tmp_path / "corrupt"
    models.tiny_model(tok).save_pretrained(path)
    tok.save_pretrained(path)
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    return lambda: models.load_model(path, device="cpu")


BAD_INPUTS = {
    "unknown preset": (lambda tmp: lambda: experiments.load_config("token_tree", "big"), "valid presets: smoke"),
    "unknown experiment": (lambda tmp: lambda: experiments.load_config("tokentree", "smoke"), "valid experiments: .*token_tree"),
    "unknown parameter": (lambda tmp: lambda: experiments.load_config("token_tree", "smoke", n_seqs=3), "valid parameters: .*n_sequences"),
    "wrong type": (lambda tmp: lambda: experiments.load_config("token_tree", "smoke", n_sequences="many"), "should be of type int"),
    "zero size": (lambda tmp: lambda: experiments.module("token_tree").run(experiments.load_config("token_tree", "smoke", n_sequences=0)),
                  "must be >= 1"),
    "negative size": (lambda tmp: lambda: experiments.module("hookes_law").run(experiments.load_config("hookes_law", "smoke", sizes=(100, -1))),
                      "must be >= 1"),
    "zero dataset volume": (lambda tmp: lambda: experiments.load_config("lifecycle", "smoke", volumes=(0, 800)),
                            "give positive integers"),
    "size above the split": (lambda tmp: lambda: data.sample(list(range(10)), 11, name="test split"),
                             "holds only 10: lower n"),
    "unknown dataset": (lambda tmp: lambda: experiments.module("rebound").run(experiments.load_config("rebound", "smoke", datasets=("imbd",))),
                        "valid two-sided datasets: reviews"),
    "corrupt checkpoint": (_corrupt_checkpoint, "corrupt or partly written; delete it and save"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_fix(case, tmp_path, results_tmp):
    make, message = BAD_INPUTS[case]
    with pytest.raises(ElasticError, match=message) as info:
        make(tmp_path)()
    assert "\n" not in str(info.value)
    assert not results_tmp.exists() or not any(results_tmp.rglob("*.json")), "a failed run wrote no results"


def test_cli_prints_the_error_line_and_keeps_earlier_results(tmp_path, monkeypatch):
    """A bad --only after a finished chapter: exit code 2, one line, the finished results untouched."""
    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path))
    experiments.module("token_tree").run(experiments.load_config("token_tree", "smoke"))
    before = results.path("token_tree", "smoke").read_bytes()
    done = subprocess.run([sys.executable, "-m", "elastic", "regenerate", "--preset", "smoke", "--only", "nope",
                           "--no-build"], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown chapter(s) nope; chapters: token_tree" in done.stderr
    assert results.path("token_tree", "smoke").read_bytes() == before


# --- security -------------------------------------------------------------------------------------

def test_local_models_load_without_remote_code_and_from_safetensors_only(tmp_path, monkeypatch):
    tok = models.byte_tokenizer()
    models.tiny_model(tok).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    calls = []
    for cls in (transformers.AutoConfig, transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        original = cls.from_pretrained.__func__

        def spy(klass, *args, _original=original, _name=cls.__name__, **kwargs):
            calls.append((_name, kwargs))
            return _original(klass, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    models.load_model(tmp_path, device="cpu")
    assert {name for name, _ in calls} == {"AutoConfig", "AutoModelForCausalLM", "AutoTokenizer"}
    assert all(kwargs.get("trust_remote_code") is False for _, kwargs in calls)
    assert all(kwargs.get("use_safetensors") is True for name, kwargs in calls if name == "AutoModelForCausalLM")


FAKE_TOKEN = "hf_" + "Zq7" * 12  # the shape of a Hugging Face token; no real one


def _files_with(text: str, folders) -> list[str]:
    hits = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file() and path.suffix in (".json", ".ipynb", ".md", ".txt", ".csv") \
                    and text in path.read_text(errors="replace"):
                hits.append(str(path))
    return hits


def test_no_credential_reaches_a_notebook_output_or_results_file(tmp_path, root, monkeypatch):
    """A chapter run with tokens in its environment writes them nowhere; nor does any executed
    notebook or results file of the repository hold the environment's own token."""
    import jupytext
    import papermill

    from elastic import book, chapters

    source = tmp_path / "token_tree.ipynb"
    jupytext.write(jupytext.read(chapters.source_path(root, "token_tree")), source)
    real = [os.environ[k] for k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") if os.environ.get(k)]
    # the kernel inherits this process's environment
    for key, value in {"HF_TOKEN": FAKE_TOKEN, "HUGGING_FACE_HUB_TOKEN": FAKE_TOKEN,
                       "ELASTIC_RESULTS": str(tmp_path / "results")}.items():
        monkeypatch.setenv(key, value)
    papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), parameters={"preset": "smoke"},
                               kernel_name=chapters.KERNEL, cwd=str(root), progress_bar=False)
    assert (tmp_path / "results" / "smoke" / "token_tree.json").exists()
    assert _files_with(FAKE_TOKEN, [tmp_path]) == []
    shaped = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
    for folder in (root / "results", root / "_build" / "executed"):
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file() and path.suffix in (".json", ".ipynb"):
                text = path.read_text(errors="replace")
                assert not shaped.search(text) and not any(t in text for t in real), path


# --- the benchmark's code path --------------------------------------------------------------------

def test_bench_runs_at_tiny_sizes_and_renders(tmp_path, monkeypatch, root):
    monkeypatch.syspath_prepend(str(root))
    from benchmarks import bench

    from elastic import report

    monkeypatch.setenv("ELASTIC_RESULTS", str(tmp_path))
    record = bench.run(bench.Config(**bench.SMOKE), root=root)
    assert results.path("bench", "bench").exists() and record["provenance"]["parameters"]["tree_sizes"] == [1000, 4000]
    figures = record["data"]
    # the naive trie agreed at every N for both sources
    assert all("speedup" in r for block in figures["tree"].values() for r in block["rows"])
    assert figures["matmul_peak_flops"] > 0 and figures["sft"][0]["minimal_tokens_per_s"] > 0
    # the smoke rebound grid, 2 seeds x (θ0 + 2 positive amounts x (0 and 1 negative amount))
    assert [r["cells"] for r in figures["rebound_grid"]] == [2 * (1 + 2 * 2)]
    text = report.bench_text(figures)
    for figure in ("token tree + Huffman, binary, N = 4,000", "token tree + Huffman, 64 tokens, N = 4,000", "SFT step, tiny model", "target ≥ 0.95×", "SFT step before (trl), tiny model",
                   "SFT step padded, tiny model", "elastic.train (lean padding-free)",
                   "generation, tiny model", "`make test` chapters (smoke)", "rebound grid", "GPU:"):
        assert figure in text
    assert report.bench_markdown().startswith("| Figure | Ours | Baseline |")


# --- a full disk ----------------------------------------------------------------------------------

def test_full_disk_while_saving_a_stage_is_one_line_and_keeps_finished_stages(tmp_path, monkeypatch):
    import errno

    import safetensors.torch

    from elastic.stages import StageStore

    model = models.tiny_model(models.byte_tokenizer())
    store = StageStore(tmp_path)
    store.save("done", {"i": 0}, model)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(ElasticError, match="No space left on device.*free disk space") as info:
        store.save("next", {"i": 1}, model)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]  # no partial stage, the finished one kept
    assert StageStore(tmp_path).load_record("done") == {"i": 0}


def test_a_full_disk_deep_in_a_library_names_the_fix():
    from elastic import book

    line = book.error_line(OSError(28, "No space left on device"))
    assert "\n" not in line and line.endswith("(free disk space and rerun: finished cells, stages and results are kept)")
