"""The mass distribution of a pruned token tree (Ji et al., ACL Def. B.2 / arXiv Def. A.4) and the
tests of the assumption that it is Pareto (ACL Assumption B.6 / arXiv Assumption A.8).

Def. B.2 makes the leaf probability a random variable ``X`` with ``E[X] = 1``. Leaf probabilities
``p_1..p_M`` sum to one, so their plain average is ``1/M``; the only rescaling with mean one is

.. math:: X = M p_i, \\quad i \\text{ uniform over the } M \\text{ leaves},

which is also the substitution ``M p^{D_j} = X_{D_j}`` in the proof of Lemma B.4. We take the
leaves to be the EOS leaves with positive mass (``TokenTree.leaves()``, ``M`` = their number).

Assumption B.6 says ``X`` has the Pareto density ``alpha c^alpha / x^(alpha+1)`` on ``x >= c``,
with the same ``(alpha, c)`` for every dataset. This module fits that law by maximum likelihood
twice — to the whole distribution (``c`` = the smallest value, its MLE) and to the tail only, with
``x_min`` chosen by minimising the Kolmogorov–Smirnov distance (Clauset, Shalizi & Newman 2009) —
and compares it with lognormal and exponential fits on the same data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import optimize, special, stats

from elastic.errors import ElasticError
from elastic.tokentree import TokenTree


# --------------------------------------------------------------------------- the random variable X
def mass_values(tree: TokenTree) -> np.ndarray:
    """Samples of ``X = M p`` (Def. B.2): one per EOS leaf with positive mass. The leaf masses of
    every (pruned) tree sum to one, so the mean is one without any renormalisation here.

    Chapters: mass_distribution.
    """
    p = tree.eos[tree.leaves()]
    if len(p) == 0:
        raise ElasticError("the tree has no leaf with positive mass: build it from a non-empty dataset")
    return len(p) * p


# ---------------------------------------------------------------------------------- Pareto law
def pareto_alpha_mle(x: np.ndarray, c: float) -> float:
    """Closed-form MLE of ``alpha`` for known ``c``: ``n / sum(log(x_i / c))`` over ``x_i >= c``."""
    tail = np.asarray(x, dtype=float)
    tail = tail[tail >= c]
    logs = np.log(tail / c).sum()
    return math.inf if logs <= 0 else float(len(tail) / logs)


def pareto_cdf(x, alpha: float, c: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x >= c, 1.0 - (c / np.maximum(x, c)) ** alpha, 0.0)


def pareto_logpdf(x, alpha: float, c: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.log(alpha) + alpha * np.log(c) - (alpha + 1) * np.log(x)


def pareto_sample(n: int, alpha: float, c: float, rng: np.random.Generator) -> np.ndarray:
    """Inverse-CDF draws: ``c U^{-1/alpha}``."""
    return c * rng.random(n) ** (-1.0 / alpha)


def ks_statistic(x, cdf) -> float:
    """``sup_x |F_n(x) - F(x)|`` of the sample ``x`` against the continuous CDF ``cdf``."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = len(xs)
    f = cdf(xs)
    i = np.arange(1, n + 1)
    return float(max((i / n - f).max(), (f - (i - 1) / n).max()))


@dataclass(frozen=True)
class ParetoFit:
    """A Pareto law fitted to the ``n_tail`` of ``n`` values that are ``>= c``."""

    alpha: float
    c: float
    n_tail: int
    n: int
    ks: float

    @property
    def alpha_se(self) -> float:
        """Asymptotic standard error of the MLE, ``alpha / sqrt(n_tail)``."""
        return self.alpha / math.sqrt(self.n_tail)

    @property
    def mean(self) -> float:
        """``E[X] = alpha c / (alpha - 1)`` of the fitted law (infinite for ``alpha <= 1``)."""
        return self.alpha * self.c / (self.alpha - 1) if self.alpha > 1 else math.inf


def _fit_at(xs_sorted: np.ndarray, start: int) -> ParetoFit:
    tail = xs_sorted[start:]
    c = float(tail[0])
    alpha = pareto_alpha_mle(tail, c)
    ks = ks_statistic(tail, lambda v: pareto_cdf(v, alpha, c)) if math.isfinite(alpha) else 1.0
    return ParetoFit(alpha, c, len(tail), len(xs_sorted), ks)


