"""Synthetic sources whose distribution over token sequences is known exactly.

They stand in for real corpora wherever the book needs ground truth: a sequence's probability,
and so the true token tree, can be computed rather than estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elastic.errors import ElasticError


def _sample_lengths(n: int, seed, stop_prob: float, max_len: int) -> tuple[np.random.Generator, np.ndarray]:
    """The generator of a sample of ``n`` sequences and their lengths, drawn before any token:
    stop with ``stop_prob`` before every token, and at ``max_len`` tokens at the latest."""
    if n < 1:
        raise ElasticError(f"sample size n={n} must be >= 1")
    rng = np.random.default_rng(seed)
    return rng, np.minimum(rng.geometric(stop_prob, size=n) - 1, max_len)


@dataclass(frozen=True)
class IIDSource:
    """Tokens drawn i.i.d. from ``token_probs``; after each token the sequence stops with
    probability ``stop_prob``, and it always stops at ``max_len`` tokens.

    ``P(x) = s^{[|x| < L]} (1 - s)^{|x|} prod_t q(x_t)`` for ``|x| <= L`` (``s`` = stop_prob,
    ``L`` = max_len, ``q`` = token_probs); the empty sequence has probability ``s``.

    Chapters: token_tree, compression_protocol, joint_compression, mass_distribution, hookes_law. Paper: the generated corpora of §2-3.
    """

    token_probs: tuple[float, ...]
    stop_prob: float
    max_len: int

    def __post_init__(self):
        q = np.asarray(self.token_probs, dtype=float)
        if q.ndim != 1 or len(q) == 0 or (q < 0).any() or not np.isclose(q.sum(), 1.0):
            raise ElasticError(f"token_probs must be a probability vector, got {self.token_probs}")
        if not 0 < self.stop_prob <= 1:
            raise ElasticError(f"stop_prob={self.stop_prob} must lie in (0, 1]")
        if self.max_len < 0:
            raise ElasticError(f"max_len={self.max_len} must be >= 0")

    @property
    def vocab_size(self) -> int:
        return len(self.token_probs)

    def sample(self, n: int, seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` sequences as a padded ``(n, max_len)`` array (pad -1) and their lengths."""
        rng, lengths = _sample_lengths(n, seed, self.stop_prob, self.max_len)
        tokens = rng.choice(self.vocab_size, size=(n, self.max_len), p=self.token_probs)
        tokens[np.arange(self.max_len) >= lengths[:, None]] = -1
        return tokens.astype(np.int64), lengths.astype(np.int64)

    def probability(self, sequence) -> float:
        """Exact ``P(x)`` of one sequence."""
        x = np.asarray(sequence, dtype=np.int64)
        if len(x) > self.max_len or (x < 0).any() or (x >= self.vocab_size).any():
            return 0.0
        stop = self.stop_prob if len(x) < self.max_len else 1.0
        return float(stop * (1 - self.stop_prob) ** len(x) * np.prod(np.asarray(self.token_probs)[x]))


