"""The common record, sampling without silent truncation, and prompts cut from the start of a text.

Every loader and generator in :mod:`elastic.data` hands out :class:`Record` objects (or plain review
texts that :func:`prompt_records` turns into records), so the training and scoring code never needs
to know where a sample came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence, TypeVar

import numpy as np

from elastic.errors import ElasticError

T = TypeVar("T")

#: Positive (aligned) sample sizes of the rebound experiments (Ji et al., §4.2).
POSITIVE_SIZES = (1000, 2000, 5000, 10000)
#: Negative (inverse-alignment) sample sizes of the rebound experiments (Ji et al., §4.2).
NEGATIVE_SIZES = (100, 200, 500, 1000, 2000)
#: A review's prompt is its first k tokens, k drawn uniformly from this closed range (§4.2,
#: following the IMDb setup of DPO).
PROMPT_TOKENS = (2, 8)


@dataclass(frozen=True)
class Record:
    """One sample: the ``prompt`` a model sees, the ``response`` it is trained on, and a ``label``
    (``"positive"``/``"negative"``, ``"safe"``/``"unsafe"``, or the dataset's name for plain SFT data)."""

    prompt: str
    response: str
    label: str

    @property
    def text(self) -> str:
        """Prompt and response as one training text (the response carries its own leading space)."""
        return self.prompt + self.response


@dataclass(frozen=True)
class Pair:
    """Held-out texts of both sides for the likelihood margin (:mod:`elastic.margin`): a
    ``positive`` (aligned: positive, safe) and a ``negative`` record. From the generators and
    PKU-SafeRLHF both continue the same prompt; IMDb has no such pairs, so there each side keeps
    the prompt cut from its own review."""

    positive: Record
    negative: Record


def sample(items: Sequence[T], n: int, seed: int = 0, *, name: str = "split") -> list[T]:
    """``n`` distinct items of ``items`` in a seeded random order.

    Asking for more than the split holds is an error naming its size, never a shorter list.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ElasticError(f"sample size n={n!r} for {name} must be a positive integer")
    if n > len(items):
        raise ElasticError(f"asked for n={n} samples but {name} holds only {len(items)}: lower n")
    order = np.random.default_rng(seed).permutation(len(items))[:n]
    return [items[i] for i in order]


def split_prompt(text: str, n_tokens: int, tokenizer=None) -> tuple[str, str]:
    """``text`` cut after its first ``n_tokens`` tokens: ``(prompt, response)`` with
    ``prompt + response == text``.

    With a (fast) ``tokenizer`` the tokens are its own, without special tokens; without one they are
    whitespace-separated words, which is what we use when no model is fixed yet. A text with no more
    than ``n_tokens`` tokens is all prompt.
    """
    if n_tokens < 1:
        raise ElasticError(f"n_tokens={n_tokens} must be >= 1")
    if tokenizer is None:
        words = list(re.finditer(r"\S+", text))
        cut = words[n_tokens - 1].end() if len(words) > n_tokens else len(text)
    else:
        if not getattr(tokenizer, "is_fast", False):
            raise ElasticError("split_prompt needs a fast tokenizer (offsets): load it with use_fast=True")
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        cut = offsets[n_tokens - 1][1] if len(offsets) > n_tokens else len(text)
    return text[:cut], text[cut:]


def prompt_records(
    texts: Sequence[str], label: str, *, seed: int = 0, tokenizer=None, n_tokens: tuple[int, int] = PROMPT_TOKENS
) -> list[Record]:
    """Records whose prompt is the first k tokens of each text, k uniform in ``n_tokens`` (inclusive)
    and seeded, the rest being the response: how Ji et al. (§4.2) prompt with IMDb reviews."""
    low, high = n_tokens
    if not 1 <= low <= high:
        raise ElasticError(f"n_tokens={n_tokens} must be a range 1 <= low <= high")
    ks = np.random.default_rng(seed).integers(low, high + 1, size=len(texts))
    return [Record(*split_prompt(t, int(k), tokenizer), label) for t, k in zip(texts, ks)]
