"""Generated tables of the back matter: the benchmark figures (``book/performance.md``) and the
run times of each chapter per preset (``book/reproducibility.md``). Staging the book replaces a
marker line of each page with its table, so no figure on these pages is typed by hand."""

from __future__ import annotations

import math
from pathlib import Path

from elastic import chapters, results
from elastic.config import PRESETS
from elastic.prose import count

BENCH_MARKER = "% bench-table"
TIMES_MARKER = "% preset-times-table"


def _si(x: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:.1f} {unit}"


def _target(ratio: float, target: float) -> str:
    if not math.isfinite(ratio):
        return f"target ≥ {target:g}×: not measured"
    return f"target ≥ {target:g}×: {'met' if ratio >= target else 'NOT met'}"


def bench_rows(data: dict) -> list[tuple[str, str, str, str]]:
    """(figure, ours, baseline, ratio and target) for every figure of a bench record's ``data``."""
    rows = []
    targets = data["targets"]
    if "load_average_end" in data:  # a shared machine depresses every absolute figure: say how loaded
        rows.append(("machine", f"{data['threads']} torch thread(s) on {data['cpu_count']} cores",
                     f"load average {data['load_average']:.1f} at the start, {data['load_average_end']:.1f} at the end", ""))
    for source, block in data["tree"].items():
        for r in block["rows"]:
            figure = f"token tree + Huffman, {source}, N = {r['n']:,} ({r['build']})"
            if "naive_s" in r:
                rows.append((figure, f"{r['fast_s']:.3f} s", f"naive trie {r['naive_s']:.3f} s",
                             f"{r['speedup']:.1f}× ({_target(r['speedup'], targets['tree'])})"))
            else:
                rows.append((figure, f"{r['fast_s']:.3f} s", "naive trie not run", ""))
        rows.append((f"token tree cost growth, {source}", f"time ∝ N^{block['loglog_slope']:.2f}", "", "log-log slope"))
    peak = data["matmul_peak_flops"]
    threads = f"{data['threads']} thread{'s' if data['threads'] != 1 else ''}"
    rows.append((f"float32 matmul peak ({threads})", _si(peak, "FLOP/s"), "", ""))
    if "matmul_peak_bf16_flops" in data:
        rows.append((f"bfloat16 matmul peak ({threads})", _si(data["matmul_peak_bf16_flops"], "FLOP/s"), "",
                     f"{data['matmul_peak_bf16_flops'] / peak:.1f}× the float32 peak"))
    for r in data["sft"]:
        r = {k: float(v) if isinstance(v, str) and v in ("nan", "inf") else v for k, v in r.items()}
        packed = " padding-free" if r.get("padding_free") else ""
        rows.append((f"SFT step, {r['label']}", f"elastic.train (lean{packed}) {r['lean_tokens_per_s']:,.0f} tokens/s",
                     f"minimal loop (padded) {r['minimal_tokens_per_s']:,.0f} tokens/s",
                     f"{r['ratio']:.2f}× ({_target(r['ratio'], targets['sft'])})"))
        if "padded_ratio" in r:
            rows.append((f"SFT step padded, {r['label']}", f"elastic.train (lean) {r['lean_padded_tokens_per_s']:,.0f} tokens/s",
                         f"minimal loop (padded) {r['minimal_tokens_per_s']:,.0f} tokens/s",
                         f"{r['padded_ratio']:.2f}× ({_target(r['padded_ratio'], targets['sft'])}): the same work"))
        rows.append((f"SFT step before (trl), {r['label']}", f"trl {r['trl_tokens_per_s']:,.0f} tokens/s",
                     f"minimal loop {r['minimal_tokens_per_s']:,.0f} tokens/s", f"{r['trl_ratio']:.2f}×"))
        if "lean_bf16_tokens_per_s" in r:
            rows.append((f"SFT step in bf16 autocast, {r['label']}", f"{r['lean_bf16_tokens_per_s']:,.0f} tokens/s",
                         f"float32 {r['lean_tokens_per_s']:,.0f} tokens/s",
                         f"{r['lean_bf16_tokens_per_s'] / r['lean_tokens_per_s']:.2f}× (the presets train in float32)"))
        elif "LoRA" in r["label"] and "matmul_peak_bf16_flops" in data:
            rows.append((f"SFT step in bf16 autocast, {r['label']}", "not timed", "",
                         f"the bf16 matmul peak is {data['matmul_peak_bf16_flops'] / peak:.2f}× the float32 one here"))
        rows.append((f"SFT whole call, {r['label']}", f"{r['tokens'] / min(r['seconds']['lean_whole_call']):,.0f} tokens/s",
                     "", "tokenizing and saving included"))
        share, lora = r["lean_flops"] / peak, "LoRA" in r["label"]
        met = "met" if share >= targets["peak"] else "NOT met"
        rows.append((f"SFT FLOP/s, {r['label']}", _si(r["lean_flops"], "FLOP/s"), _si(r["minimal_flops"], "FLOP/s"),
                     f"{share:.1%} of the float32 matmul peak"
                     + (f" (target ≥ {targets['peak']:.0%}: {met})" if lora else "")
                     + (f"; padded {r['lean_padded_flops'] / peak:.1%}" if "lean_padded_flops" in r else "")))
    for r in data["generation"]:
        rows.append((f"generation, {r['label']}, {r['prompts']} prompts", f"batched {r['batched_tokens_per_s']:,.0f} tokens/s",
                     f"one at a time {r['one_at_a_time_tokens_per_s']:,.0f} tokens/s", f"{r['ratio']:.1f}×"))
    for block in data["chapters"]:
        ran = [c for c in block["chapters"] if c["status"]]
        rows.append((f"`{block['target']}` chapters ({block['preset']})", f"{sum(c['seconds'] for c in ran):.1f} s in all",
                     f"{len(ran)} of {len(block['chapters'])} chapters have a record", ""))
        rows.extend((f"  {c['name']} ({block['preset']})", f"{c['seconds']:.1f} s", c["status"],
                     _trained(c.get("training") or {}, data)) for c in ran)
    for r in data.get("before_after", []):
        rows.append((f"{r['name']} (smoke, from an empty cache), lean loop against trl",
                     f"{r['lean']['seconds']:.1f} s; {_trained(r['lean']['training'], data)}",
                     f"trl {r['trl']['seconds']:.1f} s; {_trained(r['trl']['training'], data)}",
                     f"speed-up {r['trl']['seconds'] / r['lean']['seconds']:.1f}× over trl"))
    for r in data["rebound_grid"]:
        before = f"trl {r['trl_seconds']:.1f} s" if "trl_seconds" in r else ""
        ratio = f"{r['trl_seconds'] / r['seconds']:.1f}× faster than trl" if "trl_seconds" in r else ""
        rows.append((f"rebound grid (smoke), {r['cells']} cells", f"lean {r['seconds']:.1f} s "
                     f"({r['seconds'] / r['cells']:.1f} s per cell)", before, ratio))
    return rows


