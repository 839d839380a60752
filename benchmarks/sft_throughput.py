"""Benchmark (not a test) of ``elastic.models`` and ``elastic.train``. Run
``python benchmarks/sft_throughput.py [--texts N] [--threads T] [--no-smollm2]``; prints

1. SmolLM2 load time: the GGUF conversion (into an empty temporary cache) and a load from the cache;
2. SFT throughput in trained tokens per second of wall time (the whole ``sft`` call: tokenizing,
   training, saving) for the tiny smoke model and for SmolLM2-135M with LoRA (cpu preset args),
   and per second of this process's CPU time, which is what to compare on a machine shared with
   other jobs (there, more torch threads than free cores mostly spin: keep ``--threads 1``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from elastic import config, models, train


def texts(n: int) -> list[str]:
    subjects = ["The film", "This movie", "The plot", "The acting", "The soundtrack", "The ending"]
    verbs = ["was", "felt", "seemed", "turned out"]
    adjectives = ["wonderful and moving", "dull and far too long", "surprisingly clever", "a mess"]
    return [f"{subjects[i % 6]} {verbs[i % 4]} {adjectives[i % 4]}, and I would watch it again {i} times."
            for i in range(n)]


def throughput(name, model, tokenizer, data, args) -> None:
    n_tokens = sum(len(tokenizer(t)["input_ids"]) + 1 for t in data)  # +1: the EOS trl appends
    with tempfile.TemporaryDirectory() as out:
        start, cpu = time.perf_counter(), time.process_time()
        train.sft(model, tokenizer, data, output_dir=out, args={**args, "disable_tqdm": True, "logging_steps": 100})
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{name}: {n_tokens} tokens in {wall:.1f} s wall ({n_tokens / wall:.0f} tokens/s), "
          f"{cpu:.1f} s CPU ({n_tokens / cpu:.0f} tokens/CPU-s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-smollm2", action="store_true")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    print(f"torch threads: {opts.threads}; load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    data = texts(opts.texts)
    tok = models.byte_tokenizer()
    throughput("tiny model (byte tokenizer)", models.tiny_model(tok), tok, data, config.trainer_args("smoke"))
    if opts.no_smollm2:
        return
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ELASTIC_CACHE"] = cache
        start = time.perf_counter()
        models.load_model("smollm2", device="cpu")
        print(f"smollm2 first load (GGUF conversion + cache write): {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        model, tokenizer = models.load_model("smollm2", device="cpu")
        print(f"smollm2 load from the safetensors cache: {time.perf_counter() - start:.1f} s")
    throughput("SmolLM2-135M + LoRA r=8", models.add_lora(model), tokenizer, data, config.trainer_args("cpu"))


if __name__ == "__main__":
    main()
