import copy
import json

import numpy as np
import pytest
import torch

from elastic import data, score
from elastic.errors import ElasticError
from elastic.models import byte_tokenizer, tiny_model

torch.set_num_threads(1)


# --- sentiment and safety stand-ins ---------------------------------------------------------------

def test_vader_rates_positive_reviews_higher():
    positive = score.sentiment(data.reviews(300, "positive", 0))
    negative = score.sentiment(data.reviews(300, "negative", 0))
    assert ((0 <= positive) & (positive <= 1)).all() and ((0 <= negative) & (negative <= 1)).all()
    assert positive.mean() - negative.mean() > 0.4
    assert score.positive(score.sentiment(data.reviews(300, "positive", 1))).mean() > 0.9
    assert score.positive(score.sentiment(data.reviews(300, "negative", 1))).mean() < 0.3


def test_standin_cost_is_higher_for_unsafe_answers():
    safe, unsafe = data.dialogues(200, True, 0), data.dialogues(200, False, 0)
    cost_safe = score.safety_cost([r.prompt for r in safe], [r.response for r in safe])
    cost_unsafe = score.safety_cost([r.prompt for r in unsafe], [r.response for r in unsafe])
    assert cost_unsafe.mean() - cost_safe.mean() > 1.0
    assert (cost_safe < 0).mean() > 0.95 and (cost_unsafe > 0).mean() > 0.8
    with pytest.raises(ElasticError, match="one response per prompt"):
        score.safety_cost(["a", "b"], ["x"])


@pytest.mark.parametrize("call", [
    lambda: score.sentiment(["fine"], model=score.SENTIMENT_MODEL),
    lambda: score.safety_cost(["q"], ["a"], model=score.COST_MODEL),
])
def test_hub_scorers_fail_fast_offline(call, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ElasticError, match="HF_HUB_OFFLINE.*model=") as info:
        call()
    assert "\n" not in str(info.value)


def _save_with_tokenizer(directory, state: dict, config: dict):
    from safetensors.torch import save_file

    directory.mkdir()
    save_file({k: v.contiguous() for k, v in state.items()}, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(config))
    byte_tokenizer().save_pretrained(directory)
    return directory


