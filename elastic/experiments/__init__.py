"""Experiments: one module per chapter computation, each with a ``Config`` and a ``run(config)``
that writes ``results/<preset>/<name>.json`` and returns the record; and the one flow from a preset
to a typed config (:func:`load_config`)."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from elastic import config
from elastic.errors import ElasticError


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def module(name: str):
    if name not in names():
        raise ElasticError(f"unknown experiment {name!r}; valid experiments: {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{name}")


def config_class(name: str):
    return module(name).Config


def pinned_threads(run):
    """``run(cfg)`` with torch's thread count at ``cfg.num_threads`` (0: as the process has it),
    and the process's count restored afterwards. Float sums depend on the count, so a run's numbers
    must not depend on what ran before it in the same kernel or test session."""

    @functools.wraps(run)
    def pinned(cfg):
        import torch

        threads = torch.get_num_threads()
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        try:
            return run(cfg)
        finally:
            torch.set_num_threads(threads)

    return pinned


def results_name(name: str) -> str:
    """The results file ``results/<preset>/<results_name>.json`` an experiment writes: its
    module's ``RESULTS`` where the issue fixed another name (``theorem``), else its own name."""
    return getattr(module(name), "RESULTS", name)


def load_config(name: str, preset: str, **overrides):
    """The ``Config`` of experiment ``name`` under ``preset`` (see :mod:`elastic.config`), with
    ``overrides`` applied.

    An unknown preset, an unknown parameter or a value of the wrong type raises an
    :class:`ElasticError` whose one line lists the valid choices.
    """
    cls = config_class(name)
    valid = config.field_names(cls)
    values = {k: config.freeze(v) for k, v in config.preset_section(name, preset, cls).items()}
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ElasticError(
            f"unknown parameter(s) {', '.join(unknown)} for {name}; "
            f"valid parameters: {', '.join(valid)}"
        )
    values.update({k: config.freeze(v) for k, v in overrides.items()})
    values["preset"] = preset
    return cls(**values)


def overrides_of(name: str, cfg) -> dict:
    """The fields where ``cfg`` departs from its preset's values: what makes a run one of its own
    (see :func:`elastic.results.run_dir`); {} for the preset's own run."""
    own = load_config(name, cfg.preset).asdict()
    return {k: v for k, v in cfg.asdict().items() if own[k] != v}
