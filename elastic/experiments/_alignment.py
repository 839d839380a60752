"""What the experiments of §4 and Appendix C share: the base model θ0, datasets with a positive and
a negative side, fine-tuning stages cached by key, and a store of finished cells that makes every
grid resumable (Ji et al., ACL 2025).

A *stage* is one fine-tuning run, ``(method, side, n)``: SFT (or DPO) on the first ``n`` training
records of the ``"positive"`` or ``"negative"`` side of a dataset. A model is θ0 followed by a
tuple of stages; each stage's weights live in ``runs/<key>`` (written and reused by
:mod:`elastic.train`), its key being a hash of everything that made it, parents included. A *cell*
is one measured number (or a few) of a table or curve; its result is written atomically to
``cells/<key>.json`` and never recomputed, so a killed grid resumes where it stopped and no result
file is ever partial. Every computed cell is also appended to ``executed.log``, which is how the
tests see that a rerun recomputed nothing.

Base models (``model`` fields of the configs):

* ``"tiny"``, ``"tiny-<layers>x<width>"``, ``"tiny-<layers>x<width>@<n>"``: a random
  :func:`elastic.models.tiny_model` on the byte tokenizer, pre-trained by this module for one epoch
  on ``n`` generated texts (default 2000; half reviews, half dialogues, both sides in equal shares),
  so that θ0 is neutral between the two sides. Its pre-training run is cached like any other.
* anything :func:`elastic.models.load_model` takes (``"smollm2"``, a directory, a ``.gguf`` file, a
  hub id): fine-tuned with LoRA adapters that are merged after each stage.
"""

from __future__ import annotations

import copy
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elastic import cache, data, models, score, train
from elastic.cache import source_key
from elastic.config import ExperimentConfig, TrainerFields
from elastic.errors import ElasticError
from elastic.progress import stage
from elastic.stats import spearman, standard_error

#: Bump when what a cell stores or how it is computed changes, so old cells are not reused.
CACHE_VERSION = 1

#: Datasets with a positive and a negative side, and the task (hence the metric) of each.
TWO_SIDED = {
    "reviews": "sentiment", "imdb": "sentiment",
    "dialogues": "safety", "beavertails": "safety", "safe_rlhf": "safety",
}
#: Plain SFT datasets of the resistance experiment (one side only: the "positive" one).
ONE_SIDED = ("alpaca", "truthfulqa")

#: The sign of each task's score: +1 when larger means more aligned (more positive).
SIGNS = {"sentiment": +1, "safety": -1}
#: Which number of a sentiment cell a curve shows (cells store both).
SENTIMENT_METRICS = {"positive rate": "metric", "mean score": "mean_score"}

#: LoRA targets as one regular expression: the attention and MLP projections of Llama, Qwen, Gemma
#: and SmolLM2 (what peft's "all-linear" picks there). A string, not peft's set of names: a set is
#: printed in a different order by every process, which changes elastic.train's run fingerprint,
#: so a run trained by one process was refused as "a different run" by the next.
LORA_TARGETS = r".*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"

TINY = re.compile(r"tiny(?:-(\d+)x(\d+))?(?:@(\d+))?$")
TINY_DEFAULTS = (2, 64, 2000)
#: Attention heads of every tiny model (the width must be a multiple).
TINY_HEADS = 4


def tiny_spec(spec: str) -> tuple[int, int, int] | None:
    """``(layers, width, texts)`` of a tiny spec (see the module docstring); None for any other
    spec. A spec that starts like a tiny one must parse, with a model that can exist."""
    match = TINY.fullmatch(spec)
    if match is None:
        if re.match(r"tiny(?:[-@]|$)", spec) and "/" not in spec:
            raise ElasticError(f"model spec {spec!r} does not parse: use tiny, tiny-<layers>x<width> "
                               "or tiny-<layers>x<width>@<texts>, e.g. tiny-2x64@2000")
        return None
    layers, width, volume = (int(g) if g else d for g, d in zip(match.groups(), TINY_DEFAULTS))
    if layers < 1 or volume < 1 or width < TINY_HEADS or width % TINY_HEADS:
        raise ElasticError(f"model spec {spec!r}: give at least 1 layer and 1 pre-training text, and a width "
                           f"that is a positive multiple of {TINY_HEADS} (the heads), e.g. tiny-1x32")
    return layers, width, volume