def test_cost_model_loads_safe_rlhf_layout(tmp_path):
    """A tiny checkpoint laid out like safe-rlhf's LlamaForScore: backbone under ``model.``, a
    ``score_head`` with bias; the cost is the head applied to the last token's hidden state."""
    tokenizer = byte_tokenizer()
    backbone = tiny_model(tokenizer, n_layer=1, d_model=16, n_head=2, seed=1).model
    head = torch.nn.Linear(16, 1)
    state = {f"model.{k}": v for k, v in backbone.state_dict().items()}
    state |= {f"score_head.{k}": v for k, v in head.state_dict().items()}
    config = backbone.config.to_dict() | {"architectures": ["LlamaForScore"], "score_dim": 1, "score_type": "cost"}
    directory = _save_with_tokenizer(tmp_path / "cost", state, config)

    prompts, responses = ["How do I sleep?", "Hi"], [" Rest well.", " Go away, I said go away."]
    got = score.safety_cost(prompts, responses, model=str(directory), batch_size=2)
    with torch.no_grad():
        want = []
        for p, r in zip(prompts, responses):
            ids = tokenizer(score.CONVERSATION.format(prompt=p, response=r), return_tensors="pt")["input_ids"]
            want.append(float(head(backbone(input_ids=ids).last_hidden_state[0, -1])[0]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    (directory / "config.json").write_text(json.dumps(config | {"architectures": ["LlamaForCausalLM"]}))
    with pytest.raises(ElasticError, match="not a safe-rlhf score model"):
        score.load_cost_model(str(directory))


def test_sentiment_classifier_path_reads_positive_label(tmp_path):
    from transformers import LlamaForSequenceClassification

    tokenizer = byte_tokenizer()
    config = tiny_model(tokenizer, n_layer=1, d_model=16, n_head=2).config
    config.num_labels, config.id2label = 2, {0: "NEGATIVE", 1: "POSITIVE"}
    config.label2id = {"NEGATIVE": 0, "POSITIVE": 1}
    torch.manual_seed(0)
    classifier = LlamaForSequenceClassification(config)
    classifier.save_pretrained(tmp_path / "clf")
    tokenizer.save_pretrained(tmp_path / "clf")
    texts = ["a fine film", "bad"]
    got = score.sentiment(texts, model=str(tmp_path / "clf"))
    with torch.no_grad():
        want = [float(classifier(**tokenizer(t, return_tensors="pt")).logits.softmax(-1)[0, 1]) for t in texts]
    np.testing.assert_allclose(got, want, rtol=1e-5)


# --- cross-entropy and KL -------------------------------------------------------------------------

def _word_tokenizer():
    """Two words, ``a`` -> 0 and ``b`` -> 1, no special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"a": 0, "b": 1}, unk_token="a"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core)


def _bigram_llama(next_token_probs):
    """A Llama whose next-token distribution depends only on the current token:
    ``p(. | token i) = next_token_probs[i]``. Attention and MLP outputs are zeroed, so the last
    hidden state is RMSNorm(embedding) = 2 e_i for the one-hot embedding e_i in 4 dimensions, and
    the head maps it to the log-probabilities."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=2, hidden_size=4, intermediate_size=4, num_hidden_layers=1,
                         num_attention_heads=1, num_key_value_heads=1, rms_norm_eps=1e-12,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.model.norm.weight.fill_(1.0)
        model.model.embed_tokens.weight[0, 0] = model.model.embed_tokens.weight[1, 1] = 1.0
        log_p = torch.log(torch.tensor(next_token_probs, dtype=torch.float32))  # [current, next]
        model.lm_head.weight[:, :2] = log_p.T / 2
    return model


def test_two_token_example_by_hand():
    # p_a(.|a) = (0.5, 0.5), p_a(.|b) = (0.7, 0.3); p_b(.|a) = (0.9, 0.1), p_b(.|b) = (0.2, 0.8).
    a = _bigram_llama([[0.5, 0.5], [0.7, 0.3]])
    b = _bigram_llama([[0.9, 0.1], [0.2, 0.8]])
    tok = _word_tokenizer()
    # "a b b" has two scored contexts, ending in a and in b:
    # H = 1/2 [-(.5 ln .9 + .5 ln .1) - (.7 ln .2 + .3 ln .8)] = 1/2 (1.2039728 + 1.1935496)
    assert score.cross_entropy(a, b, tok, ["a b b"]) == pytest.approx(1.1987612, abs=1e-5)
    # H(p_a) = 1/2 [ln 2 + (-.7 ln .7 - .3 ln .3)] = 1/2 (0.6931472 + 0.6108643); KL = H - H(p_a)
    assert score.kl(a, b, tok, ["a b b"]) == pytest.approx(1.1987612 - 0.6520058, abs=1e-5)
    # with prompt "a b" only the context "a b" (next token b) is scored
    assert score.cross_entropy(a, b, tok, ["a b b"], prompts=["a b"]) == pytest.approx(1.1935496, abs=1e-5)
    # averages are per token: "a b b" (2 contexts) and "b a" (1 context, ending in b) -> 3 contexts
    assert score.cross_entropy(a, b, tok, ["a b b", "b a"], batch_size=2) == pytest.approx(
        (1.2039728 + 2 * 1.1935496) / 3, abs=1e-5)


@pytest.fixture(scope="module")
def tiny_pair():
    tok = byte_tokenizer()
    return tok, tiny_model(tok, n_layer=1, d_model=32, n_head=2, seed=0), tiny_model(tok, n_layer=1, d_model=32, n_head=2, seed=1)


TEXTS = ["A short one.", "A somewhat longer text that needs padding in a batch.", "Mid length text."]


def _entropy_by_hand(model, tok, texts):
    total, count = 0.0, 0
    with torch.no_grad():
        for t in texts:
            logp = torch.log_softmax(model(**tok(t, return_tensors="pt")).logits[0, :-1].float(), -1)
            total += float(-(logp.exp() * logp).sum())
            count += logp.shape[0]
    return total / count


def test_cross_entropy_with_itself_is_entropy_and_kl_zero(tiny_pair):
    tok, a, _ = tiny_pair
    assert score.cross_entropy(a, a, tok, TEXTS) == pytest.approx(_entropy_by_hand(a, tok, TEXTS), rel=1e-5)
    assert score.kl(a, a, tok, TEXTS) == pytest.approx(0.0, abs=1e-6)
    twin = copy.deepcopy(a)  # equal weights, but a second forward pass and the general code path
    assert score.kl(a, twin, tok, TEXTS, batch_size=2) == pytest.approx(0.0, abs=1e-6)
    assert score.cross_entropy(twin, a, tok, TEXTS) == pytest.approx(_entropy_by_hand(a, tok, TEXTS), rel=1e-5)


def test_kl_is_positive_and_consistent(tiny_pair):
    tok, a, b = tiny_pair
    forward, backward = score.kl(a, b, tok, TEXTS), score.kl(b, a, tok, TEXTS)
    assert forward > 0 and backward > 0
    assert forward == pytest.approx(score.cross_entropy(a, b, tok, TEXTS) - _entropy_by_hand(a, tok, TEXTS), rel=1e-4)


def test_batching_and_training_mode_do_not_change_results(tiny_pair):
    tok, a, b = tiny_pair
    a.train()
    one = score.cross_entropy(a, b, tok, TEXTS, batch_size=1)
    assert a.training  # restored
    assert score.cross_entropy(a, b, tok, TEXTS, batch_size=3) == pytest.approx(one, rel=1e-5)


def test_distance_input_errors(tiny_pair):
    tok, a, _ = tiny_pair
    with pytest.raises(ElasticError, match="different vocabularies"):
        score.cross_entropy(a, _bigram_llama([[0.5, 0.5], [0.5, 0.5]]), tok, ["ab"])
    with pytest.raises(ElasticError, match="does not start with its prompt"):
        score.kl(a, a, tok, ["hello"], prompts=["bye"])
    with pytest.raises(ElasticError, match="no texts"):
        score.kl(a, a, tok, [])


def test_a_reference_and_one_pass_give_the_same_distances(tiny_pair, monkeypatch):
    """θ0 run once (Reference) and CE with KL from one pass equal the separate calls exactly, with
    one forward pass per comparison instead of two; the cache is skipped when too large."""
    tok, a, b = tiny_pair
    prompts = ["A short", "A some", "Mid"]
    expected = {"ce": score.cross_entropy(a, b, tok, TEXTS, prompts=prompts),
                "kl": score.kl(a, b, tok, TEXTS, prompts=prompts)}
    assert score.distances(a, b, tok, TEXTS, prompts=prompts) == expected
    reference = score.Reference(b, tok, TEXTS, prompts=prompts)
    calls = []
    monkeypatch.setattr(b, "forward", lambda *args, **kw: calls.append(1) or type(b).forward(b, *args, **kw))
    assert score.distances(a, reference, tok, TEXTS, prompts=prompts) == expected and calls == []
    uncached = score.Reference(b, tok, TEXTS, prompts=prompts, max_bytes=0)
    assert uncached.log_probs is None and score.distances(a, uncached, tok, TEXTS, prompts=prompts) == expected
    with pytest.raises(ElasticError, match="a Reference compares on its own texts"):
        score.kl(a, reference, tok, TEXTS[:2])
