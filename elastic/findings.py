"""The findings page and the power analysis of the reproducibility page: every claim of the paper
with its verdict in each preset that has run, read from the chapters' results files, never typed.

The empirical rows are the pre-registered claims of :mod:`elastic.claims`, whose verdicts each
chapter stores as ``data["claims"]`` and glues into its own page with
:func:`elastic.claims.describe`, the same function that writes this table: the two cannot
disagree. The theory rows state what the theory chapters' audits found, from the numbers their
results files hold (:data:`THEORY`).

Staging the book (:func:`elastic.book.stage`) replaces the line :data:`MARKER` of
``book/findings.md`` with :func:`markdown`, and the line :data:`POWER_MARKER` of
``book/reproducibility.md`` with :func:`power_markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from elastic import claims, power, results
from elastic.config import PRESETS
from elastic.errors import ElasticError

#: The line of ``book/findings.md`` that staging replaces with the table.
MARKER = "% findings-table"
#: The line of ``book/reproducibility.md`` that staging replaces with the power figure.
POWER_MARKER = "% power-figure"


def verdicts(preset: str) -> dict[str, dict]:
    """The stored verdict of every claim whose chapter has run in ``preset`` (``data["claims"]`` of
    its results file); a claim whose chapter has not run, or whose file holds no verdict on it yet,
    is absent."""
    found = {}
    for chapter in dict.fromkeys(c.chapter for c in claims.CLAIMS.values()):
        path = results.path(chapter, preset)
        if not path.exists():
            continue
        stored = results.load(chapter, preset)["data"].get("claims", {})
        unknown = sorted(set(stored) - set(claims.CLAIMS))
        if unknown:
            raise ElasticError(f"{path} holds verdicts on unknown claims {unknown}: rerun its chapter")
        found.update(stored)
    return found


# --- the theory chapters' audits --------------------------------------------------------------------

@dataclass(frozen=True)
class Audit:
    """One theory claim of the paper and how its chapter's results state the audit's finding."""

    paper: str       #: the claim, in our words, with its place in the paper
    chapter: str     #: the chapter (and results file) that audits it
    finding: Callable[[dict], tuple[str, str]]  #: the results' ``data`` -> (outcome, what was found)


def _acl_signs(d: dict) -> tuple[str, str]:
    s = d["summary"]
    outcome = power.CONTRADICTS if s["acl_d1_neg_frac"] > 0 else power.SHOWS
    return outcome, (f"dγ1/dl < 0 in {s['acl_d1_neg_frac']:.0%} of the quadrature rows; at l = 0 the ratio of "
                     f"the normalized changes is −1 to within {s['acl_ratio_dev_num']:.1e}")


def _ratio_k(d: dict) -> tuple[str, str]:
    s = d["summary"]
    return "exact in magnitude", (f"the mixing identity holds to {s['acl_identity_num']:.1e} (ACL) and "
                                  f"{s['arx_identity_num']:.1e} (arXiv); in the arXiv form the ratio over k is "
                                  f"{s['arx_ratio_over_k_num']:.3g} at the largest k (α = {s['arx_alpha_num']:g}), "
                                  f"against the stated constant {s['arx_constant_a2_num']:.3g}")


def _pareto(d: dict) -> tuple[str, str]:
    s = d["summary"]
    outcome = power.SHOWS if d["verdict"]["assumption_holds"] else power.CONTRADICTS
    return outcome, (f"a Pareto law for the whole distribution is ruled out in {s['whole_ruled_out']} fitted "
                     f"trees; a Pareto tail is plausible in {s['tail_plausible']}")


def _code_length(d: dict) -> tuple[str, str]:
    s = d["summary"]
    return "measured", (f"Theorem 2.5's expression comes out {s['thm_gap']} below brute-force coding, which the "
                        f"parse-segment form matches to within {s['wald_gap']}")


def _hooke(d: dict) -> tuple[str, str]:
    s = d["summary"]
    return "measured", (f"the conservation of |D_i| Δγ_i holds to within {s['conservation_overlap']} (overlapping "
                        f"supports) and {s['conservation_pareto']} (Pareto masses)")


THEORY: tuple[Audit, ...] = (
    Audit("Thm 3.2 (ACL version): under perturbation the normalized compression rates of the "
          "pre-training and the alignment data both increase", "elasticity_theorem", _acl_signs),
    Audit("Thm 3.2: the ratio of the two rates' changes is Θ(k), k = |D1|/|D2|", "elasticity_theorem", _ratio_k),
    Audit("Assumption B.6: the masses of a pruned token tree follow a Pareto law", "mass_distribution", _pareto),
    Audit("Thm 2.5: the ideal code length of a dataset under the compression protocol",
          "compression_protocol", _code_length),
    Audit("§3.3 (Hooke's law): |D_i| Δγ_i is the same for every dataset", "hookes_law", _hooke),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(presets=PRESETS) -> str:
    """One MyST table: per claim (the empirical ones of :mod:`elastic.claims`, then the theory
    audits of :data:`THEORY`), the paper's claim, its verdict in each preset that has run (effect,
    interval and, where inconclusive, the MDE, as :func:`elastic.claims.describe` writes it), and a
    link to the chapter; a preset with no results at all has no column, a claim whose chapter has
    not run in a preset says so."""
    chapters = {c.chapter for c in claims.CLAIMS.values()} | {a.chapter for a in THEORY}
    ran = [p for p in presets if any(results.path(c, p).exists() for c in chapters)]
    if not ran:
        return "No chapter has run yet: run `python -m elastic regenerate --preset cpu`.\n"
    stored = {p: verdicts(p) for p in ran}
    lines = ["| Claim (paper) | " + " | ".join(f"`{p}`" for p in ran) + " | Chapter |",
             "|---|" + "---|" * len(ran) + "---|"]
    for name, c in claims.CLAIMS.items():
        cells = []
        for p in ran:
            if name in stored[p]:
                cells.append(claims.describe(stored[p][name]))
            elif results.path(c.chapter, p).exists():
                cells.append("not judged by this run's chapter yet")
            else:
                cells.append("not run")
        lines.append(f"| {_cell(c.paper)} | " + " | ".join(_cell(x) for x in cells) + f" | {{doc}}`{c.chapter}` |")
    for audit in THEORY:
        cells = []
        for p in ran:
            if results.path(audit.chapter, p).exists():
                outcome, found = audit.finding(results.load(audit.chapter, p)["data"])
                cells.append(f"**{outcome}**: {found}")
            else:
                cells.append("not run")
        lines.append(f"| {_cell(audit.paper)} | " + " | ".join(_cell(x) for x in cells) + f" | {{doc}}`{audit.chapter}` |")
    return "\n".join(lines) + "\n"


# --- the power analysis of the reproducibility page ------------------------------------------------

def _resistance_units(kind: str):
    def units(data: dict) -> list:
        from elastic.experiments import resistance

        return resistance.per_seed(data["rows"], len(data["seeds"]), kind)[0]
    return units


def _lifecycle_rebound_units(data: dict) -> list:
    main = next(p for p in data["panels"] if p["model"] == data["main"]["model"] and p["volume"] == data["main"]["volume"])
    return claims.rebound_pairs(main)


#: Claims whose per-seed statistic is a mean over units within the seed (held-out pairs, or cells
#: of slices), with how to read those units from their chapter's results ``data`` and their name.
UNITS: dict[str, tuple[Callable[[dict], list], str]] = {
    "resistance": (_resistance_units("kl"), "cells"),
    "resistance_loss": (_resistance_units("ce"), "cells"),
    "lifecycle_rebound": (_lifecycle_rebound_units, "pairs"),
}


def design_curves(preset: str, seeds=range(2, 11)) -> dict:
    """Per judged claim of ``preset``: the predicted MDE over the claim's natural scale against the
    number of training seeds. For a claim of :data:`UNITS` the variance components are measured on
    the run itself (seeds nested with their own units, :func:`elastic.power.nested_components`) and
    the curve is drawn at a quarter of, as many as, and four times as many units per seed as the
    run had; for any other claim (or a run with one unit per seed) the seeds' own spread is the
    whole variance, its units fixed."""
    out = {}
    stored = verdicts(preset)
    for name, verdict in stored.items():
        if verdict["outcome"] == "not judged" or not verdict["scale"]:
            continue
        scale = abs(verdict["scale"])
        per_seed = []
        if name in UNITS:
            units, unit_name = UNITS[name]
            per_seed = units(results.load(claims.claim(name).chapter, preset)["data"])
        if min((len(u) for u in per_seed), default=0) >= 2:  # within-seed variance needs two units
            components = power.nested_components(per_seed)
            n_units = components["n_units"] = components.pop("n_pairs")
            budgets = sorted({max(2, n_units // 4), n_units, 4 * n_units})
        else:
            components = {"seed": float(np.var(verdict["values"], ddof=1)), "pair": 0.0, "n_units": 1}
            n_units, unit_name, budgets = 1, "units", [1]
        curves = {u: [power.predicted_mde({"seed": components["seed"], "pair": components["pair"]}, k, u) / scale
                      for k in seeds] for u in budgets}
        out[name] = {"components": components, "n_seeds": verdict["n_seeds"], "n_units": n_units,
                     "unit": unit_name, "seeds": list(seeds), "mde_over_scale": curves,
                     "observed": verdict["mde_ratio"]}
    return out


def power_markdown(directory: Path, preset: str) -> str:
    """The power figure (written as ``power.png`` into ``directory``, beside the staged page) with
    its caption and the variance components, or a sentence saying no claim has been judged in
    ``preset`` yet."""
    from elastic import plots

    curves = design_curves(preset)
    if not curves:
        return f"No pre-registered claim has been judged in the `{preset}` preset yet.\n"
    fig = plots.power_curves(curves, claims.MDE_BAR)
    fig.savefig(Path(directory) / "power.png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    rows = "\n".join(
        f"| `{name}` | {c['n_seeds']} seeds" + (f" × {c['n_units']} {c['unit']}" if c["n_units"] > 1 else "")
        + f" | {c['components']['seed'] ** 0.5:.3g} | "
        f"{c['components']['pair'] ** 0.5:.3g} | {c['observed']:.2f} |" for name, c in curves.items())
    return (f"![The MDE over the natural scale against the number of training seeds](power.png)\n\n"
            f"*The minimum detectable effect (power 0.8, 95% interval) over each claim's natural scale "
            f"against the number of training seeds, predicted from the variance components measured on "
            f"the `{preset}` run (seeds nested with their own held-out units); for claims whose units "
            f"the run stores, at a quarter of, as many as, and four times as many units per seed as it "
            f"had. The star is the run's own MDE, the dotted line the bar of a quarter of the scale. "
            f"Computed by `elastic.findings.design_curves`, drawn by `elastic.plots.power_curves`.*\n\n"
            "| claim | seeds × units | sd between seeds | sd between units | MDE / scale |\n|---|---|---|---|---|\n"
            f"{rows}\n")