def fit_pareto(x, *, tail: bool = True, min_tail: int = 20, n_candidates: int = 50) -> ParetoFit:
    """MLE Pareto fit.

    ``tail=False`` fits the whole sample: ``c`` is its minimum (the MLE of ``c``) and ``alpha`` the
    closed form. ``tail=True`` scans up to ``n_candidates`` values of ``x_min`` (spread over the
    distinct sample values that leave at least ``min_tail`` points above) and keeps the one whose
    fit has the smallest KS distance to the tail, as Clauset, Shalizi & Newman (2009) do.
    """
    xs = np.sort(np.asarray(x, dtype=float))
    if len(xs) < min_tail or xs[0] <= 0:
        raise ElasticError(
            f"need at least min_tail={min_tail} positive values, got {len(xs)}: use a deeper tree or "
            "lower min_tail"
        )
    if not tail:
        return _fit_at(xs, 0)
    starts = np.searchsorted(xs, np.unique(xs))   # first index of each distinct value
    starts = starts[starts <= len(xs) - min_tail]
    if len(starts) > n_candidates:
        starts = starts[np.unique(np.linspace(0, len(starts) - 1, n_candidates).round().astype(int))]
    fits = [_fit_at(xs, int(s)) for s in starts]
    return min(fits, key=lambda f: f.ks)


# ------------------------------------------------------------------------- alternative laws
@dataclass(frozen=True)
class LognormalFit:
    """Lognormal ``(mu, sigma)`` of ``log X``, fitted to the values ``>= xmin`` and truncated there
    (plain lognormal MLE when ``xmin`` is the sample minimum, as for the whole-sample fit)."""

    mu: float
    sigma: float
    xmin: float
    truncated: bool

    def logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        dens = stats.norm.logpdf(np.log(x), self.mu, self.sigma) - np.log(x)
        if self.truncated:
            dens = dens - stats.norm.logsf(np.log(self.xmin), self.mu, self.sigma)
        return dens

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        full = stats.norm.cdf(np.log(x), self.mu, self.sigma)
        if not self.truncated:
            return full
        lo = stats.norm.cdf(np.log(self.xmin), self.mu, self.sigma)
        return np.clip((full - lo) / (1 - lo), 0.0, 1.0)


def fit_lognormal(x, xmin: float | None = None) -> LognormalFit:
    """Lognormal MLE of the values ``>= xmin``; closed form (mean and std of ``log x``) without a
    truncation, numerical (L-BFGS-B on ``mu, log sigma``) for the tail above ``xmin``."""
    x = np.asarray(x, dtype=float)
    logs = np.log(x if xmin is None else x[x >= xmin])
    mu0, sigma0 = float(logs.mean()), float(max(logs.std(), 1e-6))
    if xmin is None or xmin <= x.min():
        return LognormalFit(mu0, sigma0, float(x.min()), truncated=False)
    lo = math.log(xmin)

    def nll(theta):
        mu, sigma = theta[0], math.exp(theta[1])
        return -(stats.norm.logpdf(logs, mu, sigma).sum() - len(logs) * stats.norm.logsf(lo, mu, sigma))

    res = optimize.minimize(nll, [mu0, math.log(sigma0)], method="L-BFGS-B",
                            bounds=[(lo - 30, lo + 30), (math.log(1e-3), math.log(30))])
    return LognormalFit(float(res.x[0]), float(math.exp(res.x[1])), float(xmin), truncated=True)


def exponential_logpdf(x, xmin: float) -> tuple[float, np.ndarray]:
    """Rate MLE ``1 / (mean - xmin)`` of an exponential shifted to ``xmin``, and its log density."""
    x = np.asarray(x, dtype=float)
    rate = 1.0 / max(float(x.mean()) - xmin, 1e-300)
    return rate, np.log(rate) - rate * (x - xmin)


def vuong_test(logpdf_a: np.ndarray, logpdf_b: np.ndarray) -> tuple[float, float]:
    """Vuong's normalised log-likelihood ratio of two non-nested fits on the same points.

    Returns ``(R, p)``: ``R = sum(l_a - l_b)`` (positive favours ``a``) and the two-sided p-value
    of ``R / (sqrt(n) sd)`` under the null that both fit equally well.
    """
    diff = np.asarray(logpdf_a) - np.asarray(logpdf_b)
    r, sd = float(diff.sum()), float(diff.std())
    if sd == 0:
        return r, 1.0
    z = r / (math.sqrt(len(diff)) * sd)
    return r, float(special.erfc(abs(z) / math.sqrt(2)))


# ------------------------------------------------------------------------------ goodness of fit
#: Clauset et al.'s rule: the Pareto law is ruled out when the bootstrap p-value is below this.
PLAUSIBLE = 0.1


