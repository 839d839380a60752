"""``python -m elastic rehearse --preset colab|paper``: the GPU presets end to end on a CPU, every hub id
resolved through the local mirror, nothing from the network.

A rehearsal runs what a reader runs on Colab or a cluster, in this order, and writes a report:

1. **The mirror.** :func:`elastic.data.mirror.build` (once per catalog fingerprint, then reused) is
   copied into the run's own directory and made the Hugging Face cache, with ``HF_HUB_OFFLINE=1``
   and a guard that refuses every connection to another host (in this process and in the processes
   it starts). The copy keeps the shared mirror as the hub has it: conversions happen in the copy.
2. **Every id.** Each model, scorer and dataset id the preset names (and the authors' released
   checkpoints) goes through the library's own loaders: a repository that ships only pickled
   ``.bin`` weights must be refused, converted once with :func:`elastic.convert.convert` (what
   ``python -m elastic convert ID`` runs) and then load; each causal LM takes LoRA adapters on the
   seven projections of every layer (``LORA_TARGETS``) and generates; each scorer scores; each
   dataset yields both sides of its samples; each released checkpoint is scored.
3. **The GPU settings** (not in a smoke rehearsal). One fine-tuning run per distinct setting of the four GPU classes, at the
   preset's batch and gradient accumulation: fp32 weights with gradient checkpointing (a T4) and
   bf16 weights with bf16 autocast and gradient checkpointing (L4, A100, H100). The accelerate
   configs are launched with two CPU processes; what accelerate makes of them on a CPU is recorded
   (DeepSpeed needs its package, which is not installed here; FSDP on a CPU runs as plain data
   parallelism, so sharding itself is not rehearsed).
4. **Every chapter** of the preset, at its sizes shrunk by ONE factor (:data:`FACTORS`, or
   ``--scale``), by one rule read from each chapter's config class (:func:`sizes`), so that a field
   a chapter gains is shrunk with no change here: a **count** (an integer field, or tuple of
   integers, whose name matches :data:`COUNTS`: samples, sequences, documents, words, tokens, steps,
   pairs, the LoRA rank) becomes ``ceil(value / factor)``, raised to the value the smoke preset runs
   with (its section over the config's defaults) where that is larger (the least each chapter is
   known to run at), lists kept strictly monotonic; amounts a trainer takes in whole optimizer steps
   (:data:`WHOLE_STEPS`, and a resistance epoch's one step per slice) are then rounded up to whole
   steps of the preset's batch x accumulation; a **grid** (a numeric list of
   :data:`GRIDS` whose length multiplies the chapter's runs: seeds, the lifecycle's models, volumes,
   alignment and perturbation sizes, the rebound's amounts) keeps its first ``ceil(len / factor)``
   entries, the cheapest, at least two and at least the smoke preset's number, before its counts
   are divided. Every path still runs: each list of hub models, datasets
   and prompts is kept whole, and so are depths, vocabularies, alphabets (:data:`KEPT`) and the
   trainer fields; every chapter runs on :data:`THREADS` torch threads. The fine-tuning chapters train
   with gradient checkpointing, and with bf16 autocast when ``--gpu`` names a class with bf16. By
   default each chapter's notebook is executed with papermill (results, figures and glued numbers,
   as on Colab); ``notebooks=False`` calls the experiments directly. The mirror's datasets hold
   :data:`elastic.data.mirror.ROWS` rows per split and side: a factor far below the default asks
   for more, and the loader says so in one line.

Results go to ``results/rehearsal-<preset>-<hash>/`` (the hash of the rehearsal's settings), never
to ``results/<preset>/``, and each results file's provenance carries ``"rehearsal"``. Alignment
runs and cells are cached under that directory too: stand-ins share the real ids, so their runs
must never be found by a real run.

A **smoke** rehearsal (``--smoke``, what ``make test`` runs for both presets) puts every size at its
floor, every grid at its least length, and keeps the first entry of each list of models, datasets
and prompts: every chapter still runs, and step 2 still resolves every id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import json
import math
import os
import resource
import shutil
import time
import typing
from pathlib import Path

from elastic import config as presets
from elastic import experiments
from elastic.cache import content_key
from elastic.errors import ElasticError
from elastic.prose import count

#: The default factor by which each preset's sizes are divided (chosen so that colab finishes in under 30
#: minutes on 2 cores; paper, with its 9 scaling models and longer lists, takes longer).
FACTORS = {"colab": 32, "paper": 64}
#: Counts of samples, sequences, documents, words, tokens and steps, and the LoRA rank: an integer field
#: (or a tuple of integers) whose name matches one of these patterns is divided by the factor. The
#: patterns follow new fields (``n_pairs``, ``margin_tokens``); :data:`KEPT` names the exceptions.
COUNTS = ("n_*", "*_sizes", "sizes", "small_size", "train_*", "*_tokens", "*_words", "*_chars", "*_samples",
          "volumes", "min_tail", "max_length", "lora_r")
#: Grids: numeric lists whose length multiplies a chapter's runs (each entry trains or measures
#: again), cut to their first ``ceil(len / factor)`` entries, at least two (what a comparison along
#: the grid needs) and at least as many as the smoke preset's.
GRIDS = ("seeds", "models", "volumes", "align_sizes", "perturb_sizes", "positive_sizes", "negative_sizes")
#: Amounts of training samples a trainer takes in whole optimizer steps (a slice is kept after a
#: step): after the rule, rounded up to multiples of the preset's samples per step, kept increasing.
WHOLE_STEPS = ("positive_sizes", "negative_sizes")
#: Integer fields that are structure, not cost, though a pattern of :data:`COUNTS` matches them: the
#: alphabets of the compression protocol (its grid's shape).
KEPT = ("alphabet_sizes",)
#: Torch threads of every chapter and of the rehearsal's own runs: the stand-ins are as small as the
#: smoke preset's models, which run on one thread (two ran 5-20x slower on a shared 2-core machine).
THREADS = 1
#: Lists that a smoke rehearsal cuts to their first entry (labels go with their models).
_FIRST_ONLY = ("models", "datasets", "size_models", "size_labels", "volume_models", "volume_labels",
               "pretraining_volumes", "dpo_models",
               "reverse_models", "kl_models", "prompts", "positive_sizes", "negative_sizes")


@dataclasses.dataclass(frozen=True)
class Settings:
    preset: str
    factor: int
    gpu: str = "a100"
    smoke: bool = False

    def key(self) -> str:
        return content_key(dataclasses.asdict(self), length=12)


def run_dir(settings: Settings) -> Path:
    """``results/rehearsal-<preset>-<hash>/``: the rehearsal's own results, beside the book's."""
    from elastic import results

    return results.root() / f"rehearsal-{settings.preset}-{settings.key()}"


# --- sizes -------------------------------------------------------------------------------------------

def _scale(value, factor: int, floor):
    """``ceil(value / factor)``, at least ``floor``; a list element by element, at least the smallest
    floor, kept strictly monotonic in the order it had (hookes_law's sizes run largest first)."""
    if not isinstance(value, tuple):
        return max(math.ceil(value / factor), floor if isinstance(floor, int) else 1)
    low = min(floor) if isinstance(floor, tuple) else floor
    descending = len(value) > 1 and value[0] > value[-1]
    out = []
    for v in (value[::-1] if descending else value):
        out.append(max(math.ceil(v / factor), low, out[-1] + 1 if out else 1))
    return tuple(out[::-1] if descending else out)


def _grid(value: tuple, factor: int, floor: int) -> tuple:
    """The first ``ceil(len / factor)`` entries of ``value``, at least ``floor`` (and never more than
    it has). The presets order their grids from the cheapest entry up, so these are the cheapest
    runs of every kind: the largest model at the largest volume (the lifecycle's 6x256 on 8,000
    sequences took over 20 minutes of a shared core) is the cost a rehearsal need not pay."""
    return value[:min(len(value), max(math.ceil(len(value) / factor), floor))]


def sizes(cls) -> dict[str, tuple[str, ...]]:
    """The fields of ``cls`` a rehearsal shrinks, each with its rules: ``"grid"`` (a numeric list
    named in :data:`GRIDS`: cut by :func:`_grid`) and ``"count"`` (an integer or a tuple of integers
    whose name matches :data:`COUNTS` and is not in :data:`KEPT`: divided by :func:`_scale`)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for name in presets.field_names(cls):
        kind, args = hints[name], typing.get_args(hints[name])
        integers = kind is int or (typing.get_origin(kind) is tuple and args[:1] == (int,))
        pairs = typing.get_origin(kind) is tuple and bool(args) and typing.get_origin(args[0]) is tuple
        rules = (("grid",) if name in GRIDS and (pairs or kind is not int and integers) else ()) + \
            (("count",) if integers and name not in KEPT and any(fnmatch.fnmatchcase(name, p) for p in COUNTS) else ())
        if rules:
            out[name] = rules
    return out


def overrides(chapter: str, settings: Settings, cache: Path) -> dict:
    """The config values that differ from the preset in this rehearsal (see the module docstring)."""
    cls = _config_class(chapter)
    fields = presets.field_names(cls)
    section = presets.preset_section(chapter, settings.preset, cls)
    smoke = experiments.load_config(chapter, "smoke").asdict() if chapter in presets.experiment_sections("smoke") else {}
    out = _first_entries(section) if settings.smoke else {}
    if settings.smoke and not _hubbed(section, out):  # nothing of the hub: the smoke preset's own run
        out = {k: v for k, v in experiments.load_config(chapter, "smoke").asdict().items() if k != "preset"}
    else:
        if settings.smoke and "n_slices" in fields:
            out["n_slices"] = 2
        factor = 10 ** 9 if settings.smoke else settings.factor
        config = {**experiments.load_config(chapter, settings.preset).asdict(), **out}  # defaults too
        for name, rules in sizes(cls).items():
            floor = _plain(smoke.get(name))
            floor = 1 if floor is None else floor
            value = _plain(config[name])
            if value is None:
                continue
            if "grid" in rules:
                value = _grid(tuple(value), factor, max(2, len(floor) if isinstance(floor, list) else 1))
            if "count" in rules:
                value = _scale(tuple(value) if isinstance(value, (list, tuple)) else value, factor,
                               tuple(floor) if isinstance(floor, list) else floor)
            if name in WHOLE_STEPS:
                value = _whole_steps(value, _step(config))
            out[name] = value
    if "n_train" in out:  # one optimizer step per slice at least
        out["n_train"] = max(out["n_train"], out.get("n_slices", section.get("n_slices", 3)) * _step(section))
    if "num_threads" in fields:  # the stand-ins' matrices are too small to share between cores
        out["num_threads"] = THREADS
    if "gradient_checkpointing" in fields:  # the trainer settings of a GPU
        out.update(gradient_checkpointing=True, bf16=_gpu_class(settings.gpu).bf16)
    if "cache_dir" in fields:  # one store for the fine-tuning chapters, as the book's default has
        out["cache_dir"] = str(cache / ("lifecycle" if chapter == "lifecycle" else "alignment"))
    plain = {k: _plain(v) for k, v in out.items()}
    return {k: v for k, v in plain.items() if v != _plain(section.get(k, _default(cls, k)))}


def _step(values: dict) -> int:
    """Samples per optimizer step: ``per_device_train_batch_size x gradient_accumulation_steps``."""
    return (values.get("per_device_train_batch_size") or 1) * (values.get("gradient_accumulation_steps") or 1)


def _whole_steps(sizes: tuple, step: int) -> tuple:
    """Each amount rounded up to a whole number of optimizer steps, kept strictly increasing."""
    out = []
    for n in sizes:
        out.append(max(math.ceil(n / step) * step, out[-1] + step if out else step))
    return tuple(out)


def _first_entries(section: dict) -> dict:
    """A smoke rehearsal's lists: the first hub id of each model list (its label with it), the first
    dataset, prompt and amount (the grids' other lists are cut by :func:`_grid`)."""
    from elastic.data import catalog

    out = {}
    for name in _FIRST_ONLY:
        value = section.get(name)
        if not isinstance(value, list) or len(value) <= 1:
            continue
        specs = section.get(name.replace("labels", "models"), value)  # labels follow their models
        first = next((i for i, v in enumerate(specs) if isinstance(v, str) and v in catalog.MODELS), 0)
        out[name] = value[first:first + 1]
    return out


def _plain(value):
    """Lists, not tuples: papermill passes parameters as JSON."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _model_specs(section: dict) -> list:
    keys = ("models", "model", "size_models", "volume_models", "dpo_models", "reverse_models", "kl_models")
    specs = []
    for key in keys:
        value = section.get(key)
        specs += list(value) if isinstance(value, (list, tuple)) else [value] if value else []
    return [s for s in specs if isinstance(s, str)]


def _hubbed(section: dict, out: dict) -> bool:
    from elastic.data import catalog

    return any(v in catalog.MODELS for v in _model_specs({**section, **out}))



def _default(cls, name):
    return next((f.default for f in dataclasses.fields(cls) if f.name == name), None)


def _config_class(chapter: str):
    return experiments.config_class(chapter)


def _gpu_class(gpu: str):
    from elastic import plan

    return plan.card(gpu)


# --- ids ---------------------------------------------------------------------------------------------

def ids(preset: str) -> dict[str, list[str]]:
    """The hub ids ``preset`` names: causal LMs, sentiment classifiers, cost models and datasets."""
    from elastic import data, plan
    from elastic.data import catalog

    found = {"models": [], "classifiers": [], "cost_models": [], "datasets": []}
    names = {"imdb": data.IMDB, "beavertails": data.BEAVERTAILS, "safe_rlhf": data.SAFE_RLHF, "alpaca": data.ALPACA,
             "truthfulqa": data.TRUTHFULQA}
    for chapter in presets.experiment_sections(preset):
        section = presets.preset_section(chapter, preset, shared=chapter in plan.FINE_TUNING)
        for spec in plan._policies(chapter, section):
            if spec in catalog.MODELS:
                found["models"].append(spec)
        for spec in plan._scorers(chapter, section):
            kind = "classifiers" if catalog.model(spec).config["model_type"] == "roberta" else "cost_models"
            found[kind].append(spec)
        for dataset in [*section.get("datasets", []), section.get("dataset"), section.get("kl_dataset")]:
            if dataset in names:
                found["datasets"].append(names[dataset])
    found["datasets"].append(data.SAFE_RLHF)  # a loader the presets do not pick by default
    return {k: list(dict.fromkeys(v)) for k, v in found.items()}


def _loaded_after_conversion(repo_id: str, load) -> dict:
    """Load ``repo_id``; a ``.bin``-only repository must first be refused, then converted once."""
    from elastic import convert
    from elastic.data import catalog

    entry = catalog.MODELS.get(repo_id)
    converted = []
    if entry is not None and not entry.safetensors:
        try:
            load()
        except ElasticError as exc:
            if "python -m elastic convert" not in str(exc):
                raise
        else:
            raise ElasticError(f"{repo_id} ships only .bin weights but was loaded without conversion")
        converted = [p.name for p in convert.convert(repo_id)]
    return {"converted": converted, "value": load()}


def resolve(preset: str, sentiment_model: str) -> dict:
    """Step 2: every id through the library's loaders (see the module docstring)."""
    from elastic import data, models, released, score
    from elastic.lab import LORA_TARGETS

    report = {}
    found = ids(preset)
    for repo_id in found["models"]:
        def load(repo_id=repo_id):
            return models.load_model(repo_id, device="cpu")

        outcome = _loaded_after_conversion(repo_id, load)
        model, tokenizer = outcome["value"]
        lora = models.add_lora(model, {"r": 2, "lora_alpha": 4, "target_modules": LORA_TARGETS})
        wrapped = sum(1 for name, _ in lora.named_modules() if name.endswith(".lora_A"))
        layers = model.config.num_hidden_layers
        if wrapped != 7 * layers:
            raise ElasticError(f"LoRA wrapped {wrapped} projections of {repo_id}, not 7 per layer x {layers} layers")
        text = models.generate(lora.merge_and_unload(), tokenizer, ["The film was"], max_new_tokens=2)[0]
        report[repo_id] = {"kind": "causal LM", "class": type(model).__name__, "tokenizer": type(tokenizer).__name__,
                           "lora_projections": wrapped, "converted": outcome["converted"], "generated": text}
    for repo_id in found["classifiers"]:
        outcome = _loaded_after_conversion(repo_id, lambda r=repo_id: score.sentiment(["a great film"], model=r))
        report[repo_id] = {"kind": "sentiment classifier", "converted": outcome["converted"],
                           "p_positive": float(outcome["value"][0])}
    for repo_id in found["cost_models"]:
        outcome = _loaded_after_conversion(repo_id, lambda r=repo_id: score.safety_cost(["hi"], [" go away"], model=r))
        report[repo_id] = {"kind": "cost model", "converted": outcome["converted"], "cost": float(outcome["value"][0])}
    loaders = {data.IMDB: lambda s: data.imdb(2, "positive" if s else "negative"),
               data.BEAVERTAILS: lambda s: data.beavertails(2, s), data.SAFE_RLHF: lambda s: data.safe_rlhf(2, s),
               data.ALPACA: lambda s: data.alpaca(2), data.TRUTHFULQA: lambda s: data.truthfulqa(2)}
    for repo_id in found["datasets"]:
        report[repo_id] = {"kind": "dataset", "samples": [str(loaders[repo_id](side)[0])[:80] for side in (True, False)]}
    for repo_id in released.CHECKPOINTS:
        outcome = _loaded_after_conversion(repo_id, lambda r=repo_id: released.score(
            r, n_eval=2, max_new_tokens=2, sentiment_model=sentiment_model, device="cpu"))
        report[repo_id] = {"kind": "released checkpoint", "converted": outcome["converted"], **outcome["value"]}
    return report


# --- the GPU settings --------------------------------------------------------------------------------

def settings_check(preset: str, work: Path, root: Path, *, launch: bool = True) -> dict:
    """Step 3: one SFT run per distinct GPU-class setting, and (``launch``) the accelerate configs
    launched with two CPU processes."""
    import torch

    from elastic import models, train
    from elastic.lab import LORA_TARGETS

    spec = ids(preset)["models"][0]
    shared = presets.trainer_args(preset)
    texts = [f"review {i}: a fine film with a good cast." for i in range(shared["per_device_train_batch_size"]
                                                                        * shared.get("gradient_accumulation_steps", 1))]
    report = {"model": spec}
    for setting, dtype in (("fp32 weights, gradient checkpointing (T4)", torch.float32),
                           ("bf16 weights, bf16 autocast, gradient checkpointing (L4, A100, H100)", torch.bfloat16)):
        model, tokenizer = models.load_model(spec, device="cpu", dtype=dtype)
        model = models.add_lora(model, {"r": 2, "lora_alpha": 4, "target_modules": LORA_TARGETS})
        args = {**shared, "max_length": 32, "gradient_checkpointing": True, "bf16": dtype == torch.bfloat16,
                "save_strategy": "no", "disable_tqdm": True, "logging_steps": 10_000}
        start = time.perf_counter()
        train.sft(model, tokenizer, texts, output_dir=work / f"settings-{dtype}".replace("torch.", ""), args=args)
        report[setting] = {"seconds": round(time.perf_counter() - start, 1), "weights": str(dtype)}
    if launch:
        report["accelerate"] = accelerate_configs(root, work)
    return report


def accelerate_configs(root: Path, work: Path) -> dict:
    """Launch each config of ``configs/accelerate/`` with two CPU processes and record what runs."""
    import subprocess
    import sys

    from accelerate.utils import is_deepspeed_available

    out = {}
    probe = Path(__file__).with_name("_accelerate_probe.py")
    for config in sorted((root / "configs" / "accelerate").glob("*.yaml")):
        name = config.stem
        if "deepspeed" in name and not is_deepspeed_available():
            out[name] = "not started: the deepspeed package is not installed (it builds against CUDA)"
            continue
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
                  "--num_processes", "2", "--mixed_precision", "no", str(probe), str(work / f"accelerate-{name}")]
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
        done = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise ElasticError(f"accelerate launch with {config.name} failed: {done.stderr.strip().splitlines()[-1]}")
        ranks = sorted(line for line in done.stdout.splitlines() if line.startswith("rank "))
        out[name] = "; ".join(ranks)
    return out


# --- chapters ----------------------------------------------------------------------------------------

def run_chapter(chapter: str, settings: Settings, values: dict, root: Path, notebooks: Path | None) -> dict:
    """One chapter at ``values``: its notebook with papermill (``notebooks``: where the executed
    copies go) or, with ``notebooks=None``, its experiment in this process."""
    from elastic import results

    start = time.perf_counter()
    if notebooks is None:
        cfg = experiments.load_config(chapter, settings.preset, **values)
        with results.redirect(settings.preset, experiments.overrides_of(chapter, cfg)):
            experiments.module(chapter).run(cfg)
            target = results.path(experiments.results_name(chapter), settings.preset)
        images = None
    else:
        import jupytext
        import papermill

        from elastic import chapters

        source = notebooks / f"{chapter}.input.ipynb"
        notebook = jupytext.read(chapters.source_path(root, chapter))
        jupytext.write(notebook, source)
        executed = notebooks / f"{chapter}.ipynb"
        # as book.execute: MPLBACKEND (Agg, as scripts set it) would replace the kernel's inline
        # backend, and the glued figures would be stored as text, with no image
        backend = os.environ.pop("MPLBACKEND", None)
        try:
            papermill.execute_notebook(str(source), str(executed), parameters={"preset": settings.preset, **values},
                                       kernel_name=chapters.KERNEL, language="python", cwd=str(root), progress_bar=False)
        finally:
            if backend is not None:
                os.environ["MPLBACKEND"] = backend
        source.unlink()
        cfg = experiments.load_config(chapter, settings.preset, **values)
        target = results.run_dir(settings.preset, experiments.overrides_of(chapter, cfg)) / \
            f"{experiments.results_name(chapter)}.json"
        images = figures(executed)
        if not images and any("glue_figure(" in c.source for c in notebook.cells):
            raise ElasticError(f"{executed} glues figures but holds no image: check the kernel's matplotlib backend")
    record = json.loads(Path(target).read_text())
    if record["provenance"].get("rehearsal") != dataclasses.asdict(settings):
        raise ElasticError(f"{target} does not carry this rehearsal's provenance")
    return {"seconds": round(time.perf_counter() - start, 1), "results": str(target), "overrides": values,
            **({"figures": images} if images is not None else {})}


def figures(executed: Path) -> int:
    """How many images the executed notebook holds: shown ones (``image/png``) and glued ones, which
    myst-nb records as ``application/papermill.record/image/png`` for the page to place."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return sum(any(key.endswith("image/png") for key in o.get("data", {}))
               for c in nb.cells for o in c.get("outputs", []))


@contextlib.contextmanager
def _torch_threads(n: int):
    """Torch on ``n`` threads inside, the process's count restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def rehearse(preset: str, factor: int | None = None, *, gpu: str = "a100", smoke: bool = False,
             notebooks: bool = True, root: Path | str = ".", mirror_root: Path | None = None,
             only: list[str] | None = None) -> dict:
    """The rehearsal of ``preset`` (see the module docstring); returns its report, also written to
    ``<run dir>/rehearsal.json``. ``only`` names the chapters to run (default: all of the preset)."""
    from elastic import models
    from elastic.data import mirror

    if preset not in presets.GPU_PRESETS:
        raise ElasticError(f"rehearse the GPU presets only: --preset {' or '.join(presets.GPU_PRESETS)}, not {preset!r}")
    _gpu_class(gpu)  # an unknown class is an error before any work
    chapters = presets.experiment_sections(preset)
    unknown = sorted(set(only or []) - set(chapters))
    if unknown:
        raise ElasticError(f"unknown chapter(s) {', '.join(unknown)}; chapters of {preset}: {', '.join(chapters)}")
    settings = Settings(preset, int(FACTORS[preset] if factor is None else factor), gpu, smoke)
    if settings.factor < 1:
        raise ElasticError(f"--scale {settings.factor}: give a factor of 1 or more")
    root = Path(root).resolve()
    out = run_dir(settings).resolve()
    start = time.perf_counter()
    shared = mirror.build(mirror_root)
    hub = out / "hub"
    shutil.rmtree(hub, ignore_errors=True)
    shutil.copytree(shared, hub)
    refused: list = []
    report = {"settings": dataclasses.asdict(settings), "mirror": str(shared), "results": str(out)}
    # results under ``out``, with the rehearsal in their provenance, here and in the kernels
    marks = mirror.environ(ELASTIC_RESULTS=str(out), ELASTIC_REHEARSAL=json.dumps(dataclasses.asdict(settings)))
    with mirror.offline(hub), mirror.no_network(refused), marks, _torch_threads(THREADS):
        sentiment = presets.preset_section("rebound", preset, shared=True).get("sentiment_model", "vader")
        t = time.perf_counter()
        report["ids"] = resolve(preset, sentiment)
        report["ids_seconds"] = round(time.perf_counter() - t, 1)
        if not smoke:  # a smoke rehearsal leaves them to tests/test_rehearse.py, which runs them once
            t = time.perf_counter()
            report["gpu_settings"] = settings_check(preset, out / "work", root)
            report["gpu_settings_seconds"] = round(time.perf_counter() - t, 1)
        pages = out / "notebooks" if notebooks else None
        if pages:
            pages.mkdir(parents=True, exist_ok=True)
        report["chapters"] = {}
        for chapter in [c for c in chapters if not only or c in only]:
            values = overrides(chapter, settings, out / "cache")
            report["chapters"][chapter] = run_chapter(chapter, settings, values, root, pages)
    report["refused_connections"] = [str(a) for a in refused]
    report["seconds"] = round(time.perf_counter() - start, 1)
    # CPU time of this process and the kernels and launches it waited for: on a machine shared with
    # other work the wall time says little, this says what the rehearsal itself costs
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    report["cpu_seconds"] = round(sum(u.ru_utime + u.ru_stime for u in used), 1)
    report["machine"] = f"{os.cpu_count()} CPU cores, torch threads {models.torch.get_num_threads()}"
    from elastic.results import atomic_write_text

    atomic_write_text(out / "rehearsal.json", json.dumps(report, indent=1, default=str) + "\n")
    return report


def summary(report: dict) -> str:
    """The report in a few lines: what ran, how long, where the results are."""
    s = report["settings"]
    lines = [f"rehearsal of {s['preset']} (sizes / {s['factor']}{', smoke' if s['smoke'] else ''}, "
             f"trainer settings of a {s['gpu']}) in {report['seconds']:.0f} s ({report['cpu_seconds']:.0f} s of CPU); "
             f"results in {report['results']}",
             f"  ids: {len(report['ids'])} resolved through the mirror in {report['ids_seconds']:.0f} s "
             f"({sum(bool(v.get('converted')) for v in report['ids'].values())} converted from .bin)",
             f"  GPU settings: {report['gpu_settings_seconds']:.0f} s; accelerate: "
             + "; ".join(f"{k}: {v}" for k, v in report["gpu_settings"]["accelerate"].items())
             if "gpu_settings" in report else "  GPU settings: not run in a smoke rehearsal"]
    for chapter, row in report["chapters"].items():
        figures = f", {count(row['figures'], 'figure')}" if "figures" in row else ""
        lines.append(f"  {chapter:24} {row['seconds']:7.1f} s{figures}")
    lines.append(f"  connections refused: {len(report['refused_connections'])}")
    return "\n".join(lines)
