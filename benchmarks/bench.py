"""``python -m elastic bench`` (``make bench``): every performance figure of the book in one run,
each next to its baseline, with the ratio and the target, saved to ``results/bench/bench.json``.

1. token tree build + Huffman (:mod:`elastic.tokentree`, :mod:`elastic.coding`) against a naive
   dict trie + heapq Huffman (:mod:`benchmarks.tokentree`), for a binary and a 64-token source,
   and how the cost grows with N;
2. the SFT step through ``elastic.train.sft`` (its lean loop, and trl's Trainer for reference: the
   path every run took before) against a minimal PyTorch loop on the same model, batches, batch size
   and learning rate (:func:`benchmarks.lifecycle.minimal_loop`), for the tiny model and
   SmolLM2-135M + LoRA, and the achieved FLOP/s against this machine's float32 matmul peak (and,
   for scale, its bf16 peak) on the same number of threads;
3. generation, batched against one prompt at a time;
4. per-chapter wall times of the last ``regenerate`` runs (smoke = ``make test``, cpu = ``make
   book``) with the training each chapter's results record (tokens, seconds, FLOPs, threads); each
   fine-tuning chapter at the smoke preset through the lean loop and through trl (after and before);
   and the cost of the smoke rebound grid as the grid grows, through both.

A run has a fixed cost (tokenizing, building a Trainer for trl, saving the model) besides its
steps: the step rate is what the run records as the time of its steps (inside ``Trainer.train`` for
trl), and the lean call's whole rate is reported beside it. The threads (by default what a chapter
of ``make book`` gets: ``make book`` runs two chapters at a time, each on half the cores) and the
load average at the start and the end are recorded with the figures, since the machine may be
shared.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import torch

from elastic import results
from elastic.config import ExperimentConfig


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    preset: str = "bench"                     #: results go to results/bench/bench.json
    threads: int = 0                          #: torch threads (0: a chapter's share in make book, cores // 2)
    tree_sizes: tuple[int, ...] = (10**5, 10**6, 10**7)
    naive_max: int = 10**6                    #: largest N the naive trie is run at
    tree_repeats: int = 3                     #: runs of each side of the tree benchmark; the best counts
    matmul_n: int = 1024                      #: the peak is an n x n float32 matmul
    sft_steps: tuple[int, ...] = (128, 4)     #: steps per run: tiny model (~25 ms each), SmolLM2 (~6 s)
    sft_length: int = 64                      #: texts cut to this many tokens (the preset's max_length aside)
    sft_batch: int = 8
    sft_rounds: int = 3                       #: runs of each side, rotating which goes first
    smollm2: bool = True                      #: also SmolLM2-135M + LoRA (sft and generation)
    gen_prompts: int = 8
    gen_tokens: int = 16
    rebound_grids: tuple[tuple[int, ...], ...] = ((4,), (4, 8), (4, 8, 16))  #: negative sizes
    before_after: bool = True                 #: the fine-tuning chapters at smoke through both training paths


#: Tiny sizes that run every code path in seconds (tests/test_hardening.py).
SMOKE = dict(tree_sizes=(1000, 4000), naive_max=4000, tree_repeats=1, matmul_n=128, sft_steps=(2, 1), sft_batch=2, sft_rounds=1,
             smollm2=False, gen_prompts=2, gen_tokens=2, rebound_grids=((4,),), before_after=False)

#: The threads each chapter of ``make book`` runs on (``regenerate --jobs 2``, see
#: :func:`elastic.cli.run_in_parallel`): the SFT figures and the peak they are compared with use it.
BOOK_THREADS = max(1, (os.cpu_count() or 1) // 2)

#: Targets: token tree speed-up over the naive trie; elastic.train's step rate over the minimal
#: loop, and the SmolLM2 + LoRA step's share of the float32 matmul peak.
TARGETS = {"tree": 50.0, "sft": 0.95, "peak": 0.6}


# --- 1. token tree ---------------------------------------------------------------------------------

def tree_bench(cfg: Config) -> dict:
    from benchmarks.tokentree import SOURCES, loglog_slope, measure

    out = {}
    for source in SOURCES:
        rows = [measure(source, n, cfg.naive_max, cfg.tree_repeats, cfg.seed) for n in cfg.tree_sizes]
        out[source] = {"rows": rows, "loglog_slope": loglog_slope(rows)}
    return out


# --- 2. SFT step -----------------------------------------------------------------------------------

def matmul_peak(n: int, repeats: int = 5, dtype=torch.float32) -> float:
    """Best FLOP/s of an n x n matmul (2 n^3 operations) over ``repeats`` runs at each of n/4, n/2
    and n: the ceiling a training step in that dtype is compared with."""
    best = 0.0
    for size in (n // 4, n // 2, n):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        torch.matmul(a, b)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            torch.matmul(a, b)
            best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def peaks_by_threads(n: int) -> dict:
    """The float32 matmul peak at 1 thread and at every core: what a chapter that ran on that
    many threads is compared with."""
    threads = torch.get_num_threads()
    try:
        out = {}
        for count in sorted({1, os.cpu_count()}):
            torch.set_num_threads(count)
            out[count] = matmul_peak(n)
        return out
    finally:
        torch.set_num_threads(threads)


def _minimal_seconds(make_model, batches, lr, pad_id) -> float:
    from benchmarks.lifecycle import minimal_loop

    model = make_model()
    start = time.perf_counter()
    minimal_loop(model, batches, lr, pad_id)
    return time.perf_counter() - start


def _sft_seconds(make_model, tokenizer, texts, args) -> tuple[float, float]:
    """(seconds of the steps, seconds of the whole call) of one ``elastic.train.sft``: the first is
    what the run records in its ``run.json`` (the lean loop's steps, or the time inside
    ``Trainer.train`` for trl), the second adds the set-up, the tokenizing and the saving."""
    import json
    from pathlib import Path

    from elastic import train

    model = make_model()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        train.sft(model, tokenizer, texts, output_dir=out, args=args)
        whole = time.perf_counter() - start
        return json.loads((Path(out) / "run.json").read_text())["seconds"], whole


def sft_bench(label, make_model, tokenizer, cfg: Config, k: int, preset_args: dict, lora: bool,
              bf16: bool = False) -> dict:
    """k steps of batch ``cfg.sft_batch`` through ``elastic.train.sft`` (the lean loop, and trl for
    reference) and through the minimal loop, in ``cfg.sft_rounds`` rounds that rotate which goes
    first; the best round of each counts (the least disturbed by other processes on a shared
    machine). All three see the same batches: the texts in order (``train_sampling_strategy:
    sequential``), padded for the minimal loop. The FLOP/s are the model's FLOPs per predicted token
    times the predicted tokens per second: what a padded batch spends on padding is not counted."""
    from elastic import data, train

    bs = cfg.sft_batch
    texts = data.reviews(k * bs, "positive", cfg.seed)  # what the rebound chapters train on
    args = {**preset_args, "max_length": cfg.sft_length, "per_device_train_batch_size": bs, "gradient_accumulation_steps": 1,
            "num_train_epochs": 1, "disable_tqdm": True, "logging_steps": 10**6, "save_strategy": "no",
            "train_sampling_strategy": "sequential"}
    ids, labels = train.Examples.of(tokenizer, texts).truncated(args["max_length"])
    padded = train.Padded(ids, labels, tokenizer.pad_token_id)
    batches = [padded.take(range(i, min(i + bs, len(ids))))["input_ids"] for i in range(0, len(ids), bs)]
    tokens = sum(int((b != tokenizer.pad_token_id).sum()) - len(b) for b in batches)  # predicted tokens
    # bf16 autocast (mixed precision, as accelerate does it) beside float32 when ``bf16``: where the
    # CPU's bf16 matmul peak is above its float32 one (measured, not assumed; without bf16
    # instructions a bf16 step ran tens of times slower and took most of the bench)
    # the lean loop as the preset runs it, and padded where the preset packs (the minimal loop pads:
    # "lean_padded" against it is the loop's own overhead, "lean" adds what packing saves)
    backends = {"lean": {"backend": "lean"}, "trl": {"backend": "trl", "padding_free": False},
                "lean_padded": {"backend": "lean", "padding_free": False}, "lean_bf16": {"backend": "lean", "bf16": True}}
    sides = ["lean", "minimal", "trl", *(["lean_padded"] if args.get("padding_free") else []),
             *(["lean_bf16"] if bf16 else [])]
    seconds = {side: [] for side in sides} | {"lean_whole_call": []}
    for r in range(cfg.sft_rounds):
        for side in sides[r % len(sides):] + sides[:r % len(sides)]:
            if side == "minimal":
                seconds["minimal"].append(_minimal_seconds(make_model, batches, args["learning_rate"],
                                                           tokenizer.pad_token_id))
                continue
            steps_s, whole_s = _sft_seconds(make_model, tokenizer, texts, {**args, **backends[side]})
            seconds[side].append(steps_s)
            if side == "lean":
                seconds["lean_whole_call"].append(whole_s)
    n_params = sum(p.numel() for p in make_model().parameters())
    rate = {side: tokens / min(s) for side, s in seconds.items()}
    # 6 N per token for a full step; with LoRA the frozen weights get no weight gradient: 4 N
    flops_per_token = (4 if lora else 6) * n_params
    return {"label": label, "params": n_params, "steps": k, "batch": bs, "tokens": tokens,
            "seconds": seconds, **{f"{side}_tokens_per_s": r for side, r in rate.items()},
            "ratio": rate["lean"] / rate["minimal"], "trl_ratio": rate["trl"] / rate["minimal"],
            **({"padded_ratio": rate["lean_padded"] / rate["minimal"]} if "lean_padded" in rate else {}),
            "padding_free": bool(args.get("padding_free")), "flops_per_token": flops_per_token,
            **{f"{side}_flops": flops_per_token * rate[side] for side in sides}}


# --- 3. generation ---------------------------------------------------------------------------------

def generation_bench(label, model, tokenizer, cfg: Config) -> dict:
    from elastic.models import generate

    prompts = [f"Review {i}: the film was" for i in range(cfg.gen_prompts)]
    settings = dict(max_new_tokens=cfg.gen_tokens, min_new_tokens=cfg.gen_tokens, do_sample=False)
    seconds = {}
    for name, batch_size in (("batched", cfg.gen_prompts), ("one_at_a_time", 1)):
        start = time.perf_counter()
        generate(model, tokenizer, prompts, batch_size=batch_size, **settings)
        seconds[name] = time.perf_counter() - start
    n = cfg.gen_prompts * cfg.gen_tokens
    return {"label": label, "prompts": cfg.gen_prompts, "new_tokens": cfg.gen_tokens,
            "batched_tokens_per_s": n / seconds["batched"],
            "one_at_a_time_tokens_per_s": n / seconds["one_at_a_time"],
            "ratio": seconds["one_at_a_time"] / seconds["batched"]}


# --- 4. chapters and the rebound grid --------------------------------------------------------------

def chapter_times(root) -> list[dict]:
    """Per preset and chapter, in book order: the duration of its last ``regenerate`` run and the
    training its results record (:class:`elastic.train.Ledger`: steps, tokens, seconds, FLOPs)."""
    from elastic import chapters, results

    out = []
    for preset, target in (("smoke", "make test"), ("cpu", "make book")):
        rows = []
        for name in chapters.toc_notebooks(root):
            execution = chapters.read_execution(root, name, preset)
            training = {}
            for used in sorted(chapters.results_used(root, name)) if execution else ():
                if results.path(used, preset).exists():
                    run = results.load(used, preset)["provenance"].get("run", {})
                    training = {k: training.get(k, 0) + v for k, v in run.get("training", {}).items()}
                    training["threads"] = run.get("torch_threads")
            rows.append({"name": name, "seconds": execution and execution["duration_s"],
                         "status": execution and execution["status"],
                         "training": training})
        out.append({"preset": preset, "target": target, "chapters": rows})
    return out


def smoke_run(name: str, backend: str, **overrides) -> dict:
    """One fine-tuning chapter's experiment at the smoke preset, from an empty cache and results
    directory, with its SFT through ``backend``: its seconds and the training its result records."""
    from elastic import experiments, train

    saved = os.environ.get("ELASTIC_RESULTS")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ELASTIC_RESULTS"] = tmp
            cfg = experiments.load_config(name, "smoke", cache_dir=tmp, backend=backend,
                                          padding_free=backend == "lean", **overrides)
            train.ledger.take()  # what the bench trained before is not this run's
            start = time.perf_counter()
            record = experiments.module(name).run(cfg)
            run = record["provenance"]["run"]
            return {"seconds": time.perf_counter() - start,
                    "training": {**run.get("training", {}), "threads": run.get("torch_threads")}}
    finally:
        if saved is None:
            os.environ.pop("ELASTIC_RESULTS", None)
        else:
            os.environ["ELASTIC_RESULTS"] = saved


def chapters_before_after(cfg: Config) -> list[dict]:
    """Each fine-tuning chapter (:data:`elastic.plan.FINE_TUNING`) at the smoke preset through the
    lean loop (after) and through trl's Trainer (before: the path every run took until the lean
    loop), alternating which runs first."""
    from elastic.plan import FINE_TUNING

    rows = []
    for i, name in enumerate(FINE_TUNING if cfg.before_after else ()):
        runs = {backend: smoke_run(name, backend) for backend in (("lean", "trl") if i % 2 == 0 else ("trl", "lean"))}
        rows.append({"name": name, **runs})
    return rows


def rebound_growth(cfg: Config) -> list[dict]:
    """The smoke rebound chapter's seeded grid with more and more negative sizes, from an empty cache,
    through the lean loop and through trl (the path before it), alternating which runs first; its
    cells are the margin cells of every seed."""
    from elastic import experiments
    from elastic.rebound_grid import Grid, n_cells

    rows = []
    for i, negatives in enumerate(cfg.rebound_grids):
        row = {"negative_sizes": list(negatives)}
        for backend in ("lean", "trl") if i % 2 == 0 else ("trl", "lean"):
            row[f"{backend}_seconds"] = smoke_run("rebound", backend, negative_sizes=negatives)["seconds"]
        smoke = experiments.load_config("rebound", "smoke")
        rows.append({**row, "positive_sizes": list(smoke.positive_sizes),
                     "cells": len(smoke.seeds) * n_cells(Grid("reviews", smoke.positive_sizes, negatives)),
                     "seconds": row["lean_seconds"]})
    return rows


def gpu_note() -> str:
    if torch.cuda.is_available():
        return f"a GPU is present ({torch.cuda.get_device_name()}), but this bench measures the CPU only"
    return ("not run here: no GPU on this machine (none is lent to this task). On a GPU machine, "
            "`python benchmarks/sft_throughput.py` trains through elastic.train on the GPU it finds")


# --- the run ---------------------------------------------------------------------------------------

def run(cfg: Config, root=".") -> dict:
    from pathlib import Path

    from tqdm.auto import tqdm

    from elastic import config, models, train

    torch.set_num_threads(cfg.threads or BOOK_THREADS)
    start = time.perf_counter()
    tok = models.byte_tokenizer()

    def tiny():
        return models.tiny_model(tok)

    def smollm2_lora():  # add_lora wraps its model in place: a fresh base for every run
        return models.add_lora(models.load_model("smollm2", device="cpu")[0])

    steps = [("tree", "token tree", lambda: tree_bench(cfg)),
             ("matmul_peak_flops", "matmul peak", lambda: matmul_peak(cfg.matmul_n)),
             ("matmul_peak_bf16_flops", "bf16 matmul peak", lambda: matmul_peak(cfg.matmul_n, dtype=torch.bfloat16)),
             ("matmul_peak_by_threads", "matmul peak per thread count", lambda: peaks_by_threads(cfg.matmul_n)),
             ("sft", "sft tiny", lambda: sft_bench("tiny model (2 layers, d=64)", tiny, tok, cfg,
                                                   cfg.sft_steps[0], config.trainer_args("smoke"), False)),
             ("generation", "generation tiny", lambda: generation_bench("tiny model", tiny(), tok, cfg))]
    if cfg.smollm2:
        stok = models.load_model("smollm2", device="cpu")[1]
        steps += [("sft", "sft smollm2", lambda: sft_bench(
                      "SmolLM2-135M + LoRA r=8", smollm2_lora, stok, cfg, cfg.sft_steps[-1], config.trainer_args("cpu"),
                      True, bf16=data["matmul_peak_bf16_flops"] > data["matmul_peak_flops"])),
                  ("generation", "generation smollm2",
                   lambda: generation_bench("SmolLM2-135M", models.load_model("smollm2", device="cpu")[0], stok, cfg))]
    steps += [("chapters", "chapter times", lambda: chapter_times(Path(root))),
              ("before_after", "chapters before and after", lambda: chapters_before_after(cfg)),
              ("rebound_grid", "rebound grid", lambda: rebound_growth(cfg))]
    data = {"threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg()[0],
            "sft": [], "generation": []}
    with tqdm(steps, desc="bench", unit="figure") as bar:
        for key, name, measure in bar:
            bar.set_postfix_str(name)
            if isinstance(data.get(key), list):
                data[key].append(measure())
            else:
                data[key] = measure()
    data["load_average_end"] = os.getloadavg()[0]
    data["gpu"] = gpu_note()
    data["targets"] = TARGETS
    return results.save("bench", cfg, data, time.perf_counter() - start)
