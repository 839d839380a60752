"""Presets and configs: the types, checks and preset files of the one flow from a preset name to
a typed config (which :func:`elastic.experiments.load_config` completes with the experiment's
``Config`` class).

A preset (one of :data:`PRESETS`) is a YAML file in ``elastic/presets/`` with one section per
experiment; the keys of a section are the fields of that experiment's ``Config`` dataclass, so there
is nothing to translate between the two. Its ``shared`` section holds what every fine-tuning
chapter has in common: the trainer's own fields (:class:`TrainerFields`, named as
``trl.SFTConfig`` / ``DPOConfig`` name them, as alignment-handbook recipes do) and the generation and
evaluation sizes. An experiment whose ``Config`` has trainer fields inherits every key of
``shared``; its own section overrides any of them, and ``--set`` / papermill override both.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path

import yaml

from elastic.errors import ElasticError

#: The presets, smallest first: every other list of presets is read from here.
PRESETS = ("smoke", "cpu", "colab", "paper")
#: The presets that load hub models on a GPU: what the GPU plan checks and a rehearsal runs on CPU.
GPU_PRESETS = ("colab", "paper")
PRESET_DIR = Path(__file__).parent / "presets"
#: The section of a preset that the fine-tuning chapters inherit (see the module docstring).
SHARED = "shared"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Checked:
    """Fields checked on creation: each of its type, and in its range (:func:`_check_range`)."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            _check_type(field.name, value, hints[field.name])
            _check_range(field.name, value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExperimentConfig(Checked):
    """Fields every experiment has; each experiment's ``Config`` extends it."""

    preset: str = "smoke"
    seed: int = 0

    def asdict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerFields(Checked):
    """The trainer's own fields (``trl.SFTConfig`` / ``DPOConfig`` names) of a fine-tuning chapter.

    The defaults are the optimizer of Ji et al.: AdamW with β1 = 0.99, β2 = 0.95 and weight decay
    0.01 (arXiv v1 §3.3.1; the ACL version's Appendix C does not repeat them; β1 = 0.99 is as
    printed), one epoch of SFT (§4.1). The paper states neither learning rate nor schedule: 1e-5 and
    a constant rate (so that equal fractions of the epoch are equal amounts of training between
    slices) are our choices. Each preset states its values in its ``shared`` section.
    """

    learning_rate: float = 1e-5
    num_train_epochs: float = 1.0        #: passes over the data in every fine-tuning stage
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 128                #: tokens per training text
    optim: str = "adamw_torch"
    adam_beta1: float = 0.99
    adam_beta2: float = 0.95
    weight_decay: float = 0.01
    lr_scheduler_type: str = "constant"
    #: None: the hardware's choice (:func:`elastic.train.default_args`: on GPUs only)
    gradient_checkpointing: bool | None = None
    bf16: bool | None = None             #: None: where :func:`elastic.models.pick_dtype` picks bf16
    #: SFT batches without padding (:mod:`elastic.packing`; the lean loop's, since trl's needs
    #: FlashAttention); DPO pads (trl 1.16 disabled its padding-free DPO). None: padded.
    padding_free: bool | None = None
    #: which implementation runs SFT: "lean" (a plain loop, one process) or "trl" (the Trainer: several
    #: processes, DeepSpeed/FSDP); None: :func:`elastic.train.default_args`'s. DPO always runs trl.
    backend: str | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.backend not in (None, "lean", "trl"):
            raise ElasticError(f"parameter backend={self.backend!r}: give lean or trl")

    def trainer_args(self) -> dict:
        """The trainer fields to pass to :mod:`elastic.train` (those left to the hardware omitted)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainerFields)
                if getattr(self, f.name) is not None}


#: Lengths and passes that must be positive beside the counts (``num_threads`` 0 means torch's default).
_POSITIVE = ("max_new_tokens", "max_length")
#: counts whose 0 turns off a measurement no verdict reads (the lifecycle's sampled secondary score)
_MAY_BE_ZERO = ("n_generate",)


def _check_range(name: str, value) -> None:
    """Ranges beside types: finite floats, positive counts, lengths and epochs, no empty lists."""
    if isinstance(value, tuple) and not value:
        raise ElasticError(f"parameter {name}=[]: give at least one value")
    if name == "seeds" and (len(value) < 2 or len(set(value)) != len(value)):
        # every verdict over seeds is an interval over them (elastic.power)
        raise ElasticError(f"seeds={list(value)}: give at least 2 distinct seeds (an interval needs them)")
    for v in _values(value):
        if isinstance(v, float) and not math.isfinite(v):
            raise ElasticError(f"parameter {name}={value!r}: give a finite number")
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if name in _MAY_BE_ZERO and v < 0:
            raise ElasticError(f"parameter {name}={value!r}: give 0 (not measured) or more")
        if (_is_count(name) or name in _POSITIVE) and v < 1 and name not in _MAY_BE_ZERO:
            raise ElasticError(f"parameter {name}={value!r}: counts and sizes must be >= 1")
        if name.endswith("epochs") and v <= 0:
            raise ElasticError(f"parameter {name}={value!r}: epochs must be > 0")
        if name == "num_threads" and v < 0:
            raise ElasticError(f"parameter {name}={value!r}: give 0 (torch's default) or more threads")


def _is_count(name: str) -> bool:
    """By convention ``n_*`` and ``*sizes`` fields count samples: zero or negative is a mistake."""
    return name.startswith("n_") or name.endswith("sizes")


def _values(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _check_type(name: str, value, hint) -> None:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if any(_matches(value, h) for h in typing.get_args(hint)):
            return
    elif _matches(value, hint):
        return
    raise ElasticError(f"parameter {name}={value!r} should be of type {_type_name(hint)}")


def _matches(value, hint) -> bool:
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item, _) = typing.get_args(hint)
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def preset_sections(preset: str) -> dict:
    """Every section of ``preset``'s file as written (``shared`` included)."""
    if preset not in PRESETS:
        raise ElasticError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    return read_yaml(PRESET_DIR / f"{preset}.yaml") or {}


def experiment_sections(preset: str) -> list[str]:
    """The experiments ``preset`` configures, in the file's order."""
    return [name for name in preset_sections(preset) if name != SHARED]


def preset_section(experiment: str, preset: str, cls: type | None = None, *, shared: bool = False) -> dict:
    """The preset values of one experiment: its own section over the ``shared`` one. Given its
    ``Config`` class ``cls``, only chapters with :class:`TrainerFields` inherit ``shared``, and a key
    ``cls`` lacks, in either section, is an error naming the key, the section and the valid fields
    (what :func:`elastic.experiments.load_config` reads); without ``cls``, ``shared`` is inherited
    when asked for, unchecked (what the GPU plan reads, which knows its fine-tuning chapters)."""
    sections = preset_sections(preset)
    if experiment not in sections:
        raise ElasticError(f"preset {preset!r} has no section {experiment!r}: add one to {PRESET_DIR / f'{preset}.yaml'}")
    inherits = shared if cls is None else issubclass(cls, TrainerFields)
    inherited = (sections.get(SHARED) or {}) if inherits else {}
    own = sections[experiment] or {}
    if cls is None:
        return {**inherited, **own}
    valid = field_names(cls)
    for where, values in ((f"section {SHARED!r}", inherited), (f"section {experiment!r}", own)):
        stale = sorted(set(values) - set(valid))
        if stale:
            raise ElasticError(
                f"preset {preset!r} sets unknown field(s) {', '.join(stale)} for {experiment} in its {where}; "
                f"valid fields: {', '.join(valid)}"
            )
    return {**inherited, **own}


def trainer_args(preset: str) -> dict:
    """The trainer fields of ``preset``'s ``shared`` section, over :class:`TrainerFields`'s defaults."""
    shared = preset_sections(preset).get(SHARED) or {}
    names = field_names(TrainerFields)
    return TrainerFields(**{k: freeze(v) for k, v in shared.items() if k in names}).trainer_args()


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice is an error, not a silent replacement."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ElasticError(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path):
    """A YAML file that must parse, with no key given twice; errors name the file and the line."""
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except ElasticError as exc:
        raise ElasticError(f"{path}: {exc}: remove one of them") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ElasticError(f"{path} is not valid YAML{where}: fix that line") from exc


def freeze(value):
    """YAML and papermill give lists; configs are frozen, so they hold tuples."""
    return tuple(freeze(v) for v in value) if isinstance(value, list) else value
