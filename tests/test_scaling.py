"""The scaling chapter's verdicts on hand-made panels (no training): a planted slope along a
series is found with the sign it has, and a series the design cannot judge says why."""

import pytest

from elastic import experiments
from elastic.errors import ElasticError
from elastic.experiments import scaling


def panel(rebounds, gain=0.4):
    """A panel of 2 positive amounts and 1 negative amount whose rebound statistic is
    ``rebounds[k]`` on seed k and whose alignment gain (largest amount) is ``gain``: the smallest
    amount does not fall under negative data, the largest falls by the rebound (both pairs alike)."""
    return {"sign": 1, "first_sizes": [4, 16], "second_sizes": [4],
            "seeds": [{"seed": k, "base": [0.0, 0.0], "cells": [[[0.1, 0.1], [0.1, 0.1]], [[gain, gain], [gain - r, gain - r]]]}
                      for k, r in enumerate(rebounds)]}


X = [1e4, 1e5, 1e6]  # two decades


def test_a_planted_slope_is_found_with_its_sign():
    # rebound = 0.1 * decades + a seed offset: every seed's slope is exactly 0.1 per decade
    grows = [panel([0.1 * d + o for o in (0.0, 0.02, -0.01)]) for d in range(3)]
    verdict = scaling.trend("size", X, grows)
    assert verdict["outcome"] == "shows" and verdict["claim"]["name"] == "rebound_size"
    assert verdict["estimate"] == pytest.approx(0.1) and verdict["values"] == pytest.approx([0.1] * 3)
    assert verdict["scale"] == pytest.approx(0.4 / 2)  # mean gain per decade of the span
    shrinks = [panel([-0.1 * d + o for o in (0.0, 0.02, -0.01)]) for d in range(3)]
    assert scaling.trend("volume", X, shrinks)["outcome"] == "contradicts"
    # seeds disagree on the sign (slopes +0.1, -0.1, +0.01): the interval holds zero
    mixed = [panel([0.1 * d, -0.1 * d, 0.01 * d]) for d in range(3)]
    verdict = scaling.trend("volume", X, mixed)
    assert verdict["outcome"] == "inconclusive" and verdict["mde"] > 0


def test_a_series_the_design_cannot_judge_says_why():
    flat = [panel([0.1, 0.1]) for _ in range(3)]
    verdict = scaling.trend("size", [1e4, 1e5, 1e5], flat)
    assert verdict["outcome"] == "not judged" and "2 distinct sizes" in verdict["reason"]
    one_amount = [{**p, "first_sizes": [16]} for p in flat]
    assert "one amount of positive data" in scaling.trend("volume", X, one_amount)["reason"]


def test_volumes_from_tiny_specs_or_stated():
    cfg = experiments.load_config("scaling", "smoke")
    assert scaling.volumes(cfg) == (50.0, 100.0)
    assert scaling.decades([20, 200, 2000]) == pytest.approx(2.0)
    hub = experiments.load_config("scaling", "paper")
    assert scaling.volumes(hub)[0] == 1.05e11 and len(scaling.volumes(hub)) == len(hub.volume_models)
    with pytest.raises(ElasticError, match="give the pre-training volume of every volume model"):
        experiments.load_config("scaling", "paper", pretraining_volumes=None)
    with pytest.raises(ElasticError, match="give one volume per model"):
        experiments.load_config("scaling", "smoke", pretraining_volumes=[1.0])
    with pytest.raises(ElasticError, match="one label per model"):
        experiments.load_config("scaling", "smoke", size_labels=["a"])
