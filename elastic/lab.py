"""The lab of the experiments of §4 and Appendix C: the base model θ0, the models fine-tuned from
it in stages cached by key, and a store of finished cells that makes every grid resumable (Ji et
al., ACL 2025). The datasets are those of :mod:`elastic.tasks`; the rebound grids are built in
:mod:`elastic.rebound_grid`.

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
from dataclasses import dataclass
from pathlib import Path

from elastic import cache, data, models, score, train
from elastic.cache import source_key
from elastic.config import ExperimentConfig, TrainerFields
from elastic.errors import ElasticError
from elastic.progress import stage
from elastic.tasks import GENERATED, SENTIMENT_METRICS, task_of

#: Bump when what a cell stores or how it is computed changes, so old cells are not reused.
CACHE_VERSION = 1

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
    spec. A spec that starts like a tiny one must parse, with a model that can exist.

    Chapters: scaling.
    """
    match = TINY.fullmatch(spec)
    if match is None:
        if re.match(r"tiny(?:[-@]|$)", spec) and "/" not in spec:
            raise ElasticError(f"model spec {spec!r} does not parse: use tiny, tiny-<layers>x<width> "
                               "or tiny-<layers>x<width>@<texts>, e.g. tiny-2x64@2000")
        return None
    layers, width, volume = (int(g) if g else d for g, d in zip(match.groups(), TINY_DEFAULTS))
    # rotary position embeddings rotate pairs of a head's dimensions: a head's width must be even
    if layers < 1 or volume < 1 or width < TINY_HEADS or width % (2 * TINY_HEADS):
        raise ElasticError(f"model spec {spec!r}: give at least 1 layer and 1 pre-training text, and a width "
                           f"that is a positive multiple of {TINY_HEADS} (the heads) with an even width per "
                           f"head, e.g. tiny-1x32")
    return layers, width, volume


def digest(payload) -> str:
    return cache.content_key([CACHE_VERSION, payload])


class Store:
    """Finished cells (``cells/<key>.json``, a :class:`elastic.cache.Store`) and training runs
    (``runs/<key>/``, written by :mod:`elastic.train`) of one preset."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        cache.require_writable(self.root)
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

    def fit(self, parent, texts, payload, *, n_slices: int = 0, seed: int | None = None):
        """``parent`` after SFT on ``texts`` (strings or :class:`elastic.train.Examples`; a new
        model), and the run's directory; the run is cached under ``payload`` (with its slices, if
        ``n_slices``). A training ``seed`` fixes the data order and the adapters' initialisation
        (default: the config's seed, with the adapters drawn from the generator as it stands); a
        caller that passes one puts it in ``payload``."""
        import torch

        out = self.store.run_dir([self.key(), payload])
        stage(f"SFT on {len(texts)} texts")
        if seed is not None:
            torch.manual_seed(seed)  # the adapters' initialisation, whatever ran before
        args = self._args() if seed is None else self._args(seed=seed)
        train.sft(self.trainable(parent), self.tokenizer, texts, output_dir=out, args=args, n_slices=n_slices)
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
            return models.merge_lora(parent, path).eval()
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).eval()

    # --- generation and scoring -----------------------------------------------------------------

    def respond(self, model, prompts, seed: int | None = None) -> list[str]:
        stage(f"generating {len(prompts)} responses")
        return models.generate(model, self.tokenizer, prompts, max_new_tokens=self.cfg.max_new_tokens,
                               seed=self.cfg.seed if seed is None else seed)


def preflight(cfg: AlignmentConfig, specs, datasets, scored=(), read=lambda: None) -> None:
    """Check, before any model loads or trains, what a run will need: loadable models (``specs``),
    the scorers of the ``scored`` datasets' tasks, a ``source`` that one of its ``datasets`` reads,
    its data (``read()`` makes the run's own draws, so a bad ``source``: missing, empty,
    unparsable, wrong columns or labels, too small) and a writable cache. A bad one stops the run
    while nothing is spent.

    A scorer of a task the run does not score is not looked up (a preset names one per task, for
    when its datasets change), but a local path that names nothing is a mistake either way.

    Chapters: resistance, rebound, scaling, ablations. Paper: §4, App. C.
    """
    for spec in dict.fromkeys(specs):
        if tiny_spec(spec) is None:
            models.check_spec(spec)
    tasks = set(map(task_of, scored))
    for task, scorer in (("sentiment", cfg.sentiment_model), ("safety", cfg.cost_model)):
        if task in tasks:
            score.check_scorer(scorer)
        else:
            cache.check_path(scorer, fix=f"or drop it (this run scores no {task})")
    if cfg.source is not None and set(datasets) <= set(GENERATED):
        raise ElasticError(f"source={cfg.source} is given but no dataset of this run reads it "
                           f"({', '.join(dict.fromkeys(datasets))} are generated): drop source, or draw from "
                           "the hub dataset it copies")
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
