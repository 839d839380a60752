"""Arithmetic coding driven by a model's next-token probabilities: prediction turned into bits.

A *predictor* is any callable ``predict(prefix) -> probabilities``: given the tokens so far (a
tuple of ints) it returns the model's distribution ``p(. | prefix)`` over the next token as a 1-D
array. The coder narrows the interval ``[0, 1)`` to the sub-interval of each token in turn, so after
``x_1 .. x_n`` its width is ``prod_t q(x_t | x_<t)``, with ``q`` the model's ``p`` quantized to
integer frequencies. It then sends the shortest binary fraction whose whole dyadic interval lies
inside, which takes

    ell(x) < sum_t -log2 q(x_t | x_<t) + 2  bits                      (Cover & Thomas, Sec. 13.3)

and the quantization costs at most ``V / (2^P ln 2)`` bit per token (``V`` the vocabulary size,
``P`` = ``precision_bits``; see :func:`quantize`). The interval is kept as exact Python integers,
so coding is exact but costs O(n^2 P) bit operations: fine for the few thousand tokens the book
codes, not a streaming compressor.

Decoding calls the predictor on exactly the prefixes encoding called it on, in the same order, so a
predictor whose output depends only on the prefix it is given decodes losslessly
(:class:`elastic.prediction.LMPredictor` makes a causal LM one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from elastic.errors import ElasticError

Predictor = Callable[[tuple[int, ...]], np.ndarray]

#: Default quantization: frequencies sum to 2^40, so even a 50k vocabulary costs < 1e-7 bit/token.
PRECISION_BITS = 40


@dataclass(frozen=True)
class Code:
    """An arithmetic code: ``bits`` as a '0'/'1' string for a message of ``n_tokens`` tokens.

    The token count travels beside the bits; given it, the code is prefix-free, so it also marks
    its own end within a longer stream.
    """

    bits: str
    n_tokens: int
    #: sum_t -log2 p(x_t | x_<t) under the probabilities the coder used (nan for a Code made by hand)
    ideal_bits: float = field(default=math.nan, compare=False)

    @property
    def n_bits(self) -> int:
        return len(self.bits)


def quantize(probs, precision_bits: int = PRECISION_BITS) -> np.ndarray:
    """Integer frequencies ``f`` with ``sum f = 2^P`` and every ``f_v >= 1``.

    ``f_v = floor(p_v (2^P - V)) + 1``, then the rounding remainder goes to the most likely token.
    Since ``f_v >= p_v (2^P - V)``, coding ``v`` with ``f_v / 2^P`` instead of ``p_v`` costs at most
    ``-log2(1 - V/2^P) ~ V / (2^P ln 2)`` extra bits, and a token of probability 0 stays codable.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ElasticError(f"the model gave a distribution of shape {p.shape}: it must be a non-empty 1-D vector")
    if not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ElasticError("the model gave an empty or invalid distribution (negative, NaN or all zero): fix the predictor")
    if not 8 <= precision_bits <= 60:
        raise ElasticError(f"precision_bits={precision_bits} must lie in [8, 60] (int64 frequencies)")
    total = 1 << precision_bits
    if p.size * 2 > total:
        raise ElasticError(f"vocabulary of {p.size} tokens needs precision_bits > {precision_bits}")
    p = p / p.sum()
    freqs = np.floor(p * float(total - p.size)).astype(np.int64) + 1
    top = int(np.argmax(freqs))
    freqs[top] += total - int(freqs.sum())
    if freqs[top] < 1:  # cannot happen for a normalized p; guards against silent corruption
        raise ElasticError("quantization failed: raise precision_bits")
    return freqs


def _frequencies(predict: Predictor, prefix: tuple[int, ...], precision_bits: int):
    probs = np.asarray(predict(prefix), dtype=np.float64)
    freqs = quantize(probs, precision_bits)
    return probs / probs.sum(), freqs, np.concatenate(([0], np.cumsum(freqs)))


def encode(tokens: Sequence[int], predict: Predictor, *, precision_bits: int = PRECISION_BITS,
           progress: bool = False) -> Code:
    """Arithmetic-code ``tokens`` under ``predict``; see the module docstring for the length bound.
    ``progress`` shows a bar (one model call per token can be slow for a large model).

    Chapters: compression_prediction. Paper: §2 (compression is prediction).
    """
    tokens = tuple(int(t) for t in tokens)
    low, width, scale = 0, 1, 0      # the interval [low, low + width) / 2^scale
    ideal = 0.0
    for t, token in enumerate(tqdm(tokens, desc="encode", unit="token", disable=not progress)):
        probs, freqs, cum = _frequencies(predict, tokens[:t], precision_bits)
        if not 0 <= token < len(freqs):
            raise ElasticError(f"token {token} at position {t} is outside the model's vocabulary of {len(freqs)}")
        ideal += -math.log2(probs[token]) if probs[token] > 0 else math.inf
        low = (low << precision_bits) + width * int(cum[token])
        width *= int(freqs[token])
        scale += precision_bits
    # The fewest bits k whose dyadic interval [c, c + 1) / 2^k fits inside the final interval:
    # k >= -log2(width / 2^scale) is needed, and one bit more always suffices.
    k = scale + 1 - width.bit_length()
    c = -((-low << k) >> scale)                     # ceil(low * 2^k / 2^scale)
    if (c + 1) << scale > (low + width) << k:
        k += 1
        c = -((-low << k) >> scale)
    bits = format(c, "b").zfill(k) if k else ""
    return Code(bits=bits, n_tokens=len(tokens), ideal_bits=ideal)


def decode(code: Code, predict: Predictor, *, precision_bits: int = PRECISION_BITS,
           progress: bool = False) -> list[int]:
    """The ``code.n_tokens`` tokens that :func:`encode` coded into ``code.bits`` under ``predict``.

    Chapters: compression_prediction. Paper: §2 (compression is prediction).
    """
    if code.bits and set(code.bits) - {"0", "1"}:
        raise ElasticError("code.bits must hold only '0' and '1': decode the Code that encode() returned")
    k = code.n_bits
    value = int(code.bits, 2) if k else 0     # the point value / 2^k, inside every interval below
    low, width, scale = 0, 1, 0
    tokens: list[int] = []
    for _ in tqdm(range(code.n_tokens), desc="decode", unit="token", disable=not progress):
        _, freqs, cum = _frequencies(predict, tuple(tokens), precision_bits)
        # Position of the point inside [low, low + width) / 2^scale, in units of 1/2^P.
        offset = (value << scale) - (low << k)
        target = (offset << precision_bits) // (width << k)
        token = int(np.searchsorted(cum, target, side="right")) - 1
        tokens.append(token)
        low = (low << precision_bits) + width * int(cum[token])
        width *= int(freqs[token])
        scale += precision_bits
    return tokens


def log_loss_bits(tokens: Sequence[int], predict: Predictor) -> float:
    """``sum_t -log2 p(x_t | x_<t)``: the ideal code length the coder approaches (inf if p = 0)."""
    tokens = tuple(int(t) for t in tokens)
    total = 0.0
    for t, token in enumerate(tokens):
        p = np.asarray(predict(tokens[:t]), dtype=np.float64)
        if not 0 <= token < p.size:
            raise ElasticError(f"token {token} at position {t} is outside the model's vocabulary of {p.size}")
        total += -math.log2(p[token] / p.sum()) if p[token] > 0 else math.inf
    return total
