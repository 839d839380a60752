"""The paper's empirical claims, pre-registered: for each one the statistic, its predicted sign,
its natural scale, the level of its interval and the decision rule, fixed in code before the
numbers come in (the git history of this file is the pre-registration).

Every claim is judged on *per-seed* values of its statistic (:mod:`elastic.power`): each training
seed trains its own models on its own draw of the data and is scored on its own held-out pairs,
so a Student-t interval over the seeds holds seed and pair noise together. The verdict is

* **shows**: the 95% interval lies entirely on the side of zero the paper predicts;
* **contradicts**: it lies entirely on the other side;
* **inconclusive**: it holds zero; the design's minimum detectable effect (MDE, power 0.8) is
  then reported in units of the claim's natural scale, and the bar a design must clear is an MDE
  of at most :data:`MDE_BAR` of that scale.

The statistics read the stored panels (per seed, per held-out pair) of the experiments; their
inputs are described in :mod:`elastic.rebound_grid`. Units: the likelihood margin
(:mod:`elastic.margin`) is in nats per token; KL in nats per token; slopes per decade.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from elastic import power
from elastic.errors import ElasticError
from elastic.stats import per_seed_slopes

#: Two-sided level of every interval.
LEVEL = 0.95
#: Power at which the MDE of an inconclusive verdict is stated.
POWER = 0.8
#: The issue's bar: an inconclusive verdict must have an MDE of at most this share of its scale.
MDE_BAR = 0.25
#: Fewest seeds a cpu verdict may rest on.
MIN_SEEDS = 3


@dataclass(frozen=True)
class Claim:
    """One pre-registered claim: what the paper says, where the book tests it, and how."""

    name: str
    paper: str          #: the claim, in our words, with its place in the paper
    chapter: str        #: the chapter (and results file) that judges it
    statistic: str      #: the per-seed statistic, in words
    scale: str          #: the natural scale the effect and the MDE are stated in
    metric: str         #: the primary metric behind the statistic, and why
    unit: str           #: the statistic's unit
    direction: int = +1  #: the sign the paper predicts


MARGIN = ("likelihood margin on fixed held-out pairs (nats/token): noise-free given a model, so "
          "its only noise is the draw of pairs and seeds")

LIFECYCLE_MARGIN = ("likelihood margin on fixed held-out sequences of P+ and P- (bits/token, paired by "
                    "index): exact given a model, so its only noise is the draw of seeds and sequences")

CLAIMS: dict[str, Claim] = {c.name: c for c in (
    Claim("resistance", "§4.1, Table 1: inverse alignment (a later slice trained on an earlier "
          "slice's responses) is easier than forward alignment", "resistance",
          "KL(target || trained) after forward alignment minus after inverse alignment, mean over "
          "slice pairs", "the mean of the two residual KLs",
          "exact KL over the next-token distributions on the target slice's responses: the "
          "paper's loss (a cross-entropy) also carries the entropy of the target, which differs "
          "between slices", unit="nats/token"),
    Claim("resistance_loss", "§4.1, Table 1 as printed: the inverse-alignment loss is below the "
          "forward-alignment loss", "resistance",
          "H(target, trained) after forward minus after inverse alignment, mean over slice pairs",
          "the mean of the two losses' excess over the targets' entropies",
          "exact cross-entropy over the next-token distributions (the paper's Table 1 metric)", unit="nats/token"),
    Claim("rebound", "§4.2, Fig. 4: the more positive data a model was aligned with, the more it "
          "loses to the first, small amount of negative data", "rebound",
          "drop of the margin under the smallest negative amount after the largest positive amount, "
          "minus the same drop after the smallest positive amount",
          "the alignment gain of the largest positive amount (its margin minus θ0's)", MARGIN, unit="nats/token"),
    Claim("rebound_decelerates", "§4.2: under negative data the aligned model falls fast at first, "
          "then slowly", "rebound",
          "fall per negative sample over the first negative step minus over the last, after the "
          "largest positive amount",
          "the mean fall per negative sample over the whole negative grid", MARGIN, unit="nats/token per sample"),
    Claim("rebound_size", "§4.3, Fig. 5: rebound grows with model size", "scaling",
          "least-squares slope of each model's rebound statistic on log10(parameters)",
          "the mean alignment gain over the series per decade of the series' span", MARGIN, unit="nats/token per decade"),
    Claim("rebound_volume", "§4.3, Figs. 6 and 10: rebound grows with the pre-training volume", "scaling",
          "least-squares slope of each model's rebound statistic on log10(pre-training texts)",
          "the mean alignment gain over the series per decade of the series' span", MARGIN, unit="nats/token per decade"),
    Claim("dpo_rebound", "Appendix C, Figs. 7-8: rebound also when the inverse alignment is DPO",
          "ablations", "the rebound statistic with DPO (negative chosen, positive rejected) as the "
          "second stage", "the alignment gain of the largest positive amount", MARGIN, unit="nats/token"),
    Claim("reverse_rebound", "Appendix C, Fig. 9: rebound also with negative data first and "
          "positive data second", "ablations",
          "the rebound statistic on the reversed grid (a rise under the first positive amount)",
          "the gain towards the negative side of the largest negative amount", MARGIN, unit="nats/token"),
    Claim("kl_table", "Table 3 (third-party summary): a model aligned with more positive data needs "
          "less negative data to come back to θ0", "ablations",
          "log KL(θ || θ0) after the largest negative amount, smallest positive amount minus largest "
          "(positive: the more aligned model ends nearer θ0)",
          "log KL(θ || θ0) after alignment, largest positive amount minus smallest (how much "
          "farther it started)",
          "exact KL to θ0 over the next-token distributions on the held-out texts (Table 3's "
          "quantity, without its threshold ε, which a finite grid may never cross)", unit="log-ratio"),
    # The lifecycle (beyond the paper): small transformers pre-trained from scratch on a source whose
    # probabilities are known exactly. Its controlled models carry the size and volume trends that
    # released models are too slow to carry on a CPU (issue #12, item 5).
    Claim("lifecycle_rebound", "§4.2, Fig. 4, on models whose pre-training we control: the more "
          "positive data a model was aligned with, the more it loses to the first negative data",
          "lifecycle", "drop of the margin over the first perturbation checkpoint after the largest "
          "alignment size minus the same drop after the smallest, main model and volume",
          "the alignment gain of the largest alignment size (its margin minus the pre-trained model's)",
          LIFECYCLE_MARGIN, unit="bits/token"),
    Claim("lifecycle_rebound_size", "§4.3, Fig. 5, on controlled models: rebound grows with model size",
          "lifecycle", "least-squares slope of each model size's rebound statistic on log10(parameters), "
          "at the largest pre-training volume",
          "the mean alignment gain over the sizes per decade of their span", LIFECYCLE_MARGIN,
          unit="bits/token per decade"),
    Claim("lifecycle_rebound_volume", "§4.3, Figs. 6 and 10, on controlled models: rebound grows with "
          "the pre-training volume", "lifecycle",
          "least-squares slope of the largest model's rebound statistic on log10(pre-training sequences)",
          "the mean alignment gain over the volumes per decade of their span", LIFECYCLE_MARGIN,
          unit="bits/token per decade"),
    Claim("lifecycle_resistance", "§4.1, Table 1, on controlled models: inverse alignment (a later "
          "slice trained on an earlier slice's samples) is easier than forward alignment",
          "lifecycle", "KL(target slice || trained) on the target's samples after forward alignment "
          "minus after inverse alignment, mean over slice pairs", "the mean of the two residual KLs",
          "KL estimated on the target slice's own samples with both models' exact likelihoods (a "
          "paired estimator: the target's entropy, which differs between slices, cancels)",
          unit="nats/token"),
    Claim("lifecycle_elasticity", "Thm 3.2 (elasticity), measured: the ratio of the changes of the "
          "compression rates on the alignment and pre-training data grows like k = |D1|/|D2|",
          "lifecycle", "least-squares slope of log10 |Δγ2/Δγ1| on log10 k over the largest model's "
          "aligned models (first perturbation checkpoint)", "1, the slope of the theorem's Θ(k)",
          "compression rates on fixed held-out samples, exact likelihoods (no sampling)",
          unit="decades per decade"),
)}


def claim(name: str) -> Claim:
    if name not in CLAIMS:
        raise ElasticError(f"unknown claim {name!r}; claims: {', '.join(CLAIMS)}")
    return CLAIMS[name]


def not_judged(name: str, reason: str) -> dict:
    """The record of a claim the run's design cannot judge (e.g. a trend over fewer than three
    models): no interval, the reason instead.

    Chapters: rebound, scaling, ablations, lifecycle.
    """
    return {"claim": asdict(claim(name)), "outcome": "not judged", "reason": reason}


def judge(name: str, values, scale: float) -> dict:
    """The verdict on claim ``name`` from its per-seed ``values`` and its natural ``scale``: the
    claim's registry entry, the interval, the outcome, the MDE and whether it clears the bar.

    Chapters: resistance, rebound, scaling, ablations, lifecycle.
    """
    c = claim(name)
    values = [float(v) for v in values]
    if len(values) < 2:
        raise ElasticError(f"claim {name!r} has {len(values)} seed(s): a verdict needs at least 2 (cpu: {MIN_SEEDS})")
    out = power.verdict(values, direction=c.direction, scale=scale, level=LEVEL, power=POWER)
    out["claim"] = asdict(c)
    out["n_seeds"] = len(values)
    ratio = out["mde_ratio"]
    out["decisive_or_powered"] = out["outcome"] != power.INCONCLUSIVE or (ratio is not None and ratio <= MDE_BAR)
    return out


def number(x: float) -> str:
    """Three significant digits, signed (what the pages and the findings table print).

    Chapters: rebound, scaling, ablations.
    """
    return f"{x:+.3g}"


def describe(verdict: dict, *, words: bool = True) -> str:
    """A verdict in one line of MyST: the outcome, the effect with its interval and unit, its size
    in units of the natural scale, and the MDE when inconclusive (or why it was not judged).

    Chapters: resistance, rebound, scaling, ablations, lifecycle.
    """
    if verdict["outcome"] == "not judged":
        return f"**not judged**: {verdict['reason']}" if words else verdict["reason"]
    c = verdict["claim"]
    low, high = verdict["interval"]
    text = (f"{number(verdict['estimate'])} [{number(low)}, {number(high)}] {c['unit']} "
            f"({int(round(100 * verdict['level']))}% interval, {verdict['n_seeds']} seeds)")
    if verdict["effect_ratio"] is not None:
        text += f", {verdict['effect_ratio']:.2f} of the scale"
    if verdict["outcome"] == power.INCONCLUSIVE:
        ratio = "" if verdict["mde_ratio"] is None else f" = {verdict['mde_ratio']:.2f} of the scale"
        if verdict["mde_ratio"] is not None and verdict["mde_ratio"] > MDE_BAR:
            ratio += f", above the bar of {MDE_BAR:g}: the design is too small to tell"
        text += f"; MDE {verdict['mde']:.3g}{ratio}"
    return f"**{verdict['outcome']}**: {text}" if words else text


# --- statistics on the stored panels ----------------------------------------------------------------
# A *panel* is one grid of one base model (see elastic.rebound_grid): ``first_sizes`` (a_1 <
# ... < a_A), ``second_sizes`` (b_1 < ... < b_B), ``sign`` (+1, or -1 when the first stage is
# negative), and per seed ``base`` (θ0's margin per pair) and ``cells[i][j]`` (the margin per pair
# of θ0 after a_i first-stage samples and then b_j second-stage samples, b_0 = 0).


def _aligned(seed: dict, sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Margins on the aligned scale (larger: further along the first stage): cells (A, 1+B, P), base (P,)."""
    return sign * np.asarray(seed["cells"], dtype=float), sign * np.asarray(seed["base"], dtype=float)


