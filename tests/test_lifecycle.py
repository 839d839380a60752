import itertools
import json

import numpy as np
import pytest
import torch

from elastic import claims, experiments, measure, stages
from elastic.experiments import lifecycle
from elastic.errors import ElasticError
from elastic.models import byte_tokenizer, tiny_model
from elastic.sources import AttributeSource
from source_checks import assert_frequencies_match, assert_log2_probabilities_match

SMALL = AttributeSource.random(4, rho=(0.7, 0.25), weights=(0.3, 0.7), stop_prob=0.3, max_len=4, seed=1)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def enumerate_source(src, attribute=None):
    return {x: src.probability(x, attribute) for n in range(src.max_len + 1)
            for x in itertools.product(range(src.vocab_size), repeat=n)}


@pytest.mark.parametrize("attribute", [None, 0, 1])
def test_attribute_source_entropy_matches_enumeration(attribute):
    probs = enumerate_source(SMALL, attribute)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    brute = -sum(p * np.log2(p) for p in probs.values() if p > 0)
    assert SMALL.entropy(attribute) == pytest.approx(brute, abs=1e-10)


def test_mixture_probability_and_posterior_by_hand():
    x = (0, 3, 1)  # two positive tokens (0, 1), one negative (3)
    p_plus, p_minus = SMALL.probability(x, 0), SMALL.probability(x, 1)
    assert SMALL.probability(x) == pytest.approx(0.3 * p_plus + 0.7 * p_minus)
    # the within-class factor cancels: the likelihood ratio is rho's alone
    assert p_plus / p_minus == pytest.approx((0.7 / 0.25) ** 2 * (0.3 / 0.75))
    expected = 0.3 * p_plus / (0.3 * p_plus + 0.7 * p_minus)
    assert SMALL.posterior(np.array([[0, 3, 1, -1]]), np.array([3]))[0] == pytest.approx(expected)
    assert SMALL.posterior(np.array([[-1, -1, -1, -1]]), np.array([0]))[0] == pytest.approx(0.3)


def test_log2_probability_of_samples_matches_probability():
    assert_log2_probabilities_match(SMALL, n=300, seed=4)


def test_mixture_sample_frequencies_match_probabilities():
    assert_frequencies_match(SMALL, [(), (0,), (3,), (0, 1), (2, 3), (1, 1, 1)])


def test_component_samples_carry_their_attribute():
    # E_{x ~ P_+}[P(+|x)] > prior > E_{x ~ P_-}[P(+|x)]
    plus, minus = (SMALL.posterior(*SMALL.sample(4000, seed=6, attribute=a)).mean() for a in (0, 1))
    assert plus > 0.3 > minus


@pytest.mark.parametrize("kwargs", [
    dict(vocab_size=3), dict(rho=(0.5, 1.0)), dict(weights=(0.6, 0.6)),
])
def test_invalid_attribute_source(kwargs):
    with pytest.raises(ElasticError):
        AttributeSource.random(**kwargs)


def test_encode_gives_one_token_per_source_token():
    tok = byte_tokenizer()
    ids = measure.encode(tok, np.array([[0, 2, 1], [3, -1, -1]]), np.array([3, 1]))
    assert ids.tolist() == [[1, 100, 102, 101, 2], [1, 103, 2, 0, 0]]  # <s> a c b </s>; <s> d </s>


def test_encode_refuses_a_tokenizer_that_merges_letters():
    class Merging:
        pad_token_id, eos_token_id = 0, 2

        def __call__(self, text):
            return {"input_ids": [1, 5]}

    with pytest.raises(ElasticError, match="byte_tokenizer"):
        measure.encode(Merging(), np.array([[0, 1]]), np.array([2]))


