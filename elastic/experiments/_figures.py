"""Figures of the experiment chapters, in the style of the paper's Figures 4-10."""

from __future__ import annotations

import numpy as np


def rebound_panel(ax, panel: dict, title: str = "") -> None:
    """One rebound grid: the task score against the amount of second-stage data, one line per
    amount of first-stage data (darker = more), each point with ± one standard error over the
    held-out prompts, θ0 as a dashed line (Figure 4)."""
    import matplotlib.pyplot as plt

    colours = plt.cm.Blues(np.linspace(0.45, 0.95, len(panel["curves"])))
    for i, (curve, colour) in enumerate(zip(panel["curves"], colours)):
        x = np.arange(len(curve["second_sizes"])) + 0.04 * (i - (len(panel["curves"]) - 1) / 2)  # bars apart
        ax.errorbar(x, curve["metric"], yerr=curve["metric_se"], fmt="o-", capsize=3, color=colour,
                    label=f"{curve['first_size']} {panel['first_side']}")
    sizes = panel["curves"][0]["second_sizes"]
    ax.axhline(panel["base"]["metric"], color="0.3", ls="--", label="θ0 (base)")
    ax.set_xticks(np.arange(len(sizes)), [str(s) for s in sizes])
    second = "positive" if panel["first_side"] == "negative" else "negative"
    ax.set_xlabel(f"{second} samples ({panel['method'].upper()})")
    ax.set_ylabel(panel["metric_name"])
    ax.set_title(title or panel["model"], fontsize=10)
    ax.legend(fontsize=7)


def series_panel(ax, panels: list[dict], labels: list[str], title: str) -> None:
    """Mean score over first-stage amounts against second-stage amount, one line per model of a
    series, shaded ± one standard deviation across first-stage amounts (Figures 5, 6)."""
    import matplotlib.pyplot as plt

    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(panels)))
    for panel, label, colour in zip(panels, labels, colours):
        scores = np.array([c["metric"] for c in panel["curves"]])
        x = np.arange(scores.shape[1])
        mean, std = scores.mean(axis=0), scores.std(axis=0)
        ax.plot(x, mean, "o-", color=colour, label=label)
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
    sizes = panels[0]["curves"][0]["second_sizes"]
    ax.set_xticks(np.arange(len(sizes)), [str(s) for s in sizes])
    ax.set_xlabel("negative samples")
    ax.set_ylabel(panels[0]["metric_name"])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
