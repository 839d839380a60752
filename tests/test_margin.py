"""The likelihood margin against answers computed by hand from a model whose log-probabilities are
a table: logits at each position depend on the current token only (a bigram model)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from elastic import margin
from elastic.data import Pair, Record
from elastic.errors import ElasticError
from elastic.models import byte_tokenizer

torch.set_num_threads(1)


class Bigram(torch.nn.Module):
    """logits[t] = table[token t]: p(next | prefix) depends on the last token only."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = torch.nn.Parameter(table)

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.table[input_ids])


def by_hand(table: np.ndarray, tok, prompt: str, response: str) -> float:
    """(1/|y|) sum_t log softmax(table[y_{t-1}])[y_t], the prompt's last token starting the chain."""
    ids = tok(prompt)["input_ids"] + tok(response, add_special_tokens=False)["input_ids"]
    first = len(tok(prompt)["input_ids"])
    total = 0.0
    for t in range(first, len(ids)):
        row = table[ids[t - 1]]
        total += row[ids[t]] - math.log(np.exp(row).sum())
    return total / (len(ids) - first)


@pytest.fixture
def tok():
    return byte_tokenizer()


def test_log_likelihoods_match_a_hand_computation(tok):
    table = np.random.default_rng(0).normal(size=(len(tok), len(tok)))
    model = Bigram(torch.tensor(table, dtype=torch.float32))
    recs = [Record("I watched it.", " It was great.", "positive"), Record("Hi", " no", "negative"),
            Record("A much longer opener than the others here:", " x", "positive")]
    got = margin.response_log_likelihoods(model, tok, recs, batch_size=2)
    want = [by_hand(table, tok, r.prompt, r.response) for r in recs]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # padding is masked: one batch or one text at a time give the same numbers
    np.testing.assert_allclose(margin.response_log_likelihoods(model, tok, recs, batch_size=1), got, rtol=1e-6)
    # max_tokens scores the first tokens of each response only (one byte, one token here)
    cut = margin.response_log_likelihoods(model, tok, recs, max_tokens=3)
    np.testing.assert_allclose(cut, [by_hand(table, tok, r.prompt, r.response[:3]) for r in recs], rtol=1e-5)


def test_margin_of_a_model_that_prefers_one_word(tok):
    """Every row of the table is the same vector L, so each response token costs log softmax(L)[y]
    whatever comes before: the margin is a difference of two averages over bytes, known exactly."""
    logits = torch.zeros(len(tok))
    good = tok(" good", add_special_tokens=False)["input_ids"]
    logits[good] = 2.0
    model = Bigram(logits.repeat(len(tok), 1))
    logp = torch.log_softmax(logits, 0).numpy()
    bad = tok(" bad!", add_special_tokens=False)["input_ids"]
    pair = Pair(Record("It was", " good", "positive"), Record("It was", " bad!", "negative"))
    got = margin.likelihood_margin(model, tok, [pair, pair])
    want = logp[good].mean() - logp[bad].mean()
    assert want == pytest.approx(2.0 - 0.8)  # " good": five bytes at +2; " bad!": " " and "d" at +2, three at 0
    np.testing.assert_allclose(got, [want, want], rtol=1e-5)
    # swapping the sides negates it; a uniform model has no preference at all
    swapped = Pair(pair.negative, pair.positive)
    np.testing.assert_allclose(margin.likelihood_margin(model, tok, [swapped]), [-want], rtol=1e-5)
    uniform = Bigram(torch.zeros(len(tok), len(tok)))
    np.testing.assert_allclose(margin.likelihood_margin(uniform, tok, [pair]), [0.0], atol=1e-6)


def test_pairs_per_dataset_and_bad_input(tok):
    assert margin.pairs("reviews", 3, 0) == margin.pairs("reviews", 3, 0)
    assert all(p.positive.label == "safe" for p in margin.pairs("dialogues", 3, 0))
    with pytest.raises(ElasticError, match="valid: reviews"):
        margin.pairs("alpaca", 3, 0)
    model = Bigram(torch.zeros(len(tok), len(tok)))
    with pytest.raises(ElasticError, match="at least one"):
        margin.likelihood_margin(model, tok, [])
    with pytest.raises(ElasticError, match="empty response"):
        margin.response_log_likelihoods(model, tok, [Record("a", "", "positive")])
