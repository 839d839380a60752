"""``python -m elastic``: regenerate the chapters and the book; write and grade student notebooks; benchmark."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm.auto import tqdm

from elastic import book, chapters, plan, results
from elastic.config import GPU_PRESETS, PRESETS
from elastic.errors import ElasticError
from elastic.prose import count


def _execute_quietly(root: str, name: str, preset: str) -> str | None:
    """One chapter in a worker process: None on success, else the one-line error."""
    try:
        book.execute(Path(root), name, preset, progress=False)
    except Exception as exc:  # reported by the parent, which fails the run
        return book.error_line(exc)
    return None


def run_serially(root: Path, names: list[str], preset: str) -> dict[str, str]:
    """Execute ``names`` in order, a cell bar per notebook under the overall bar; {name: error}.

    The bars are drawn on a terminal only (``disable=None``): written to a log, every refresh
    of a bar is a line. There, one line per finished chapter says how far the run is."""
    failures = {}
    with tqdm(total=len(names), desc=f"chapters ({preset})", unit="notebook", disable=None) as bar:
        for name in names:
            bar.set_postfix_str(name)
            try:
                book.execute(root, name, preset, progress={"desc": name, "leave": False, "disable": None})
            except Exception as exc:  # the failure is listed at the end and fails the run
                failures[name] = book.error_line(exc)
            bar.update()
            if bar.disable:
                print(f"{'FAILED' if name in failures else 'done'}  {name}", flush=True)
    return failures


def run_in_parallel(root: Path, names: list[str], preset: str, jobs: int) -> dict[str, str]:
    """Execute ``names`` in up to ``jobs`` processes; a chapter starts once the chapters whose
    results it loads are done. Only the overall bar is drawn (cell bars of parallel runs would
    interleave)."""
    needs = {name: [d for d in chapters.dependencies(root, name) if d in names] for name in names}
    pending, running, failures = list(names), {}, {}
    # spawn, not fork: the parent holds tqdm's monitor thread, and forked threads are unsafe
    with _thread_share(jobs), ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool, \
            tqdm(total=len(names), desc=f"chapters ({preset}, {jobs} jobs)", unit="notebook", disable=None) as bar:
        while pending or running:
            busy = set(pending) | set(running.values())
            for name in [n for n in pending if not busy & set(needs[n])][: jobs - len(running)]:
                running[pool.submit(_execute_quietly, str(root), name, preset)] = name
                pending.remove(name)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                error = future.result()
                if error:
                    failures[name] = error
                bar.update()
                tqdm.write(f"{'FAILED' if error else 'done'}  {name}")
    return failures


#: What torch, OpenMP and the BLAS libraries read for their thread count when a process starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _thread_share(jobs: int):
    """A block in which processes started (the workers, and the kernels they start) default to
    their share of the cores, ``cpu_count // jobs`` threads: ``jobs`` chapters with a thread per
    core each would oversubscribe the machine, and idle threads spin. A chapter whose config sets
    ``num_threads`` still gets what it sets; every results file records the count it ran with."""
    from elastic.data.mirror import environ

    share = str(max(1, (os.cpu_count() or 1) // jobs))
    return environ(**{name: share for name in THREAD_VARIABLES})


def regenerate(args) -> int:
    root = Path(args.root).resolve()
    names = chapters.toc_notebooks(root)
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        raise ElasticError(f"unknown chapter(s) {', '.join(unknown)}; chapters: {', '.join(names)}")
    if args.jobs < 1:
        raise ElasticError(f"--jobs {args.jobs}: give at least 1")
    chosen = [n for n in names if not args.only or n in args.only]
    book.clean_leftovers(root, args.preset)
    library = chapters.library_hash()
    todo = [n for n in chosen if args.force
            or not chapters.up_to_date(root, n, args.preset, chapters.cache_key(root, n, args.preset, library=library))]
    skipped, failures = [n for n in chosen if n not in todo], {}
    if skipped:
        print(f"up to date, skipped ({len(skipped)}): {', '.join(skipped)}")
    if not todo:
        print(f"nothing to execute: {count(len(chosen), 'chapter', of=len(chosen))} {'is' if len(chosen) == 1 else 'are'} up to date")
    elif args.jobs == 1:
        failures = run_serially(root, todo, args.preset)
    else:
        failures = run_in_parallel(root, todo, args.preset, args.jobs)
    for name in todo:
        execution = chapters.read_execution(root, name, args.preset) or {"duration_s": float("nan")}
        print(f"executed {execution['duration_s']:8.1f} s  {name}{'  FAILED' if name in failures else ''}")
    if failures:
        for name in todo:
            if name in failures:
                print(f"FAILED {name}: {failures[name]} (partial notebook: "
                      f"{chapters.executed_dir(root, args.preset) / (name + '.ipynb')})", file=sys.stderr)
        print(f"{count(len(failures), 'executed chapter', of=len(todo))} failed"
              + ("" if args.no_build else "; the book was not built"), file=sys.stderr)
        return 1
    if args.no_build:
        return 0
    out = book.build(root, args.preset, root, builder=args.builder)
    print(f"book: {out / book.PDF_NAME if args.builder == 'pdflatex' else out / 'index.html'}")
    return 0


def student_notebooks(args) -> int:
    from elastic import coursework

    written = coursework.write_student_notebooks(Path(args.root).resolve(), Path(args.out), args.answers)
    what = "solutions in the answer cells" if args.answers else f"cells tagged {chapters.SOLUTION_TAG!r} removed"
    print(f"{count(len(written), 'student notebook')} ({what}; a check after each exercise) in {args.out}")
    return 0


def grade(args) -> int:
    from elastic import grading

    out = Path(args.out) if args.out else Path(args.submissions) / "graded"
    target = grading.grade(Path(args.submissions), out, args.preset, args.timeout, Path(args.root).resolve())
    print(f"grades: {target} (executed notebooks beside it, one folder per student)")
    return 0


def bench(args) -> int:
    """Run benchmarks/bench.py (which lives beside, not inside, the installed library)."""
    root = Path(args.root).resolve()
    if not (root / "benchmarks" / "bench.py").exists():
        raise ElasticError(f"no benchmarks/bench.py under {root}: run from the repository root or pass --root")
    sys.path.insert(0, str(root))
    from benchmarks import bench as bench_module

    from elastic import report

    overrides = bench_module.SMOKE if args.smoke else {}
    record = bench_module.run(bench_module.Config(**overrides), root=root)
    print(report.bench_text(record["data"]))
    print(f"results: {results.path('bench', 'bench')} ({record['provenance']['wall_time_s']:.0f} s); "
          "the next `make book` renders them on the book's Performance page")
    return 0


def run_experiment(args) -> int:
    """One experiment without a notebook: what `accelerate launch -m elastic run ...` starts on a
    GPU cluster, and a quick way to refresh one results file."""
    import yaml

    from elastic import experiments

    overrides = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ElasticError(f"--set {item!r} needs the form key=value, e.g. --set seed=1")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ElasticError(f"--set {item!r}: the value is not valid YAML ({exc.problem}); quote it") from exc
    cfg = experiments.load_config(args.name, args.preset, **overrides)
    with results.redirect(args.preset, experiments.overrides_of(args.name, cfg)):
        record = experiments.module(args.name).run(cfg)
        target = results.path(experiments.results_name(args.name), args.preset)
    print(f"results: {target} ({record['provenance']['wall_time_s']:.1f} s)")
    return 0


def resource_plan(args) -> int:
    for gpu in args.gpu:
        print(plan.table(args.preset, gpu))
        print()
    return 0


def convert_weights(args) -> int:
    from elastic import convert

    written = convert.convert(args.source)
    where = convert.snapshot(args.source)
    if not written:
        print(f"{args.source}: {where} already holds safetensors; nothing converted")
    for path in written:
        print(f"wrote {path} (from pickled .bin read with torch.load(weights_only=True))")
    return 0


def colab_cell(args) -> int:
    from elastic import colab

    root = Path(args.root).resolve()
    changed = colab.sync(root, check=args.check)
    url = colab.repository_url(root)
    if args.check and changed:
        raise ElasticError(f"{len(changed)} notebook(s) do not install from {url}: run python -m elastic colab-cell")
    print(f"{len(changed)} notebook(s) {'differ' if args.check else 'rewritten'}; every install cell uses {url}"
          + (" (the placeholder: set repository.url in _config.yml)" if url == colab.PLACEHOLDER else ""))
    return 0


def rehearsal(args) -> int:
    from elastic import rehearse

    report = rehearse.rehearse(args.preset, args.scale, gpu=args.gpu, smoke=args.smoke,
                               notebooks=not args.no_notebooks, root=args.root, only=args.only)
    print(rehearse.summary(report))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elastic", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    regen = sub.add_parser("regenerate", help="execute the chapters that changed with papermill, then build the book")
    regen.add_argument("--preset", choices=PRESETS, default="cpu")
    regen.add_argument("--only", nargs="+", metavar="NAME", help="run only these chapters")
    regen.add_argument("--jobs", type=int, default=1, help="chapters executed at once (processes)")
    regen.add_argument("--force", action="store_true", help="execute even chapters that are up to date")
    regen.add_argument("--no-build", action="store_true", help="execute the chapters only")
    regen.add_argument("--builder", choices=("html", "pdflatex"), default="html",
                       help="html: _build/html; pdflatex: the whole book as _build/latex/elastic.pdf (needs TeX)")
    regen.add_argument("--root", default=".", help="repository root (default: current directory)")
    regen.set_defaults(func=regenerate)
    students = sub.add_parser("student-notebooks", help="write the chapter notebooks without solutions")
    students.add_argument("out", help="output directory")
    students.add_argument("--root", default=".", help="repository root (default: current directory)")
    students.add_argument("--answers", action="store_true",
                          help="fill the answer cells with the solutions (an answer sheet for instructors)")
    students.set_defaults(func=student_notebooks)
    grader = sub.add_parser("grade", help="execute submitted student notebooks and write a CSV of their checks")
    grader.add_argument("submissions", help="folder of <student>.ipynb or <student>/<chapter>.ipynb")
    grader.add_argument("--preset", choices=("smoke", "cpu"), default="smoke",
                        help="preset the chapters run in (default: smoke)")
    grader.add_argument("--timeout", type=float, default=600, help="seconds each notebook may run (default: 600)")
    grader.add_argument("--out", help="where grades.csv and the executed notebooks go (default: SUBMISSIONS/graded)")
    grader.add_argument("--root", default=".", help="repository root (default: current directory)")
    grader.set_defaults(func=grade)
    benchmark = sub.add_parser("bench", help="time the library against its baselines (results/bench/bench.json)")
    benchmark.add_argument("--smoke", action="store_true", help="tiny sizes: check the code path in seconds")
    benchmark.add_argument("--root", default=".", help="repository root (default: current directory)")
    benchmark.set_defaults(func=bench)
    one = sub.add_parser("run", help="run one experiment and write its results file (no notebook)")
    one.add_argument("name", help="experiment, e.g. rebound")
    one.add_argument("--preset", choices=PRESETS, default="cpu")
    one.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE",
                     help="override config fields (YAML values); repeat --set or list several")
    one.set_defaults(func=run_experiment)
    planner = sub.add_parser("plan", help="GPU memory, tokens, FLOPs and hours per chapter, before any load")
    planner.add_argument("--preset", choices=GPU_PRESETS, default="colab")
    planner.add_argument("--gpu", nargs="+", choices=list(plan.GPUS), default=list(plan.GPUS))
    planner.set_defaults(func=resource_plan)
    conv = sub.add_parser("convert", help="convert a .bin-only checkpoint (hub id or directory) to safetensors once")
    conv.add_argument("source", help="hub id or local model directory")
    conv.set_defaults(func=convert_weights)
    cell = sub.add_parser("colab-cell", help="write the Colab install cell of _config.yml's repository.url into every notebook")
    cell.add_argument("--check", action="store_true", help="change nothing; fail if a notebook differs")
    cell.add_argument("--root", default=".", help="repository root (default: current directory)")
    cell.set_defaults(func=colab_cell)
    rehearsing = sub.add_parser("rehearse", help="run every chapter of colab or paper on CPU against a local hub mirror")
    rehearsing.add_argument("--preset", choices=GPU_PRESETS, default="colab")
    rehearsing.add_argument("--scale", type=int, help="divide the preset's sizes by this factor (default: colab 32, paper 64)")
    rehearsing.add_argument("--gpu", choices=list(plan.GPUS), default="a100",
                            help="GPU class whose trainer settings the chapters use (bf16 autocast or not)")
    rehearsing.add_argument("--smoke", action="store_true", help="every size at its floor, first model of each list")
    rehearsing.add_argument("--no-notebooks", action="store_true", help="run the experiments, not their notebooks")
    rehearsing.add_argument("--only", nargs="+", metavar="NAME", help="rehearse only these chapters")
    rehearsing.add_argument("--root", default=".", help="repository root (default: current directory)")
    rehearsing.set_defaults(func=rehearsal)
    for command in (regen, benchmark, one, rehearsing):
        command.add_argument("--verbose", action="store_true",
                             help="let transformers, datasets, the hub and trl print their own progress bars and logs")
    args = parser.parse_args(argv)
    if getattr(args, "verbose", False):
        from elastic import progress

        progress.set_verbose(True)  # this process and the kernels it starts
    try:
        return args.func(args)
    except ElasticError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