def bootstrap_pvalue(x, fit: ParetoFit, *, tail: bool, n_boot: int, min_tail: int = 20,
                     seed: int = 0) -> float:
    """Semi-parametric bootstrap p-value of the KS distance (Clauset et al. 2009, §4.1).

    Each synthetic sample has ``n`` points: with probability ``n_tail / n`` a draw from the fitted
    Pareto, otherwise a draw from the observed values below ``c``. It is refitted by the same
    procedure, and ``p`` is the share of synthetic KS distances at least the observed one.
    """
    if n_boot < 1:
        return math.nan
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=float)
    body = x[x < fit.c]
    worse = 0
    for _ in range(n_boot):
        n_pareto = rng.binomial(fit.n, fit.n_tail / fit.n) if len(body) else fit.n
        synthetic = np.concatenate([pareto_sample(n_pareto, fit.alpha, fit.c, rng),
                                    rng.choice(body, fit.n - n_pareto) if len(body) else []])
        try:
            refit = fit_pareto(synthetic, tail=tail, min_tail=min_tail)
        except ElasticError:
            continue
        worse += refit.ks >= fit.ks
    return worse / n_boot


def analyse(x, *, tail: bool, n_boot: int, min_tail: int = 20, seed: int = 0) -> dict:
    """Pareto fit, bootstrap p-value, lognormal and exponential fits on the same points and the
    Vuong tests of Pareto against each, as one JSON-ready dict.

    Chapters: mass_distribution. Paper: Assumption B.6.
    """
    x = np.asarray(x, dtype=float)
    fit = fit_pareto(x, tail=tail, min_tail=min_tail)
    if not math.isfinite(fit.alpha):
        raise ElasticError("every value in the tail is the same, so no law can be fitted: use a "
                           "larger dataset or a shallower tree")
    points = x[x >= fit.c]
    logn = fit_lognormal(x, fit.c if tail else None)
    pareto_ll = pareto_logpdf(points, fit.alpha, fit.c)
    lr_logn, p_logn = vuong_test(pareto_ll, logn.logpdf(points))
    rate, exp_ll = exponential_logpdf(points, fit.c)
    lr_exp, p_exp = vuong_test(pareto_ll, exp_ll)
    return {
        **asdict(fit),
        "alpha_se": fit.alpha_se,
        "pareto_mean": fit.mean,
        "ks_pvalue": bootstrap_pvalue(x, fit, tail=tail, n_boot=n_boot, min_tail=min_tail, seed=seed),
        "lognormal": {"mu": logn.mu, "sigma": logn.sigma, "truncated": logn.truncated,
                      "ks": ks_statistic(points, logn.cdf)},
        "lr_lognormal": lr_logn, "lr_lognormal_p": p_logn,
        "exponential_rate": rate,
        "lr_exponential": lr_exp, "lr_exponential_p": p_exp,
    }


def alpha_homogeneity(alphas: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Wald test that several datasets share one ``alpha`` (Assumption B.6): ``Q = sum((a_i -
    a_bar)^2 / se_i^2)`` with the inverse-variance mean ``a_bar``; returns ``(Q, df, p)``.

    Chapters: mass_distribution.
    """
    a, se = np.asarray(alphas, dtype=float), np.asarray(ses, dtype=float)
    if len(a) < 2:
        raise ElasticError("homogeneity needs the fits of at least two datasets")
    w = 1 / se**2
    q = float((w * (a - (w * a).sum() / w.sum()) ** 2).sum())
    return q, len(a) - 1, float(stats.chi2.sf(q, len(a) - 1))


def ccdf_points(x, n_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Empirical ``P(X >= x)`` at up to ``n_points`` of the sorted values (for log-log plots).

    Chapters: mass_distribution. Paper: Def. B.2.
    """
    xs = np.sort(np.asarray(x, dtype=float))
    idx = np.unique(np.linspace(0, len(xs) - 1, min(n_points, len(xs))).round().astype(int))
    idx = np.unique(np.searchsorted(xs, xs[idx]))     # first occurrence, so P(X >= x) is exact
    return xs[idx], 1.0 - idx / len(xs)


# ------------------------------------------------------------------------- trees from a language model
def zipf_probs(vocab_size: int, exponent: float) -> tuple[float, ...]:
    """Token probabilities proportional to ``rank^-exponent`` (a Zipfian vocabulary).

    Chapters: mass_distribution. Paper: Assumption B.6.
    """
    if vocab_size < 1 or exponent < 0:
        raise ElasticError(f"need vocab_size >= 1 and exponent >= 0, got {vocab_size}, {exponent}")
    w = np.arange(1, vocab_size + 1, dtype=float) ** -exponent
    return tuple((w / w.sum()).tolist())


def _prompt_ids(tokenizer, prompt: str) -> list[int]:
    ids = list(tokenizer(prompt)["input_ids"])
    if not ids:
        raise ElasticError(f"prompt {prompt!r} encodes to no tokens: use a non-empty prompt")
    return ids


def _next_token_logprobs(model, prompt_ids: list[int], prefixes: list[tuple], batch_size: int = 64):
    """Log-probabilities of the next token after ``prompt + prefix``, one row per prefix.

    The prompt is run once and its key/value cache is copied for each batch, so a prefix costs
    only its own tokens; all prefixes have the same length, so batches need no padding.
    """
    import copy

    import torch

    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt_ids], device=model.device), use_cache=True,
                    logits_to_keep=1)
        if not prefixes[0]:                    # the root: nothing after the prompt yet
            row = torch.log_softmax(out.logits[:, -1].float(), dim=-1).cpu()
            return row.expand(len(prefixes), -1)
        rows = []
        for start in range(0, len(prefixes), batch_size):
            chunk = prefixes[start:start + batch_size]
            cache = copy.deepcopy(out.past_key_values)
            cache.batch_repeat_interleave(len(chunk))
            logits = model(input_ids=torch.tensor(chunk, device=model.device), past_key_values=cache,
                           use_cache=True, logits_to_keep=1).logits[:, -1].float()
            rows.append(torch.log_softmax(logits, dim=-1).cpu())
    return torch.cat(rows)


