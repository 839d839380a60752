"""Presets and configs: one flow from a preset name to a typed config.

A preset (``smoke``, ``cpu``, ``colab``, ``paper``) is a YAML file in ``elastic/presets/`` with one
section per experiment; the keys of a section are the fields of that experiment's ``Config``
dataclass, so there is nothing to translate between the two.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path

import yaml

from elastic.errors import ElasticError

PRESETS = ("smoke", "cpu", "colab", "paper")
PRESET_DIR = Path(__file__).parent / "presets"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """Fields every experiment has; each experiment's ``Config`` extends it."""

    preset: str = "smoke"
    seed: int = 0

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            _check_type(field.name, value, hints[field.name])
            _check_range(field.name, value)

    def asdict(self) -> dict:
        return dataclasses.asdict(self)


#: Lengths and passes that must be positive beside the counts (``num_threads`` 0 means torch's default).
_POSITIVE = ("max_new_tokens", "max_length")


def _check_range(name: str, value) -> None:
    """Ranges beside types: finite floats, positive counts, lengths and epochs, no empty lists."""
    if isinstance(value, tuple) and not value:
        raise ElasticError(f"parameter {name}=[]: give at least one value")
    for v in _values(value):
        if isinstance(v, float) and not math.isfinite(v):
            raise ElasticError(f"parameter {name}={value!r}: give a finite number")
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if (_is_count(name) or name in _POSITIVE) and v < 1:
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


def preset_section(experiment: str, preset: str) -> dict:
    """The raw preset values of one experiment (Path of the file in the error if missing)."""
    if preset not in PRESETS:
        raise ElasticError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    path = PRESET_DIR / f"{preset}.yaml"
    sections = read_yaml(path) or {}
    if experiment not in sections:
        raise ElasticError(f"preset {preset!r} has no section {experiment!r}: add one to {path}")
    return sections[experiment] or {}


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


def load(experiment: str, preset: str, **overrides):
    """The ``Config`` of ``experiment`` under ``preset``, with ``overrides`` applied.

    An unknown preset, an unknown parameter or a value of the wrong type raises an
    :class:`ElasticError` whose one line lists the valid choices.
    """
    from elastic import experiments

    cls = experiments.config_class(experiment)
    valid = field_names(cls)
    values = {k: _freeze(v) for k, v in preset_section(experiment, preset).items()}
    stale = sorted(set(values) - set(valid))
    if stale:
        raise ElasticError(
            f"preset {preset!r} sets unknown field(s) {', '.join(stale)} for {experiment}; "
            f"valid fields: {', '.join(valid)}"
        )
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ElasticError(
            f"unknown parameter(s) {', '.join(unknown)} for {experiment}; "
            f"valid parameters: {', '.join(valid)}"
        )
    values.update({k: _freeze(v) for k, v in overrides.items()})
    values["preset"] = preset
    return cls(**values)


def overrides_of(experiment: str, cfg) -> dict:
    """The fields where ``cfg`` departs from its preset's values: what makes a run one of its own
    (see :func:`elastic.results.run_dir`); {} for the preset's own run."""
    own = load(experiment, cfg.preset).asdict()
    return {k: v for k, v in cfg.asdict().items() if own[k] != v}


def _freeze(value):
    """YAML and papermill give lists; configs are frozen, so they hold tuples."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value