def _trained(t: dict, data: dict) -> str:
    """What a run trained (its :class:`elastic.train.Ledger` counts): tokens, seconds, tokens/s and
    the share of the float32 peak measured at its thread count; its trl runs."""
    chapter_peak = data.get("matmul_peak_by_threads", {}).get(str(t.get("threads")))
    trained = (f"{t['tokens']:,} tokens trained in {t['seconds']:.1f} s ({count(t['threads'], 'thread')}): "
               f"{t['tokens'] / t['seconds']:,.0f} tokens/s" if t.get("seconds") else "")
    if t.get("seconds") and chapter_peak:
        trained += f", {t['flops'] / t['seconds'] / chapter_peak:.0%} of the float32 peak"
    if t.get("trl_runs"):
        trained += f"{'; ' if trained else ''}{t['trl_runs']} trl runs in {t['trl_seconds']:.1f} s"
    return trained


def bench_text(data: dict) -> str:
    """The rows as aligned plain text (what ``python -m elastic bench`` prints)."""
    rows = bench_rows(data)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    return "\n".join([*lines, f"GPU: {data['gpu']}"])


def bench_markdown() -> str:
    """The performance page's table, or, when the book is built without a usable bench record,
    what a reader does to get one (the page is rendered anew from the record at every build)."""
    target = results.path("bench", "bench")
    rebuild = "`make bench` measures them, and the next `make book` shows them here."
    if not target.exists():
        return f"When this book was built, no benchmark had run ({target} did not exist): {rebuild}"
    record = results.load("bench", "bench")
    prov = record["provenance"]
    try:
        rows = bench_rows(record["data"])
    except (KeyError, TypeError):  # written by an older version of benchmarks/bench.py
        return f"When this book was built, {target} came from an older version of the benchmark: {rebuild}"
    lines = ["| Figure | Ours | Baseline | Ratio, target |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(c.replace('|', '/') for c in r)} |" for r in rows]
    return "\n".join(lines) + (f"\n\nGPU: {record['data']['gpu']}.\n\nMeasured {prov['created'][:16].replace('T', ' ')} UTC on {prov['platform']}, "
                               f"{record['data']['cpu_count']} cores (load average "
                               f"{record['data']['load_average']:.1f} at the start), torch {prov['packages']['torch']}; "
                               f"the whole benchmark took {prov['wall_time_s']:.0f} s.\n")


def preset_times_markdown(root: Path) -> str:
    """Per chapter and preset: the last run's duration, and the experiments' own wall times."""
    root = Path(root)
    presets = [p for p in PRESETS if chapters.executed_dir(root, p).exists()]
    lines = ["| Chapter | " + " | ".join(f"{p}: notebook (experiment)" for p in presets) + " |",
             "|---|" + "---|" * len(presets)]
    totals = dict.fromkeys(presets, 0.0)
    for name in chapters.toc_notebooks(root):
        cells = []
        for preset in presets:
            execution = chapters.read_execution(root, name, preset)
            if execution is None:
                cells.append("not run")
                continue
            totals[preset] += execution["duration_s"]
            files = {results.path(u, preset) for u in chapters.results_used(root, name)}
            walls = [results.load(f.stem, preset)["provenance"]["wall_time_s"] for f in sorted(files) if f.exists()]
            inner = f" ({', '.join(f'{w:.1f} s' for w in walls)})" if walls else ""
            status = "" if execution["status"] == "ok" else f", {execution['status']}"
            cells.append(f"{execution['duration_s']:.1f} s{inner}{status}")
        lines.append(f"| {{doc}}`../notebooks/{name}` | " + " | ".join(cells) + " |")
    lines.append("| **all chapters** | " + " | ".join(f"**{totals[p]:.0f} s**" for p in presets) + " |")
    return "\n".join(lines) + "\n"