def test_sequence_log2_probs_agree_with_the_models_own_loss():
    tok = byte_tokenizer()
    model = tiny_model(tok, n_layer=1, d_model=16).eval()
    ids = measure.encode(tok, *SMALL.sample(5, seed=1))
    log2_q = measure.sequence_log2_probs(model, ids, tok.pad_token_id)
    mask = (ids != tok.pad_token_id).long()
    with torch.no_grad():
        loss = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss
    n_targets = int(mask[:, 1:].sum())
    assert -log2_q.sum() == pytest.approx(loss.item() * n_targets / np.log(2), rel=1e-5)


def test_a_model_trained_on_d1_nears_the_source_entropy():
    """Stated margin: 0.1 bits/token of KL(P || q) after 300 steps on a 4-letter source."""
    src = AttributeSource.random(4, stop_prob=0.25, max_len=6, seed=2)
    tok = byte_tokenizer()
    model = tiny_model(tok, n_layer=1, d_model=32)
    data = measure.encode(tok, *src.sample(4800, seed=1))
    stages.train(model, stages.batches(data, 32, 2.0, seed=0), stages.adamw(model, 3e-3), pad_id=tok.pad_token_id)
    evalset = measure.EvalSet.build(src, tok, 400, seed=9)
    row = measure.measure(model, tok, src, evalset, n_generate=16, seed=0)
    kl_per_token = row["kl_D1"] / (src.mean_length() + 1)
    assert 0 <= kl_per_token < 0.1
    # gamma - entropy rate estimates the same KL, but with the noise of -log2 q(x) itself (about
    # 0.04 bits/token at 400 sequences) rather than that of the log-ratio: agreement within 0.1
    assert row["gamma_D1"] - src.entropy() / (src.mean_length() + 1) == pytest.approx(kl_per_token, abs=0.1)


def _run(volume, sizes, d1, d2, drops, model=(2, 64), params=100):
    aligned = []
    for n, a, b, drop in zip(sizes, d1, d2, drops):
        start = {"size": 0, "gamma_D1": 2.0, "gamma_D2": 2.0, "score": 0.9}
        after = {"size": 16, "gamma_D1": 2.0 + a, "gamma_D2": 2.0 + b, "score": 0.9 - drop}
        aligned.append({"n": n, "curve": [start, after]})
    return {"model": list(model), "volume": volume, "params": params, "aligned": aligned,
            "pretrain": {"kl_D1": 0.2, "gamma_D1": 2.1, "score": 0.5}}


def test_verdicts_on_curves_that_obey_the_theorem():
    sizes = [10, 100, 1000]
    runs = [_run(v, sizes, [1e-3] * 3, [1e-3 * v / n for n in sizes], [0.05, 0.1, 0.2])
            for v in (1000, 10000)]
    runs.append(_run(10000, sizes, [1e-3] * 3, [1e-3] * 3, [0.3, 0.2, 0.1], model=(1, 32), params=10))
    source = {"mean_tokens": 4.0, "entropy_rate_D1": 2.0}
    v = lifecycle.verdicts(runs, source, main_model=(2, 64), main_volume=10000, entropy_margin=0.1)
    assert v["elasticity"]["fit"]["slope"] == pytest.approx(1.0)
    assert v["elasticity"]["signed_verdict"] == "like_k" and v["elasticity"]["both_increase"] == 6
    assert v["hooke"]["median_log10"] == pytest.approx(0.0, abs=1e-9)
    assert v["entropy_gap"]["kl_bits_per_token"] == pytest.approx(0.05) and v["entropy_gap"]["within"]


def test_verdicts_when_the_pretraining_rate_falls():
    # D3's source is part of D1's mixture, so perturbing can improve D1: Delta gamma_1 < 0
    sizes = [10, 100, 1000]
    runs = [_run(v, sizes, [-1e-3] * 3, [1e-3 * v / n for n in sizes], [0.3, 0.2, 0.1]) for v in (1000, 10000)]
    v = lifecycle.verdicts(runs, {"mean_tokens": 4.0, "entropy_rate_D1": 2.0}, main_model=(2, 64),
                           main_volume=10000, entropy_margin=0.1)
    el = v["elasticity"]
    assert el["fit"]["n"] == 0 and el["d1_falls"] == 6 and el["both_increase"] == 0
    assert el["fit_magnitude"]["slope"] == pytest.approx(1.0) and el["magnitude_verdict"] == "like_k"
    assert el["signed_verdict"] == "no_fit"
    assert v["hooke"]["median_log10"] == pytest.approx(0.0, abs=1e-9)


