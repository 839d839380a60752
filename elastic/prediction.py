"""Compression is prediction: the code length of a text under a causal language model.

A causal LM ``p_theta`` assigns every token ``x_k`` of a text a probability given the tokens before
it. Arithmetic coding (:mod:`elastic.arithmetic`) turns these probabilities into a lossless code of

    L(x) = sum_k -log2 p_theta(x_k | x_<k)  bits                  (paper Sec. 2.1, up to 2 bits)

so the LM's log-loss on a text *is* its compressed size. :func:`code_length` computes ``L`` with one
forward pass per window; :class:`LMPredictor` gives the same probabilities one token at a time, with
the KV cache, for the coder; :func:`classic_code_lengths` sizes the same text with zlib, bz2 and
lzma for comparison.

Long texts are cut into windows of at most ``window`` tokens, each conditioned on a context token
(BOS, else EOS) and its own earlier tokens only (Delétang et al. likewise compress fixed-size
chunks): the model never sees more than its context length.
"""

from __future__ import annotations

import bz2
import lzma
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch

from elastic.errors import ElasticError

#: The classic compressors, each at its strongest setting; their sizes include container headers.
CLASSIC = {
    "zlib": lambda data: zlib.compress(data, 9),
    "bz2": lambda data: bz2.compress(data, 9),
    "lzma": lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME),
}


def nats_to_bits(nats):
    """An information content or a loss in nats (natural log, what trainers report) in bits.

    Chapters: compression_prediction.
    """
    return nats / math.log(2)


@dataclass(frozen=True)
class CodeLength:
    """``bits`` to code a text of ``n_bytes`` UTF-8 bytes that a tokenizer cut into ``n_tokens``."""

    bits: float
    n_tokens: int
    n_bytes: int
    #: -log2 p(x_k | x_<k) of each token (None for the classic compressors, which code bytes as a block)
    token_bits: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_loss(cls, loss_nats: float, n_tokens: int, n_bytes: int) -> "CodeLength":
        """The code length of a text on which a model's mean loss is ``loss_nats`` nats per token:
        the arithmetic code spends that loss, in bits, on every token.

        Chapters: compression_prediction.
        """
        return cls(nats_to_bits(loss_nats) * n_tokens, n_tokens, n_bytes)

    @property
    def bits_per_token(self) -> float:
        return self.bits / self.n_tokens if self.n_tokens else math.nan

    @property
    def bits_per_byte(self) -> float:
        return self.bits / self.n_bytes if self.n_bytes else math.nan

    def asdict(self) -> dict:
        return {"bits": self.bits, "n_tokens": self.n_tokens, "n_bytes": self.n_bytes,
                "bits_per_token": self.bits_per_token, "bits_per_byte": self.bits_per_byte}


def tokenize(tokenizer, text: str) -> list[int]:
    """The text's token ids, without special tokens (the context token is added by the coder).

    Chapters: compression_prediction. Paper: §2 (compression is prediction).
    """
    if not isinstance(text, str) or not text:
        raise ElasticError("text must be a non-empty string")
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def context_token(tokenizer) -> int:
    """The token every window is conditioned on: BOS, else EOS (GPT-style models have only EOS)."""
    for token in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token is not None:
            return int(token)
    raise ElasticError("tokenizer has neither a BOS nor an EOS token: set tokenizer.bos_token")


def max_window(model) -> int:
    """Tokens per window: the model's context length minus the context token."""
    config = model.config
    for name in ("max_position_embeddings", "n_positions"):
        if getattr(config, name, None):
            return int(getattr(config, name)) - 1
    raise ElasticError("model config has no max_position_embeddings: pass window= explicitly")


def _window(model, window: int | None) -> int:
    limit = max_window(model)
    window = limit if window is None else window
    if not 1 <= window <= limit:
        raise ElasticError(f"window={window} must lie in [1, {limit}] for this model's context length")
    return window


def code_length(model, tokenizer, text: str, *, window: int | None = None) -> CodeLength:
    """``sum_k -log2 p(x_k | x_<k)`` over the tokens of ``text``: one forward pass per window.

    Chapters: compression_prediction. Paper: §2 (compression is prediction).
    """
    ids = tokenize(tokenizer, text)
    window = _window(model, window)
    start = context_token(tokenizer)
    device = next(model.parameters()).device
    model.eval()
    token_bits = []
    with torch.inference_mode():
        for i in range(0, len(ids), window):
            chunk = ids[i:i + window]
            inputs = torch.tensor([[start, *chunk]], device=device)
            logp = torch.log_softmax(model(inputs).logits[0, :-1].double(), dim=-1)
            token_bits.append(nats_to_bits(-logp[torch.arange(len(chunk)), torch.tensor(chunk)].cpu().numpy()))
    token_bits = np.concatenate(token_bits)
    return CodeLength(bits=float(token_bits.sum()), n_tokens=len(ids), n_bytes=len(text.encode("utf-8")),
                      token_bits=token_bits)


def classic_code_lengths(text: str) -> dict[str, CodeLength]:
    """The size of ``text`` (UTF-8) under zlib, bz2 and lzma, as code lengths (token = byte).

    Chapters: compression_prediction.
    """
    data = text.encode("utf-8")
    return {name: CodeLength(bits=8.0 * len(compress(data)), n_tokens=len(data), n_bytes=len(data))
            for name, compress in CLASSIC.items()}


class LMPredictor:
    """A causal LM as a predictor for :mod:`elastic.arithmetic`: ``self(prefix)`` is
    ``p(. | prefix)`` as float64 (softmax of the logits in float64), one cached forward step per
    new token.

    Its output depends only on the prefix: a prefix that does not extend the last one by a single
    token is replayed from the start, step by step, so encoding and decoding compute every
    probability with the same operations and get the same bits. The windows are those of
    :func:`code_length`; the probabilities agree with it up to float32 rounding (cached steps
    and a full forward pass sum in different orders).

    Chapters: compression_prediction. Paper: §2 (compression is prediction).
    """

    def __init__(self, model, tokenizer, *, window: int | None = None):
        self.model = model.eval()
        self.window = _window(model, window)
        self.start = context_token(tokenizer)
        self.vocab_size = int(model.config.vocab_size)
        self.device = next(model.parameters()).device
        self._fed: tuple[int, ...] = ()
        self._cache = None
        self._probs = None

    def __call__(self, prefix) -> np.ndarray:
        prefix = tuple(int(t) for t in prefix)
        if self._probs is not None and prefix == self._fed:
            return self._probs
        if self._probs is not None and len(prefix) == len(self._fed) + 1 and prefix[:-1] == self._fed:
            self._step(prefix)
        else:
            self._replay(prefix)
        return self._probs

    def _replay(self, prefix: tuple[int, ...]) -> None:
        self._fed, self._probs = (), None
        self._step(())
        for t in range(1, len(prefix) + 1):
            self._step(prefix[:t])

    def _step(self, prefix: tuple[int, ...]) -> None:
        """Feed the one token that extends ``self._fed`` to ``prefix`` (or open a new window)."""
        if len(prefix) % self.window == 0:
            self._cache, token = None, self.start
        else:
            token = prefix[-1]
            if not 0 <= token < self.vocab_size:
                raise ElasticError(f"token {token} is outside the model's vocabulary of {self.vocab_size}")
        with torch.inference_mode():
            out = self.model(torch.tensor([[token]], device=self.device),
                             past_key_values=self._cache, use_cache=True)
        self._cache = out.past_key_values
        logits = out.logits[0, -1].double()
        self._probs = torch.softmax(logits, dim=-1).cpu().numpy()
        self._fed = prefix