def task_of(dataset: str) -> str:
    if dataset not in TWO_SIDED:
        raise ElasticError(f"unknown dataset {dataset!r}; valid two-sided datasets: {', '.join(TWO_SIDED)}")
    return TWO_SIDED[dataset]


def records(dataset: str, side: str, n: int, seed: int, source: str | None = None) -> list[data.Record]:
    """``n`` records of one side (``"positive"``: positive reviews / safe answers / the SFT data).

    Chapters: resistance. Paper: §4.1-4.2.
    """
    positive = side == "positive"
    hub = {"source": source} if source else {}
    if dataset == "reviews":
        return data.prompt_records(data.reviews(n, side, seed), side, seed=seed)
    if dataset == "imdb":
        return data.prompt_records(data.imdb(n, side, seed, **hub), side, seed=seed)
    if dataset == "dialogues":
        return data.dialogues(n, positive, seed)
    if dataset in ("beavertails", "safe_rlhf"):
        return getattr(data, dataset)(n, positive, seed, **hub)
    if dataset in ONE_SIDED and positive:
        return getattr(data, dataset)(n, seed, **hub)
    valid = [*TWO_SIDED, *ONE_SIDED]
    raise ElasticError(f"unknown dataset {dataset!r} (side {side}); valid datasets: {', '.join(valid)}")


def digest(payload) -> str:
    return cache.content_key([CACHE_VERSION, payload])