def _panel(model, volume, params, rebound_per_seed, gain=1.0, n_pairs=4):
    """A panel (2 alignment sizes, 1 checkpoint) whose rebound statistic in seed k is
    ``rebound_per_seed[k]`` exactly: the smaller alignment drops by 0.1, the larger by 0.1 + it."""
    seeds = []
    for k, r in enumerate(rebound_per_seed):
        cells = [[[gain / 2] * n_pairs, [gain / 2 - 0.1] * n_pairs], [[gain] * n_pairs, [gain - 0.1 - r] * n_pairs]]
        seeds.append({"seed": k, "base": [0.0] * n_pairs, "cells": cells})
    return {"model": list(model), "volume": volume, "params": params, "sign": 1, "first_sizes": [8, 64],
            "second_sizes": [8], "n_pairs": n_pairs, "seeds": seeds}


def test_judge_finds_planted_rebound_and_trends():
    """Rebound planted at the main panel is shown; a rebound that grows by 0.1 per decade of
    parameters is a slope of 0.1; one that shrinks with volume contradicts the paper; a grid of
    too few sizes is not judged, with its reason."""
    main = (2, 64)
    noise = [0.0, 0.01, -0.01]
    panels = [_panel(main, 10_000, 1000, [0.2 + e for e in noise])]
    panels += [_panel((1, 16), 10_000, p, [0.2 + 0.1 * np.log10(p / 1000) + e for e in noise]) for p in (10, 100)]
    panels += [_panel(main, v, 1000, [0.2 - 0.05 * np.log10(v / 10_000) + e for e in noise]) for v in (100, 1000)]
    points = [[{"k": k, "ratio": k * (1 + e)} for k in (1.0, 10.0, 100.0)] for e in noise]
    resistance = [[{"forward_kl": 0.3 + e, "inverse_kl": 0.1}] for e in noise]
    data = {"main": {"model": list(main), "volume": 10_000}, "panels": panels, "resistance_seeds": resistance}
    v = lifecycle.judge(data, points)
    assert v["lifecycle_rebound"]["outcome"] == "shows"
    assert v["lifecycle_rebound"]["estimate"] == pytest.approx(0.2) and v["lifecycle_rebound"]["scale"] == pytest.approx(1.0)
    assert v["lifecycle_rebound_size"]["outcome"] == "shows"
    assert v["lifecycle_rebound_size"]["estimate"] == pytest.approx(0.1)
    assert v["lifecycle_rebound_volume"]["outcome"] == "contradicts"
    assert v["lifecycle_rebound_volume"]["estimate"] == pytest.approx(-0.05)
    assert v["lifecycle_resistance"]["outcome"] == "shows" and v["lifecycle_resistance"]["estimate"] == pytest.approx(0.2)
    assert v["lifecycle_elasticity"]["outcome"] == "shows"
    few = lifecycle.judge({**data, "panels": panels[:1] + panels[3:]}, points)
    assert few["lifecycle_rebound_size"]["outcome"] == "not judged"
    assert "1 model size spanning" in few["lifecycle_rebound_size"]["reason"]


def test_stage_store_round_trip_and_keys(tmp_path):
    store = stages.StageStore(tmp_path)
    model = tiny_model(byte_tokenizer(), n_layer=1, d_model=16, seed=3)
    key = stages.stage_key({"stage": "pretrain", "volume": 10})
    assert key != stages.stage_key({"stage": "pretrain", "volume": 10}, parent="x")
    assert store.load_record(key) is None
    store.save(key, {"metrics": {"a": 1.0}}, model)
    assert store.load_record(key) == {"metrics": {"a": 1.0}}
    fresh = tiny_model(byte_tokenizer(), n_layer=1, d_model=16, seed=4)
    store.load_weights(key, fresh)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    assert not list(tmp_path.glob(".*")), "no temporary directory is left behind"
    with pytest.raises(ElasticError, match="another model"):
        store.load_weights(key, tiny_model(byte_tokenizer(), n_layer=2, d_model=16))