def gain(panel: dict, i: int = -1) -> list[float]:
    """Per seed: the aligned margin of the first-stage model a_i minus θ0's (mean over pairs), the
    *alignment gain*: how much better a model aligned with more positive data starts before the
    negative data (Ji et al. §4.2, Fig. 4). It is the natural scale of the rebound claims.

    Chapters: rebound, scaling, ablations, lifecycle.
    """
    out = []
    for seed in panel["seeds"]:
        cells, base = _aligned(seed, panel["sign"])
        out.append(float((cells[i, 0] - base).mean()))
    return out


def rebound_pairs(panel: dict) -> list[np.ndarray]:
    """Per seed, per held-out pair: the drop under b_1 after a_A minus the drop under b_1 after a_1."""
    out = []
    for seed in panel["seeds"]:
        cells, _ = _aligned(seed, panel["sign"])
        drops = cells[:, 0] - cells[:, 1]
        out.append(drops[-1] - drops[0])
    return out


def rebound(panel: dict) -> list[float]:
    """Per seed: the mean over pairs of :func:`rebound_pairs`, the statistic of *rebound* (Ji et al.
    §4.2, Fig. 4: the more positive data a model was aligned with, the faster it drops under a small
    amount of negative data); also of the DPO and reverse ablations (Appendix C, Figs. 7-9) and,
    model by model, of the trends of §4.3 (:func:`slope`).

    Chapters: rebound, scaling, ablations, lifecycle.
    """
    return [float(x.mean()) for x in rebound_pairs(panel)]