def _expand(model, tokenizer, prompt: str, depth: int, total: float, branch, desc: str,
            progress: bool):
    """Grow the continuations of ``prompt`` token by token to ``depth - 1`` tokens.

    ``branch(logprobs, weight)`` maps one prefix's next-token log-probabilities and its weight to
    ``(tokens, weights)`` of its children; the empty prefix starts with weight ``total``. A child
    that is the EOS token ends its branch; branches still open at the last layer keep their whole
    weight, as in the pruned tree.
    """
    from tqdm.auto import tqdm

    if depth < 2:
        raise ElasticError(f"depth={depth} must be >= 2 to hold at least one token")
    eos = tokenizer.eos_token_id
    prompt_ids = _prompt_ids(tokenizer, prompt)
    frontier, weights, done, done_w = [()], [total], [], []
    for _ in tqdm(range(depth - 1), desc=desc, disable=not progress, leave=False):
        logprobs = _next_token_logprobs(model, prompt_ids, frontier)
        nxt, nxt_w = [], []
        for seq, w, row in zip(frontier, weights, logprobs):
            for tok, child_w in zip(*branch(row, w)):
                if tok == eos:
                    done.append(seq), done_w.append(child_w)
                else:
                    nxt.append(seq + (int(tok),)), nxt_w.append(child_w)
        frontier, weights = nxt, nxt_w
    return done + frontier, np.asarray(done_w + weights, dtype=float)


def sample_continuations(model, tokenizer, prompt: str, n: int, max_new_tokens: int, *,
                         seed: int = 0, progress: bool = True) -> tuple[list, np.ndarray]:
    """``n`` continuations of ``prompt`` sampled from ``model`` at temperature 1 (no top-k/top-p),
    each ending before its first EOS token or after ``max_new_tokens`` tokens, returned as the
    distinct continuations and how many of the ``n`` samples each one is.

    Instead of running ``n`` sequences, each distinct prefix is run once and its count is split
    among its next tokens by one multinomial draw: the same law as ``n`` independent samples, at
    the cost of one forward pass per distinct prefix.

    Chapters: mass_distribution. Paper: Def. B.2.
    """
    if n < 1:
        raise ElasticError(f"n={n} continuations: sample at least one")
    rng = np.random.default_rng(seed)

    def branch(logprobs, count):
        p = np.exp(logprobs.double().numpy())
        counts = rng.multinomial(int(count), p / p.sum())
        toks = np.flatnonzero(counts)
        return toks, counts[toks]

    return _expand(model, tokenizer, prompt, max_new_tokens + 1, n, branch, "sampling", progress)


def topk_continuations(model, tokenizer, prompt: str, k: int, depth: int, *,
                       progress: bool = True) -> tuple[list, np.ndarray]:
    """All continuations of ``prompt`` of at most ``depth - 1`` tokens under the model restricted to
    its ``k`` most likely next tokens (renormalised), with their exact probabilities (sum one).

    Chapters: mass_distribution. Paper: Def. B.2.
    """
    if k < 1:
        raise ElasticError(f"k={k} must be >= 1")

    def branch(logprobs, prob):
        top = logprobs.topk(k)
        cond = np.exp(top.values.double().numpy())
        return top.indices.numpy(), prob * cond / cond.sum()

    return _expand(model, tokenizer, prompt, depth, 1.0, branch, f"top-{k} tree", progress)