def test_lifecycle_smoke_writes_every_curve_and_a_rerun_trains_nothing(results_tmp, tmp_path):
    cfg = experiments.load_config("lifecycle", "smoke", cache_dir=str(tmp_path / "cache"))
    first_record = lifecycle.run(cfg)
    first = first_record["data"]
    assert first_record["provenance"]["run"]["cache"]["trained"] > 0 and "cache" not in first
    n_runs = len(cfg.volumes) + len(cfg.models) - 1
    assert len(first["runs"]) == n_runs
    for run in first["runs"]:
        assert [a["n"] for a in run["aligned"]] == sorted(cfg.align_sizes)
        for aligned in run["aligned"]:
            assert [r["size"] for r in aligned["curve"]] == [0, *cfg.perturb_sizes]
            assert {"gamma_D1", "kl_D2", "kl_D3", "margin", "score"} <= set(aligned["curve"][-1])
    assert len(first["panels"]) == n_runs and [s["seed"] for s in first["panels"][0]["seeds"]] == list(cfg.seeds)
    assert set(first["claims"]) == {name for name, c in claims.CLAIMS.items() if c.chapter == "lifecycle"}
    second_record = lifecycle.run(cfg)
    second = second_record["data"]
    assert second_record["provenance"]["run"]["cache"]["trained"] == 0
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)  # bit-identical data
    assert json.dumps(second["runs"]) == json.dumps(first["runs"])
    record = json.loads((results_tmp / "smoke" / "lifecycle.json").read_text())
    assert record["provenance"]["parameters"]["perturb_sizes"] == list(cfg.perturb_sizes)


def test_bad_grid_is_an_elastic_error():
    with pytest.raises(ElasticError, match="perturb_sizes"):
        experiments.load_config("lifecycle", "smoke", perturb_sizes=(64, 16))
    with pytest.raises(ElasticError, match="d_model"):
        experiments.load_config("lifecycle", "smoke", models=((1, 30),))


def test_next_token_kl_is_exact_over_the_next_token():
    """Zero from a model to itself; for two models, the mean over contexts of the exact sum over the
    next token, computed here by hand from their logits."""
    tok = byte_tokenizer()
    src = AttributeSource.random(4, stop_prob=0.25, max_len=6, seed=2)
    ids = measure.encode(tok, *src.sample(8, seed=1))
    p, q = tiny_model(tok, n_layer=1, d_model=16, seed=0).eval(), tiny_model(tok, n_layer=1, d_model=16, seed=1).eval()
    assert measure.next_token_kl(p, p, ids, tok.pad_token_id) == pytest.approx(0.0, abs=1e-7)
    mask = measure.attention_mask(ids, tok.pad_token_id)
    with torch.no_grad():
        lp = torch.log_softmax(p(input_ids=ids, attention_mask=mask).logits[:, :-1], -1)
        lq = torch.log_softmax(q(input_ids=ids, attention_mask=mask).logits[:, :-1], -1)
    per_position = (lp.exp() * (lp - lq)).sum(-1)
    expected = float(per_position[mask[:, 1:].bool()].mean())
    assert expected > 0 and measure.next_token_kl(p, q, ids, tok.pad_token_id) == pytest.approx(expected, rel=1e-5)


def test_margin_pairs_subtract_by_index():
    assert measure.margin_pairs(np.array([-1.0, -2.0]), np.array([-3.0, -1.5])).tolist() == [2.0, -0.5]
    with pytest.raises(ElasticError, match="as many"):
        measure.margin_pairs(np.zeros(2), np.zeros(3))
