"""The mass-distribution chapter: is the leaf mass ``X = M p`` of pruned token trees Pareto with the
same parameters for every dataset (Assumption B.6)?

Trees come from three kinds of data: corpora drawn from two synthetic sources (i.i.d. tokens from a
small vocabulary, and from a Zipfian one), continuations of a few prompts sampled from a language
model (a dataset of responses), and the exact tree of the same model restricted to its top-k next
tokens (the model's own distribution, with no sampling noise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from elastic import plan, results
from elastic.config import ExperimentConfig
from elastic.errors import ElasticError
from elastic.experiments import pinned_threads
from elastic.prose import count
from elastic.sources import IIDSource
from elastic.theory import mass
from elastic.tokentree import TokenTree, token_tree

#: Token probabilities of the i.i.d. source with a small vocabulary.
IID_PROBS = (0.4, 0.3, 0.2, 0.1)
#: Fewest distinct leaf masses worth fitting a continuous law to (a sampled tree's masses are
#: counts over N, and deep sampled trees have every leaf seen once).
MIN_DISTINCT = 10


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    n_sequences: int = 20000            #: |D| of each generated corpus
    stop_prob: float = 0.1              #: chance a generated response ends after each token
    max_len: int = 16
    zipf_vocab: int = 256               #: vocabulary of the Zipfian source
    zipf_exponent: float = 1.2          #: token probabilities proportional to rank^-exponent
    depths: tuple[int, ...] = (2, 3, 5, 7)  #: pruning depths d (layers) of corpora and LM samples
    model: str = "smollm2"              #: load_model spec, or "tiny" for a random byte-level model
    prompts: tuple[str, ...] = ("The weather today is", "Once upon a time", "How do I bake bread?")
    n_continuations: int = 5000         #: LM continuations sampled per prompt
    max_new_tokens: int = 2
    top_k: int = 4                      #: branching of the exact top-k tree of the LM
    topk_depth: int = 6                 #: depth of that tree (top_k^(depth-1) leaves)
    min_tail: int = 20                  #: fewest points a Pareto tail may have
    n_bootstrap: int = 50               #: bootstrap samples per KS p-value
    num_threads: int = 1                #: torch threads (1: on a shared machine, more threads spin)


def _load(spec: str):
    from elastic import models

    if spec == "tiny":
        tokenizer = models.byte_tokenizer()
        return models.tiny_model(tokenizer).eval(), tokenizer
    return models.load_model(spec)


def _trees(cfg: Config):
    """``(dataset, family, depth, tree)`` for every tree the chapter fits."""
    zipf = mass.zipf_probs(cfg.zipf_vocab, cfg.zipf_exponent)
    for name, probs in (("iid-4", IID_PROBS), ("zipf", zipf)):
        source = IIDSource(probs, cfg.stop_prob, cfg.max_len)
        tokens, lengths = source.sample(cfg.n_sequences, seed=cfg.seed)
        full = token_tree(tokens, source.vocab_size, lengths=lengths)
        for d in cfg.depths:
            yield name, "generated", d, full.prune(d)

    model, tokenizer = _load(cfg.model)
    vocab = model.config.vocab_size
    for i, prompt in enumerate(cfg.prompts):
        seqs, counts = mass.sample_continuations(
            model, tokenizer, prompt, cfg.n_continuations, cfg.max_new_tokens, seed=cfg.seed + i)
        sampled = token_tree(seqs, vocab, weights=counts)
        for d in cfg.depths:
            if d <= cfg.max_new_tokens + 1:
                yield f"prompt {i + 1}", "lm-sampled", d, sampled.prune(d)
        seqs, probs = mass.topk_continuations(model, tokenizer, prompt, cfg.top_k, cfg.topk_depth)
        exact = token_tree(seqs, vocab, weights=probs)
        for d in sorted({*cfg.depths, cfg.topk_depth}):
            if d <= cfg.topk_depth:
                yield f"prompt {i + 1}", "lm-topk", d, exact.prune(d)


def _fit(tree: TokenTree, cfg: Config, seed: int) -> dict:
    x = mass.mass_values(tree)
    ccdf_x, ccdf_p = mass.ccdf_points(x)
    row = {"n_leaves": len(x), "mean_x": float(x.mean()), "n_distinct": len(np.unique(x)),
           "ccdf": {"x": ccdf_x, "p": ccdf_p}}
    if len(x) < 2 * cfg.min_tail:
        return {**row, "status": f"skipped: {len(x)} leaves, fewer than 2 min_tail"}
    if row["n_distinct"] < MIN_DISTINCT:
        return {**row, "status": f"skipped: only {row['n_distinct']} distinct leaf masses"}
    try:
        for kind, tail in (("tail", True), ("whole", False)):
            row[kind] = mass.analyse(x, tail=tail, n_boot=cfg.n_bootstrap, min_tail=cfg.min_tail,
                                     seed=seed)
    except ElasticError as exc:
        return {**row, "status": f"skipped: {exc}"}
    return {**row, "status": "ok"}


def _homogeneity(fits: list[dict]) -> list[dict]:
    """Per depth and fit kind, the Wald test that all datasets share one alpha (Assumption B.6)."""
    rows = []
    for d in sorted({f["depth"] for f in fits}):
        for kind in ("tail", "whole"):
            ok = [f for f in fits if f["depth"] == d and f["status"] == "ok"]
            if len(ok) < 2:
                continue
            q, df, p = mass.alpha_homogeneity([f[kind]["alpha"] for f in ok],
                                              [f[kind]["alpha_se"] for f in ok])
            rows.append({"depth": d, "kind": kind, "q": q, "df": df, "p": p,
                         "datasets": [f"{f['family']}/{f['dataset']}" for f in ok],
                         "alphas": [f[kind]["alpha"] for f in ok]})
    return rows


def _counts(fits: list[dict], homogeneity: list[dict]) -> dict:
    """Counts over the fitted trees, per fit kind, at the significance level ``mass.PLAUSIBLE``."""
    ok = [f for f in fits if f["status"] == "ok"]
    level = mass.PLAUSIBLE
    out = {"n_trees": len(fits), "n_fitted": len(ok), "level": level}
    for kind in ("tail", "whole"):
        rows = [f[kind] for f in ok]
        tests = [h for h in homogeneity if h["kind"] == kind]
        out[kind] = {
            "pareto_plausible": sum(r["ks_pvalue"] >= level for r in rows),
            "lognormal_better": sum(r["lr_lognormal"] < 0 and r["lr_lognormal_p"] < level for r in rows),
            "pareto_better": sum(r["lr_lognormal"] > 0 and r["lr_lognormal_p"] < level for r in rows),
            "alpha_range": _range(r["alpha"] for r in rows),
            "c_range": _range(r["c"] for r in rows),
            "homogeneity_tests": len(tests),
            "homogeneity_rejected": sum(h["p"] < level for h in tests),
        }
    return out


def _range(values) -> list:
    values = list(values)
    return [min(values), max(values)] if values else [None, None]


@pinned_threads
def run(cfg: Config) -> dict:
    from elastic.models import check_spec

    plan.check_before_load(cfg)  # on a GPU too small for the model, stop before any download
    start = time.perf_counter()
    if cfg.model != "tiny":
        check_spec(cfg.model)  # before the generated trees are built, not after
    fits = [{"dataset": name, "family": family, "depth": d, **_fit(tree, cfg, cfg.seed + i)}
            for i, (name, family, d, tree) in enumerate(tqdm(_trees(cfg), desc="trees", leave=False))]
    homogeneity = _homogeneity(fits)
    counts = _counts(fits, homogeneity)
    data = {
        "iid_probs": IID_PROBS,
        "fits": fits,
        "homogeneity": homogeneity,
        "counts": counts,
        # Assumption B.6: a Pareto law for every whole distribution, one alpha per depth
        "verdict": {"assumption_holds": counts["whole"]["pareto_plausible"] == counts["n_fitted"]
                    and all(h["p"] >= mass.PLAUSIBLE for h in homogeneity)},
    }
    return results.save("mass_distribution", cfg, data, time.perf_counter() - start, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`); the ``*_num`` counts are
    plain numbers for the chapter page's ``{glue:text}`` references."""
    fits, s = data["fits"], data["counts"]
    ok = [f for f in fits if f["status"] == "ok"]
    n, whole, tail = s["n_fitted"], s["whole"], s["tail"]
    zipf2 = [f for f in ok if f["dataset"] == "zipf" and f["depth"] == 2]
    means = [float(f["whole"]["pareto_mean"]) for f in ok]
    out = {
        "n_trees": str(s["n_trees"]),
        "n_fitted": str(s["n_fitted"]),
        "max_mean_error": f"{max(abs(f['mean_x'] - 1) for f in fits):.1e}",
        "model_name": f"`{cfg.model}`",
        "n_continuations": str(cfg.n_continuations),
        "top_k": str(cfg.top_k),
        "topk_depth": str(cfg.topk_depth),
        "prompts": "; ".join(f"prompt {i + 1} is “{p}”" for i, p in enumerate(cfg.prompts)),
        "zipf_s": str(cfg.zipf_exponent),
        "zipf_expected": f"{1 / cfg.zipf_exponent:.3f}",
        "zipf_alpha": (f"{zipf2[0]['tail']['alpha']:.3f} ± {zipf2[0]['tail']['alpha_se']:.3f}"
                       if zipf2 else "(not fitted in this preset)"),
        "level": str(mass.PLAUSIBLE),
        "whole_ruled_out": count(n - whole['pareto_plausible'], "tree", of=n),
        "tail_plausible": count(tail['pareto_plausible'], "tree", of=n),
        "tail_logn_better": count(tail["lognormal_better"], "tree", of=n),
        "tail_pareto_better": count(tail["pareto_better"], "tree", of=n),
        "tail_undecided": count(n - tail["lognormal_better"] - tail["pareto_better"], "tree", of=n),
        "whole_logn_better": count(whole['lognormal_better'], "tree", of=n),
        "alpha_range_whole": "{:.2f} to {:.2f}".format(*whole["alpha_range"]),
        "alpha_range_tail": "{:.2f} to {:.2f}".format(*tail["alpha_range"]),
        "c_range_tail": "{:.3f} to {:.3f}".format(*tail["c_range"]),
        "fit_mean_range": f"{min(means):.2f} to {max(means):.2f}",
        "whole_pareto_better": count(whole["pareto_better"], "tree", of=n),
        "verdict": ("**is consistent with these trees**" if data["verdict"]["assumption_holds"]
                    else "**does not hold on these trees**"),
        "n_fitted_num": n, "whole_out_num": n - whole["pareto_plausible"],
        "tail_plausible_num": tail["pareto_plausible"], "tail_logn_num": tail["lognormal_better"],
        "tail_pareto_num": tail["pareto_better"], "hom_tests_num": whole["homogeneity_tests"],
        "hom_whole_num": whole["homogeneity_rejected"], "hom_tail_num": tail["homogeneity_rejected"],
    }
    for kind in ("whole", "tail"):
        out[f"hom_rejected_{kind}"] = count(s[kind]['homogeneity_rejected'], "depth", of=s[kind]['homogeneity_tests'])
    return out