class Store:
    """Finished cells (``cells/<key>.json``, a :class:`elastic.cache.Store`) and training runs
    (``runs/<key>/``, written by :mod:`elastic.train`) of one preset."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        try:  # a cache that cannot be written fails here, not after the first model has trained
            self.root.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.root).close()
        except OSError as exc:
            raise ElasticError(f"cannot write the cache {self.root} ({exc.strerror}): "
                               "pass cache_dir=<a writable directory>") from exc
        self.cells = cache.Store(self.root / "cells")

    def run_dir(self, payload) -> Path:
        return self.root / "runs" / digest(payload)

    def cell(self, kind: str, payload, compute):
        """The stored value of the cell ``payload``, computing and storing it first if missing."""
        key = digest([kind, payload])
        value = self.cells.get(key, "value")
        if value is not None:
            return value
        value = compute()
        self.cells.put(key, {"kind": kind, "payload": payload, "value": value})
        with open(self.root / "executed.log", "a") as log:
            log.write(f"{kind} {key}\n")
        return value


@dataclass(frozen=True, kw_only=True)
class AlignmentConfig(TrainerFields, ExperimentConfig):
    """Fields every experiment of §4 shares: the trainer's (:class:`elastic.config.TrainerFields`,
    from the preset's ``shared`` section), generation, scoring and the cache.

    Chapters: resistance, rebound, scaling, ablations.
    """

    lora_r: int = 8                #: LoRA rank for pre-trained models (tiny models train fully)
    max_new_tokens: int = 24       #: generated tokens per held-out prompt
    n_eval: int = 16               #: held-out prompts per model (half cut from each side)
    dpo_beta: float = 0.1
    sentiment_model: str = "vader"  #: "vader" or a sentiment classifier (hub id or dir), reviews
    #: "positive rate" (the paper's: share of responses scored positive) or "mean score" (mean
    #: P(positive): the same quantity without the rate's steps of 1/n_eval, for small presets)
    sentiment_metric: str = "positive rate"
    cost_model: str = "standin"    #: "standin" or a safe-rlhf cost model (hub id or dir), dialogues
    source: str | None = None      #: a local copy of the hub dataset (one dataset per run)
    cache_dir: str = "_build/cache/alignment"
    num_threads: int = 0           #: torch threads while a run lasts (0: as the process has it)

    def __post_init__(self):
        super().__post_init__()
        for name, value in self.asdict().items():
            if name == "models" or name.endswith("_models"):
                for spec in value:
                    tiny_spec(spec)
        if self.sentiment_metric not in SENTIMENT_METRICS:
            raise ElasticError(f"sentiment_metric={self.sentiment_metric!r}; valid: {', '.join(SENTIMENT_METRICS)}")
        if self.n_eval < 2 or self.n_eval % 2:
            raise ElasticError(f"n_eval={self.n_eval} must be even and >= 2: half the prompts come from each side")


class Lab:
    """θ0 of one model spec under one config, and everything derived from it, cached in a :class:`Store`.

    Chapters: resistance, rebound, scaling, ablations. Paper: §4, App. C.
    """

    def __init__(self, cfg: AlignmentConfig, model: str):
        import torch

        from elastic import plan

        plan.check_before_load(cfg)  # a chapter that cannot fit this GPU stops before any download
        self.cfg, self.spec = cfg, model
        # hashed once: every cache key holds it, and local files are keyed by content
        self._key = [source_key(model), cfg.seed, cfg.preset, cfg.trainer_args(), cfg.lora_r, LORA_TARGETS,
                     cfg.dpo_beta, source_key(cfg.source)]
        self.store = Store(Path(cfg.cache_dir) / cfg.preset)
        torch.manual_seed(cfg.seed)
        self.lora = tiny_spec(model) is None
        self.base, self.tokenizer = self._base()

    # --- models ---------------------------------------------------------------------------------

    def _base(self):
        tiny = tiny_spec(self.spec)
        if tiny is None:
            stage(f"loading {self.spec}")
            return models.load_model(self.spec)
        layers, width, volume = tiny
        tokenizer = models.byte_tokenizer()
        model = models.tiny_model(tokenizer, n_layer=layers, d_model=width, n_head=TINY_HEADS, seed=self.cfg.seed)
        texts = pretraining_corpus(volume, self.cfg.seed)
        # θ0 is a model of the texts, not of an alignment: a larger step and batch than fine-tuning
        args = self._args(learning_rate=3e-3, per_device_train_batch_size=16)
        out = self.store.run_dir([CACHE_VERSION, "pretrain", self.spec, self.cfg.seed, args])
        stage(f"pre-training {self.spec} on {len(texts)} texts")
        train.sft(model, tokenizer, texts, output_dir=out, args=args)
        return self._load(None, out), tokenizer

    def _args(self, **overrides) -> dict:
        # Cells are the unit of resumption, so runs skip Trainer checkpoints (seconds per run).
        return {**self.cfg.trainer_args(), "seed": self.cfg.seed, "save_strategy": "no", "disable_tqdm": True,
                "logging_steps": 10_000, **overrides}

    def key(self) -> list:
        """What every model derived from this θ0 depends on (part of every cache key); local files
        by content (:func:`elastic.cache.source_key`), never by where they are."""
        return self._key

    def trainable(self, model):
        """A copy of ``model`` to fine-tune: with fresh LoRA adapters for a pre-trained model."""
        model = copy.deepcopy(model)
        lora = {"r": self.cfg.lora_r, "lora_alpha": 2 * self.cfg.lora_r, "target_modules": LORA_TARGETS}
        return models.add_lora(model, lora) if self.lora else model

    def fit(self, parent, texts, payload, *, n_slices: int = 0):
        """``parent`` after SFT on ``texts`` (strings or :class:`elastic.train.Examples`; a new
        model), and the run's directory; the run is cached under ``payload`` (with its slices, if
        ``n_slices``)."""
        out = self.store.run_dir([self.key(), payload])
        stage(f"SFT on {len(texts)} texts")
        train.sft(self.trainable(parent), self.tokenizer, texts, output_dir=out, args=self._args(), n_slices=n_slices)
        return self._load(parent, out), out

    def dpo(self, parent, prompts, chosen, rejected, payload):
        """``parent`` after DPO towards ``chosen`` over ``rejected`` (a new model)."""
        out = self.store.run_dir([self.key(), payload])
        stage(f"DPO on {len(prompts)} pairs")
        train.dpo(self.trainable(parent), self.tokenizer, prompts, chosen, rejected, output_dir=out,
                  args=self._args(beta=self.cfg.dpo_beta))
        return self._load(parent, out)

    def load_slice(self, parent, path: Path):
        """Slice θk of a sliced run of ``parent`` (see :func:`elastic.train.sft`)."""
        return self._load(parent, path)

    def _load(self, parent, path: Path):
        """The model a run saved in ``path``: its LoRA adapters merged into a copy of ``parent``,
        or a whole tiny model.

        We always read the saved weights back rather than keep the object the Trainer trained, so
        that a fresh run and a resumed one compute with exactly the same model. (It also avoids a
        problem seen with an earlier ``elastic.train``: copies of a Trainer-patched model computed
        with their parent's weights, so every fine-tuned model scored exactly like its parent.)
        """
        if self.lora:
            from peft import set_peft_model_state_dict
            from safetensors.torch import load_file

            model = self.trainable(parent)
            set_peft_model_state_dict(model, load_file(path / "adapter_model.safetensors"))
            return model.merge_and_unload().eval()
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).eval()

    # --- generation and scoring -----------------------------------------------------------------

    def respond(self, model, prompts) -> list[str]:
        stage(f"generating {len(prompts)} responses")
        return models.generate(model, self.tokenizer, prompts, max_new_tokens=self.cfg.max_new_tokens,
                               seed=self.cfg.seed)


def preflight(cfg: AlignmentConfig, specs, scored=(), read=lambda: None) -> None:
    """Check, before any model loads or trains, what a run will need: loadable models (``specs``)
    and scorers (those of the ``scored`` datasets' tasks), its data (``read()`` makes the run's own
    draws, so a bad ``source``: missing, empty, unparsable, wrong columns or labels, too small) and
    a writable cache. A bad one stops the run while nothing is spent.

    Chapters: resistance, rebound, scaling, ablations. Paper: §4, App. C.
    """
    for spec in dict.fromkeys(specs):
        if tiny_spec(spec) is None:
            models.check_spec(spec)
    for task in dict.fromkeys(map(task_of, scored)):
        score.check_scorer(cfg.sentiment_model if task == "sentiment" else cfg.cost_model)
    read()
    Store(Path(cfg.cache_dir) / cfg.preset)


def pretraining_corpus(n: int, seed: int) -> list[str]:
    """θ0's pre-training texts: equal shares of positive and negative reviews and of safe and
    unsafe dialogues, shuffled (so θ0 has seen both sides and prefers neither)."""
    quarter = -(-n // 4)
    texts = [*data.reviews(quarter, "positive", seed + 1000), *data.reviews(quarter, "negative", seed + 1000),
             *(r.text for r in data.dialogues(quarter, True, seed + 1000)),
             *(r.text for r in data.dialogues(quarter, False, seed + 1000))]
    return data.sample(texts, n, seed)


# --- the rebound protocol (§4.2, §4.3, Appendix C) ---------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """One rebound grid: first stage on ``first`` data at each of ``first_sizes``, then ``method``
    on the opposite side at each of ``second_sizes`` (0 = the first-stage model itself).

    Chapters: rebound, scaling, ablations. Paper: §4.2, Fig. 4.
    """

    dataset: str
    first_sizes: tuple[int, ...]
    second_sizes: tuple[int, ...]
    method: str = "sft"            #: "sft" or "dpo" for the second stage
    reverse: bool = False          #: negative first, positive second (Fig. 9)

    @property
    def sides(self) -> tuple[str, str]:
        return ("negative", "positive") if self.reverse else ("positive", "negative")


class Rebound:
    """Held-out prompts, training pools and cells of the rebound grids of one :class:`Lab`.

    Chapters: rebound, scaling, ablations. Paper: §4.2-4.3, App. C.
    """

    def __init__(self, lab: Lab, dataset: str, max_size: int):
        self.lab, self.dataset, self.task = lab, dataset, task_of(dataset)
        self.scorer = source_key(lab.cfg.sentiment_model if self.task == "sentiment" else lab.cfg.cost_model)
        self.pools, held_out = self.draw(lab.cfg, dataset, max_size)
        # each pool tokenized once; a stage trains on the first n of it
        self.examples = {side: train.Examples.of(lab.tokenizer, [r.text for r in pool]) for side, pool in self.pools.items()}
        self.prompts = [r.prompt for r in held_out]
        self.held_out_texts = [r.text for r in held_out]
        self._reference = None  # θ0 on the held-out texts, made when a cell first needs it

    @staticmethod
    def draw(cfg: AlignmentConfig, dataset: str, max_size: int) -> tuple[dict, list]:
        """The training pool of each side (``max_size`` records) and the held-out records
        (``n_eval / 2`` cut off the front of each side)."""
        pools, held_out = {}, []
        for side in ("positive", "negative"):
            pool = records(dataset, side, max_size + cfg.n_eval // 2, cfg.seed, cfg.source)
            held_out += pool[:cfg.n_eval // 2]
            pools[side] = pool[cfg.n_eval // 2:]
        return pools, held_out

    def _payload(self, stages) -> list:
        c = self.lab.cfg
        return [self.lab.key(), self.dataset, c.n_eval, c.max_new_tokens, self.scorer, list(stages)]

    def model(self, stages):
        """θ0 after ``stages`` (each ``(method, side, n)``), training what is not cached yet."""
        model = self.lab.base
        for i, (method, side, n) in enumerate(stages):
            # n_eval is part of the key: the held-out prompts come off the front of each pool
            payload = ["stage", self.dataset, self.lab.cfg.n_eval, list(map(list, stages[:i + 1]))]
            if method == "sft":
                model, _ = self.lab.fit(model, self.examples[side][:n], payload)
            else:
                # DPO towards ``side`` (chosen) over the other side (rejected), paired record by
                # record on the chosen record's prompt: the inverse alignment of Appendix C.
                other = "negative" if side == "positive" else "positive"
                chosen, rejected = self.pools[side][:n], self.pools[other][:n]
                model = self.lab.dpo(model, [r.prompt for r in chosen], [r.response for r in chosen],
                                     [r.response for r in rejected], payload)
        return model

    def reference(self) -> score.Reference:
        """θ0 on the held-out texts, run once for the KL of every cell (only cells not yet stored
        need it)."""
        if self._reference is None:
            self._reference = score.Reference(self.lab.base, self.lab.tokenizer, self.held_out_texts)
        return self._reference

    def evaluate(self, stages) -> dict:
        """The cell of one model: its score on each held-out prompt, their means (the task score)
        and its KL to θ0."""
        def compute():
            model = self.model(stages)
            responses = self.lab.respond(model, self.prompts)
            texts = [p + r for p, r in zip(self.prompts, responses)]
            stage("scoring")
            if self.task == "sentiment":
                values = score.sentiment(texts, model=self.lab.cfg.sentiment_model)
                per_prompt = {"metric": score.positive(values), "mean_score": values}
            else:
                values = score.safety_cost(self.prompts, responses, model=self.lab.cfg.cost_model)
                per_prompt = {"metric": values, "mean_score": values}
            stage("KL to θ0")
            divergence = score.kl(model, self.reference(), self.lab.tokenizer, self.held_out_texts)
            return {**{k: float(np.mean(v)) for k, v in per_prompt.items()},
                    "per_prompt": {k: np.asarray(v, dtype=float).tolist() for k, v in per_prompt.items()},
                    "kl_to_base": float(divergence),
                    "examples": [p + r for p, r in zip(self.prompts[:2], responses[:2])]}

        # "per_prompt" in the kind: cells stored before they kept each prompt's score are recomputed
        return self.lab.store.cell("rebound per_prompt", self._payload(stages), compute)

    def grid(self, grid: Grid, progress=None) -> dict:
        """Every cell of ``grid`` as curves: one per first-stage size, over the second-stage sizes."""
        first, second = grid.sides
        # the aligned direction of the first stage: in reverse, a fall towards the negative side
        sign = SIGNS[self.task] * (-1 if grid.reverse else 1)
        name = self.lab.cfg.sentiment_metric if self.task == "sentiment" else "mean cost"
        field = SENTIMENT_METRICS.get(name, "metric")
        base = self.evaluate(())
        if progress:
            progress.update()
        curves = []
        for n1 in grid.first_sizes:
            s1 = ("sft", first, n1)
            cells = []
            for n2 in (0, *grid.second_sizes):
                cells.append(self.evaluate((s1,) if n2 == 0 else (s1, (grid.method, second, n2))))
                if progress:
                    progress.update()
            per_prompt = [c["per_prompt"][field] for c in cells]
            curves.append({"first_size": n1, "second_sizes": [0, *grid.second_sizes],
                           "metric": [c[field] for c in cells], "mean_score": [c["mean_score"] for c in cells],
                           "metric_se": [standard_error(v) for v in per_prompt], "per_prompt": per_prompt,
                           "kl_to_base": [c["kl_to_base"] for c in cells],
                           "examples": cells[-1]["examples"]})
        return {"dataset": self.dataset, "task": self.task, "metric_name": name,
                "sign": sign, "first_side": first, "method": grid.method,
                "base": {"metric": base[field], "metric_se": standard_error(base["per_prompt"][field]),
                         "examples": base["examples"]},
                "curves": curves, "verdict": rebound_verdict(curves, sign)}


def n_cells(grid: Grid) -> int:
    """How many cells (models scored) ``grid`` holds: θ0, then each first-stage model and its
    second-stage models.

    Chapters: rebound, scaling, ablations. Paper: §4.2.
    """
    return 1 + len(grid.first_sizes) * (1 + len(grid.second_sizes))


def rebound_verdict(curves: list[dict], sign: int) -> dict:
    """Numbers behind "rebound" (§4.2), on the aligned scale ``sign * metric`` (larger = more aligned):

    * ``initial_drop[i]``: the fall from the first-stage model to the first second-stage size, for
      the i-th first-stage size; rebound means it grows with the amount of first-stage data (and
      is a fall, > 0, at the largest amount);
    * ``early_rate`` / ``late_rate``: the fall per sample over the first and the last step of the
      second-stage sizes, averaged over the curves; "fast, then slow" means early > late and
      early > 0.

    A verdict that a grid is too small to judge (one first-stage size; fewer than two second-stage
    sizes) is None, not False.

    Every model answers the same held-out prompts, so a difference of scores has a paired standard
    error over prompts: ``initial_drop_se[i]`` for each drop, and ``drop_difference`` (the drop at
    the largest first-stage size minus the drop at the smallest) with ``drop_difference_se``;
    ``drop_difference_beyond_noise`` says whether it exceeds two of them.
    """
    aligned = [sign * np.asarray(c["metric"]) for c in curves]
    sizes = np.asarray(curves[0]["second_sizes"], dtype=float)
    drops = [float(a[0] - a[1]) for a in aligned]
    early = float(np.mean([(a[0] - a[1]) / (sizes[1] - sizes[0]) for a in aligned]))
    late = float(np.mean([(a[-2] - a[-1]) / (sizes[-1] - sizes[-2]) for a in aligned]))
    per_prompt = [sign * np.asarray(c["per_prompt"]) for c in curves]  # (second sizes, prompts)
    drop_per_prompt = [v[0] - v[1] for v in per_prompt]
    difference = drop_per_prompt[-1] - drop_per_prompt[0]
    difference_se = standard_error(difference)
    return {
        "initial_drop": drops,
        "initial_drop_se": [standard_error(d) for d in drop_per_prompt],
        # a rise is not a drop: both verdicts need the score to actually fall
        "drop_grows_with_first_size": bool(drops[-1] > max(drops[0], 0)) if len(drops) > 1 else None,
        "drop_rank_correlation": spearman(range(len(drops)), drops),
        "drop_difference": float(difference.mean()) if len(drops) > 1 else None,
        "drop_difference_se": difference_se if len(drops) > 1 else None,
        "drop_difference_beyond_noise": bool(abs(difference.mean()) > 2 * difference_se) if len(drops) > 1 else None,
        "early_rate": early, "late_rate": late,
        "fast_then_slow": bool(early > max(late, 0)) if len(sizes) > 2 else None,
        "rebound_strength": float(np.mean(drops)),
    }