@dataclass(frozen=True)
class MarkovSource:
    """A first-order Markov source with an end-of-sequence event: the first token is drawn from
    ``initial``, each next token from row ``x_{t-1}`` of ``transition``; before every token the
    sequence stops with probability ``stop_prob``, and it always stops at ``max_len`` tokens.

    ``P(x) = s^{[|x| < L]} (1 - s)^{|x|} initial[x_1] prod_{t>1} transition[x_{t-1}, x_t]``.
    """

    initial: tuple[float, ...]
    transition: tuple[tuple[float, ...], ...]
    stop_prob: float
    max_len: int

    def __post_init__(self):
        pi, trans = np.asarray(self.initial, float), np.asarray(self.transition, float)
        if pi.ndim != 1 or (pi < 0).any() or not np.isclose(pi.sum(), 1.0):
            raise ElasticError(f"initial must be a probability vector, got {self.initial}")
        if trans.shape != (len(pi), len(pi)) or (trans < 0).any() or not np.allclose(trans.sum(1), 1.0):
            raise ElasticError(f"transition must be a {len(pi)}x{len(pi)} matrix whose rows sum to 1")
        if not 0 < self.stop_prob <= 1 or self.max_len < 0:
            raise ElasticError("stop_prob must lie in (0, 1] and max_len be >= 0")

    @property
    def vocab_size(self) -> int:
        return len(self.initial)

    def sample(self, n: int, seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` sequences as a padded ``(n, max_len)`` array (pad -1) and their lengths."""
        rng, lengths = _sample_lengths(n, seed, self.stop_prob, self.max_len)
        tokens = np.full((n, self.max_len), -1, dtype=np.int64)
        cumulative = np.cumsum(np.asarray(self.transition, float), axis=1)
        state = rng.choice(self.vocab_size, size=n, p=self.initial)
        for t in range(self.max_len):
            alive = lengths > t
            tokens[alive, t] = state[alive]
            u = rng.random(n)[:, None]
            state = np.minimum((u > cumulative[state]).sum(1), self.vocab_size - 1)
        return tokens, lengths.astype(np.int64)

    def log2_probability(self, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Exact ``log2 P(x)`` of each padded sequence (``-inf`` where ``P(x) = 0``)."""
        tokens, lengths = np.atleast_2d(tokens), np.atleast_1d(lengths)
        s = self.stop_prob
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pi = np.log2(np.asarray(self.initial, float))
            log_t = np.log2(np.asarray(self.transition, float))
            out = (np.where(lengths < self.max_len, np.log2(s), 0.0)
                   + np.where(lengths > 0, lengths * np.log2(1 - s), 0.0))
        first = lengths > 0
        out[first] += log_pi[tokens[first, 0]]
        for t in range(1, tokens.shape[1]):
            step = lengths > t
            out[step] += log_t[tokens[step, t - 1], tokens[step, t]]
        out[lengths > self.max_len] = -np.inf
        return out

    def probability(self, sequence) -> float:
        x = np.asarray(sequence, dtype=np.int64)
        if len(x) > self.max_len or (x < 0).any() or (x >= self.vocab_size).any():
            return 0.0
        padded = np.full((1, max(self.max_len, 1)), -1, dtype=np.int64)
        padded[0, : len(x)] = x
        return float(2.0 ** self.log2_probability(padded, np.array([len(x)]))[0])

    def entropy(self) -> float:
        """Exact entropy ``H(P)`` in bits of the distribution over whole sequences.

        By the chain rule, ``H = sum_t P(|x| >= t) [h(stop) + (1 - s) H(x_{t+1} | x_t)]`` with the
        token's state distribution propagated through ``transition``; no enumeration needed.
        """
        pi, trans = np.asarray(self.initial, float), np.asarray(self.transition, float)
        s = self.stop_prob
        h_stop = -sum(p * np.log2(p) for p in (s, 1 - s) if p > 0)
        h_rows = -np.sum(np.where(trans > 0, trans * np.log2(np.where(trans > 0, trans, 1)), 0.0), axis=1)
        h_first = -np.sum(pi[pi > 0] * np.log2(pi[pi > 0]))
        total, alive, state = 0.0, 1.0, pi
        for t in range(self.max_len):
            step_entropy = h_first if t == 0 else float(state @ h_rows)
            total += alive * (h_stop + (1 - s) * step_entropy)
            alive *= 1 - s
            if t > 0:
                state = state @ trans
        return total


@dataclass(frozen=True)
class AttributeSource:
    """Two Markov sources over one vocabulary that differ in one attribute (think sentiment), and
    their mixture, all with exact probabilities.

    The vocabulary's first half is the *positive* class, the second half the *negative* one. Every
    token is drawn in two steps: its class, positive with probability ``rho[a]`` for attribute
    ``a`` (0: ``+``, 1: ``-``) whatever came before, then the token inside that class from the
    shared kernel ``base`` (row ``x_{t-1}``, or ``base_initial`` for the first token) restricted to
    the class and renormalised. Both attributes share ``stop_prob`` and ``max_len``, so

    ``P_a(x) = P(|x|) rho_a^{k} (1 - rho_a)^{|x| - k} B(x)``, with ``k`` = the number of positive
    tokens and ``B(x)`` the within-class factor common to both attributes. The mixture
    ``P(x) = sum_a w_a P_a(x)`` (``w`` = ``weights``) is the pre-training source; the Bayes
    posterior ``P(+ | x)`` depends on ``(|x|, k)`` only, which makes the mixture's entropy exact:
    ``H(P) = H(w) + sum_a w_a H(P_a) - H(A | X)`` with ``H(A | X)`` summed over ``(|x|, k)``.

    Chapters: lifecycle. Paper: beyond the paper.
    """

    base_initial: tuple[float, ...]
    base: tuple[tuple[float, ...], ...]
    rho: tuple[float, float]
    weights: tuple[float, float]
    stop_prob: float
    max_len: int

    def __post_init__(self):
        v = len(self.base_initial)
        pi, b = np.asarray(self.base_initial, float), np.asarray(self.base, float)
        if v < 2 or v % 2:
            raise ElasticError(f"the vocabulary needs an even size >= 2 (two classes), got {v}")
        if b.shape != (v, v) or (b < 0).any() or (pi < 0).any():
            raise ElasticError(f"base must be a {v}x{v} non-negative matrix and base_initial of length {v}")
        halves = (slice(0, v // 2), slice(v // 2, v))
        if any(pi[h].sum() <= 0 or (b[:, h].sum(1) <= 0).any() for h in halves):
            raise ElasticError("base and base_initial need positive mass on both classes from every state")
        if len(self.rho) != 2 or not all(0 < r < 1 for r in self.rho):
            raise ElasticError(f"rho must hold two class probabilities in (0, 1), got {self.rho}")
        w = np.asarray(self.weights, float)
        if w.shape != (2,) or (w < 0).any() or not np.isclose(w.sum(), 1.0):
            raise ElasticError(f"weights must be two mixture weights summing to 1, got {self.weights}")

    @classmethod
    def random(cls, vocab_size: int = 8, *, rho: tuple[float, float] = (0.8, 0.2),
               weights: tuple[float, float] = (0.5, 0.5), stop_prob: float = 0.1, max_len: int = 16,
               concentration: float = 0.5, seed: int = 0) -> "AttributeSource":
        """A source whose shared kernel is drawn from a Dirichlet(``concentration``) per row:
        small concentrations give peaked rows, i.e. a grammar with strong regularities."""
        rng = np.random.default_rng(seed)
        base = rng.dirichlet(np.full(vocab_size, concentration), size=vocab_size + 1)
        base = 0.98 * base + 0.02 / vocab_size  # every transition possible, so P(x) > 0 on all x
        return cls(tuple(base[0]), tuple(map(tuple, base[1:])), rho, weights, stop_prob, max_len)

    @property
    def vocab_size(self) -> int:
        return len(self.base_initial)

    def component(self, attribute: int) -> MarkovSource:
        """``P_+`` (attribute 0) or ``P_-`` (attribute 1) as a :class:`MarkovSource`."""
        v = self.vocab_size
        positive = np.arange(v) < v // 2
        rho = self.rho[attribute]
        class_prob = np.where(positive, rho, 1 - rho)

        def restrict(rows):
            rows = np.atleast_2d(np.asarray(rows, float))
            mass = np.where(positive, rows[:, positive].sum(1, keepdims=True),
                            rows[:, ~positive].sum(1, keepdims=True))
            return class_prob * rows / mass

        return MarkovSource(tuple(restrict(self.base_initial)[0]), tuple(map(tuple, restrict(self.base))),
                            self.stop_prob, self.max_len)

    def sample(self, n: int, seed: int | np.random.Generator = 0, attribute: int | None = None):
        """``n`` sequences (padded tokens, lengths) from ``P_attribute``, or from the mixture when
        ``attribute`` is None (each sequence's attribute drawn with ``weights``)."""
        if attribute is not None:
            return self.component(attribute).sample(n, seed)
        rng = np.random.default_rng(seed)
        labels = rng.choice(2, size=n, p=self.weights)
        tokens = np.full((n, self.max_len), -1, dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        for a in (0, 1):
            rows = np.flatnonzero(labels == a)
            if len(rows):
                tokens[rows], lengths[rows] = self.component(a).sample(len(rows), rng)
        return tokens, lengths

    def log2_probability(self, tokens, lengths, attribute: int | None = None) -> np.ndarray:
        """Exact ``log2 P(x)`` under ``P_attribute`` or (None) the mixture."""
        if attribute is not None:
            return self.component(attribute).log2_probability(tokens, lengths)
        parts = np.stack([self.component(a).log2_probability(tokens, lengths) for a in (0, 1)])
        with np.errstate(divide="ignore"):
            return np.logaddexp2(parts[0] + np.log2(self.weights[0]), parts[1] + np.log2(self.weights[1]))

    def probability(self, sequence, attribute: int | None = None) -> float:
        x = np.asarray(sequence, dtype=np.int64)
        if attribute is not None:
            return self.component(attribute).probability(x)
        return float(sum(w * self.component(a).probability(x) for a, w in enumerate(self.weights)))

    def positive_counts(self, tokens, lengths) -> np.ndarray:
        """``k``: the number of positive-class tokens in each padded sequence."""
        tokens, lengths = np.atleast_2d(tokens), np.atleast_1d(lengths)
        inside = np.arange(tokens.shape[1]) < lengths[:, None]
        return ((tokens >= 0) & (tokens < self.vocab_size // 2) & inside).sum(1)

    def _posterior(self, n, k):
        """``P(+ | |x| = n, k positive tokens)`` under the mixture weights (broadcasts)."""
        r, w = self.rho, self.weights
        log_odds = (np.log(w[0] / w[1]) + k * np.log(r[0] / r[1])
                    + (n - k) * np.log((1 - r[0]) / (1 - r[1])))
        return 1 / (1 + np.exp(-log_odds))

    def posterior(self, tokens, lengths) -> np.ndarray:
        """The attribute score: the exact Bayes posterior ``P(+ | x)`` of each sequence."""
        lengths = np.atleast_1d(lengths)
        return self._posterior(lengths, self.positive_counts(tokens, lengths))

    def length_probs(self) -> np.ndarray:
        """``P(|x| = n)``, ``n = 0..max_len`` (the same for both attributes)."""
        s, n = self.stop_prob, np.arange(self.max_len + 1)
        return np.where(n < self.max_len, s, 1.0) * (1 - s) ** n

    def conditional_attribute_entropy(self) -> float:
        """``H(A | X)`` in bits: ``X`` reveals ``A`` only through ``(|x|, k)``, and given ``|x| = n``
        the count ``k`` is Binomial(n, rho_a) under attribute ``a``."""
        from scipy.stats import binom

        total = 0.0
        for n, p_len in enumerate(self.length_probs()):
            k = np.arange(n + 1)
            joint = np.stack([w * p_len * binom.pmf(k, n, r) for w, r in zip(self.weights, self.rho)])
            post = self._posterior(n, k)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = np.nan_to_num(-post * np.log2(post) - (1 - post) * np.log2(1 - post))
            total += float(np.sum(joint.sum(0) * h))
        return total

    def entropy(self, attribute: int | None = None) -> float:
        """Exact entropy in bits of ``P_attribute`` or (None) of the mixture."""
        if attribute is not None:
            return self.component(attribute).entropy()
        w = np.asarray(self.weights, float)
        h_w = -float(np.sum(w[w > 0] * np.log2(w[w > 0])))
        return (h_w + sum(wa * self.component(a).entropy() for a, wa in enumerate(w))
                - self.conditional_attribute_entropy())

    def mean_length(self) -> float:
        """``E|x|``, the expected number of tokens (without EOS)."""
        return float(np.arange(self.max_len + 1) @ self.length_probs())