def step_rates(curve, second_sizes) -> tuple[float, float]:
    """The fall per sample of an aligned ``curve`` (its value at 0, then at each of
    ``second_sizes``) over the first step and over the last step of the amounts."""
    b = np.asarray([0, *second_sizes], dtype=float)
    curve = np.asarray(curve, dtype=float)
    return float((curve[0] - curve[1]) / b[1]), float((curve[-2] - curve[-1]) / (b[-1] - b[-2]))


def deceleration(panel: dict) -> tuple[list[float], list[float]]:
    """Per seed: the fall per sample over the first negative step minus over the last, after a_A
    (:func:`step_rates`); and the scale, the mean fall per sample over the whole negative grid. Ji et
    al. §4.2 (Fig. 4): after the fast first drop the decline under negative data slows and levels
    off, which the paper puts down to resistance near the pre-trained distribution.

    Chapters: rebound.
    """
    values, scales = [], []
    for seed in panel["seeds"]:
        curve = _aligned(seed, panel["sign"])[0][-1].mean(axis=1)  # (1+B,)
        early, late = step_rates(curve, panel["second_sizes"])
        values.append(early - late)
        scales.append(float((curve[0] - curve[-1]) / panel["second_sizes"][-1]))
    return values, scales


def slope(x, panels_in_order: list[dict]) -> tuple[list[float], float]:
    """Per seed: the slope of the rebound statistic of each panel on log10(x) (the panels share
    their seeds, :func:`elastic.stats.per_seed_slopes`); and the scale, the mean alignment gain over
    the panels per decade of the span of x. The trends of Ji et al. §4.3: rebound grows with model
    size (Fig. 5) and with the pre-training volume (Figs. 6 and 10).

    Chapters: scaling, lifecycle.
    """
    slopes = per_seed_slopes(x, [rebound(p) for p in panels_in_order])
    scale = float(np.mean([np.mean(gain(p)) for p in panels_in_order]) / np.ptp(np.log10(np.asarray(x, dtype=float))))
    return slopes, scale


def kl_recovery(panel: dict) -> tuple[list[float], list[float]]:
    """Per seed, from the panel's ``kl`` (KL to θ0 of the cells (a_1, 0), (a_A, 0), (a_1, b_B),
    (a_A, b_B)): log KL(a_1, b_B) - log KL(a_A, b_B), and the scale log KL(a_A, 0) - log KL(a_1, 0).
    The KL rebound of Table 3 in a third-party summary of Ji et al. (not in the ACL or arXiv full
    texts): a model aligned with more positive data needs less negative data to come back to θ0;
    measured without the table's threshold ε = 0.01, which a finite grid may never cross.

    Chapters: ablations.
    """
    values, scales = [], []
    for kl in panel["kl"]:
        values.append(float(np.log(kl["first_end"]) - np.log(kl["last_end"])))
        scales.append(float(np.log(kl["last_start"]) - np.log(kl["first_start"])))
    return values, scales
