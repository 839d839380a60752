"""Quiet, informative progress: one bar per experiment (its cells, with the stage it is in), one per
chapter and one for the book (``python -m elastic regenerate``), and nothing else.

The libraries' own progress bars (transformers' loading and saving, datasets' maps, the hub's
downloads), trl's per-step metric dicts and the deprecation warnings of the libraries' calls into
each other are silenced, unless the verbosity flag asks for them:
``--verbose`` on ``python -m elastic run|regenerate|bench``, or ``ELASTIC_VERBOSE=1`` in the
environment (which papermill's kernels inherit). :func:`quiet_libraries` runs when ``elastic`` is
imported, before any of those libraries is.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

VERBOSE = "ELASTIC_VERBOSE"
#: The libraries' switches for their bars, read when each is imported.
_LIBRARY_SWITCHES = ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS")

#: Deprecation warnings the libraries raise from their own calls, which no code of the book makes:
#: trl (every DPO step) and peft (every LoRA model) read transformers 5's ``is_gradient_checkpointing``.
_LIBRARY_WARNINGS = (r"`is_gradient_checkpointing` is deprecated",)

_current = None  # the running experiment's bar


def verbose() -> bool:
    """Whether the libraries may print their own bars and logs."""
    return os.environ.get(VERBOSE, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """Set the flag for this process and the processes it starts, and apply it."""
    os.environ[VERBOSE] = "1" if on else "0"
    quiet_libraries()


def quiet_libraries() -> None:
    """Silence (or, when verbose, restore) the libraries' progress bars, in the environment for
    libraries not imported yet and through their own switches for those already imported."""
    quiet = not verbose()
    for message in _LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore" if quiet else "default", message=message, category=FutureWarning)
    for name in _LIBRARY_SWITCHES:
        if quiet:
            os.environ[name] = "1"
        elif os.environ.get(name) == "1":
            del os.environ[name]
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        (disable_progress_bars if quiet else enable_progress_bars)()
    if "transformers" in sys.modules:
        from transformers.utils import logging

        (logging.disable_progress_bar if quiet else logging.enable_progress_bar)()
    if "datasets" in sys.modules:
        import datasets

        (datasets.disable_progress_bars if quiet else datasets.enable_progress_bars)()


@contextlib.contextmanager
def experiment(total: int, desc: str):
    """The experiment's one bar: ``total`` cells (or stages); :func:`stage` names the one running."""
    global _current
    from tqdm.auto import tqdm

    outer, _current = _current, tqdm(total=total, desc=desc, unit="cell")
    try:
        yield _current
    except BaseException:
        _current.leave = False  # the bar is erased: a failed run's one line on stderr is its error
        raise
    finally:
        _current.close()
        _current = outer


def stage(text: str) -> None:
    """Show what the running experiment is doing now (``SFT positive 32``, ``generating``, ...)."""
    if _current is not None:
        _current.set_postfix_str(text, refresh=True)


def inner(iterable, **kwargs):
    """A helper's own bar (batches of a scorer, ...): shown only when verbose."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not verbose(), leave=False, **kwargs)
