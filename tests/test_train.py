import copy
import json

import pytest
import torch
import transformers

from elastic import config, models, train
from elastic.errors import ElasticError

torch.set_num_threads(1)

TEXTS = [f"the cat sat on mat {i}." for i in range(16)]
ARGS = {**config.trainer_args("smoke"), "logging_steps": 100, "disable_tqdm": True}  # 4 steps of 4 texts


@pytest.fixture(scope="module")
def tok():
    return models.byte_tokenizer()


def nll(model, tok, texts) -> float:
    """Mean next-token negative log-likelihood of ``texts`` (nats/token)."""
    batch = tok(texts, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    with torch.no_grad():
        return model(**batch, labels=labels).loss.item()


def response_logprob(model, tok, prompt, response) -> float:
    """log p(response | prompt), summed over the response's tokens."""
    n = len(tok(prompt)["input_ids"])
    ids = tok(prompt + response, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1], -1)
    return logp[n - 1:].gather(1, ids[0, n:, None]).sum().item()


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_slice_steps_are_equal_fractions_of_the_epoch():
    assert train.slice_steps(8, 4) == [2, 4, 6, 8]
    assert train.slice_steps(10, 3) == [3, 7, 10]
    with pytest.raises(ElasticError, match="more than the run's 2 optimizer steps"):
        train.slice_steps(2, 3)


def test_slice_steps_at_sample_counts():
    # slices after 4, 16 and 32 samples of a run of 8 steps of 4 samples: steps 1, 4 and 8
    assert train.slice_steps(8, [4, 16, 32], samples_per_step=4) == [1, 4, 8]
    with pytest.raises(ElasticError, match="not whole optimizer steps of 4"):
        train.slice_steps(8, [4, 6], samples_per_step=4)
    with pytest.raises(ElasticError, match="beyond the run's 8 optimizer"):
        train.slice_steps(8, [4, 36], samples_per_step=4)
    with pytest.raises(ElasticError, match="increasing positive"):
        train.slice_steps(8, [16, 4], samples_per_step=4)


def test_presets_hold_the_paper_optimizer():
    paper = config.trainer_args("paper")
    assert (paper["adam_beta1"], paper["adam_beta2"], paper["weight_decay"]) == (0.99, 0.95, 0.01)
    assert paper["num_train_epochs"] == 1 and paper["learning_rate"] == 1e-5
    assert paper["optim"] == "adamw_torch" and paper["lr_scheduler_type"] == "constant"
    with pytest.raises(ElasticError, match="valid presets"):
        config.trainer_args("laptop")


def test_sft_lowers_loss_writes_slices_and_is_deterministic(tok, tmp_path):
    before = nll(models.tiny_model(tok), tok, TEXTS)
    model = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "a", args=ARGS, n_slices=2)
    assert nll(model, tok, TEXTS) < before - 0.5
    slices = train.slice_dirs(tmp_path / "a")
    assert [p.name for p in slices] == ["slice-1", "slice-2"]
    # θ2 is the end of the epoch; θ1 is the model after step 2 of 4, i.e. a run stopped there
    final = weights(model)
    assert same(weights(models.load_model(slices[1], device="cpu")[0]), final)
    half = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "half",
                     args={**ARGS, "max_steps": 2})
    assert same(weights(models.load_model(slices[0], device="cpu")[0]), weights(half))
    assert not same(weights(half), final)
    assert not list((tmp_path / "a").glob("checkpoint-*"))  # optimizer states removed when done
    # the returned model is a plain model: a copy computes with its own weights
    copied = copy.deepcopy(model)
    with torch.no_grad():
        copied.lm_head.weight.mul_(2.0)
    assert nll(copied, tok, TEXTS) != nll(model, tok, TEXTS)
    # same seed, same weights (CPU); another seed, other weights
    again = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "b", args=ARGS)
    assert same(weights(again), final)
    other = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "c", args={**ARGS, "seed": 1})
    assert not same(weights(other), final)


def test_sft_on_prompt_completion_pairs_learns_the_completions(tok, tmp_path):
    pairs = [{"prompt": f"q{i}:", "completion": " yes."} for i in range(16)]
    model = models.tiny_model(tok)
    before = response_logprob(model, tok, "q3:", " yes.")
    model = train.sft(model, tok, pairs, output_dir=tmp_path, args=ARGS)
    assert response_logprob(model, tok, "q3:", " yes.") > before + 2.0


class Killed(Exception):
    pass


def _hooks(backend: str, monkeypatch):
    """``(steps, kill, revive)`` for a backend: a list that grows by one per optimizer step trained,
    a switch that makes the next checkpoint written the process's last, and its undo."""
    owner = transformers.Trainer if backend == "trl" else train
    step_name = "training_step" if backend == "trl" else "optimizer_step"
    original_step, original_save = getattr(owner, step_name), owner._save_checkpoint
    steps = []

    def counting_step(*args, **kwargs):
        steps.append(1)
        return original_step(*args, **kwargs)

    def save_then_die(*args, **kwargs):
        original_save(*args, **kwargs)
        raise Killed  # the process dies right after this checkpoint

    monkeypatch.setattr(owner, step_name, counting_step)
    return (steps, lambda: monkeypatch.setattr(owner, "_save_checkpoint", save_then_die),
            lambda: monkeypatch.setattr(owner, "_save_checkpoint", original_save))


@pytest.mark.parametrize("backend", train.BACKENDS)
def test_interrupted_run_resumes_and_finished_run_is_reused(tok, tmp_path, monkeypatch, backend):
    args = {**ARGS, "backend": backend, "padding_free": backend == "lean"}
    reference = weights(train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path / "ref",
                                  args=args, n_slices=2))
    steps, kill, revive = _hooks(backend, monkeypatch)
    kill()  # dies right after the checkpoint of slice 1 (step 2 of 4)
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=out, args=args, n_slices=2)
    assert len(steps) == 2 and (out / "checkpoint-2").is_dir() and not json.loads((out / "run.json").read_text()).get("done")

    revive()
    steps.clear()
    resumed = train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=out, args=args, n_slices=2)
    assert len(steps) == 2  # continued from step 2, did not restart
    assert same(weights(resumed), reference)

    steps.clear()
    reused = train.sft(models.tiny_model(tok, seed=5), tok, TEXTS, output_dir=out, args=args, n_slices=2)
    assert steps == [] and same(weights(reused), reference)

    old = json.loads((out / "run.json").read_text())["fingerprint"]
    train.sft(models.tiny_model(tok), tok, TEXTS[:8], output_dir=out, args=args, n_slices=2)
    aside = out.with_name(f"run.set-aside-{old[:12]}")  # kept, not deleted: another run made it
    assert json.loads((aside / "run.json").read_text())["fingerprint"] == old
    assert json.loads((out / "run.json").read_text())["fingerprint"] != old


#: How close the two implementations' runs are: per-step loss and final weights (float32 on CPU,
#: different kernels for the loss: trl's chunked log-softmax head against the model's own loss).
LOSS_TOLERANCE, WEIGHT_TOLERANCE = 1e-5, 1e-4


@pytest.mark.parametrize("rows, extra", [
    ("texts", {}),
    ("pairs", {"gradient_accumulation_steps": 2, "lr_scheduler_type": "linear", "warmup_steps": 1,
               "num_train_epochs": 2.5, "weight_decay": 0.1}),
])
def test_lean_and_trl_give_the_same_loss_curve(tok, tmp_path, rows, extra):
    """The same run through both implementations, the lean one with and without padding: shuffled
    epochs, padding, prompt masking, accumulation, schedule, clipping and decay agree step by step,
    to the tolerances above."""
    data = {"texts": [f"the cat sat on mat {i}." * (1 + i % 3) for i in range(24)],
            "pairs": [{"prompt": f"q{i}:", "completion": " yes." * (1 + i % 2)} for i in range(24)]}[rows]
    args = {**ARGS, "logging_steps": 1, "save_strategy": "no", **extra}
    paths = {"lean": {"backend": "lean", "padding_free": False},
             "padding-free": {"backend": "lean", "padding_free": True}, "trl": {"backend": "trl", "padding_free": False}}
    curves, trained = {}, {}
    for name, fields in paths.items():
        out = tmp_path / name
        trained[name] = weights(train.sft(models.tiny_model(tok), tok, data, output_dir=out, args={**args, **fields}))
        curves[name] = json.loads((out / "run.json").read_text())["losses"]
    trl = curves["trl"]
    assert len(trl) == (6 if rows == "texts" else 8) and trl[-1] < trl[0] - 0.5
    for name in ("lean", "padding-free"):
        assert len(curves[name]) == len(trl)
        assert max(abs(a - b) for a, b in zip(curves[name], trl)) < LOSS_TOLERANCE, name
        difference = max((trained[name][k] - trained["trl"][k]).abs().max().item() for k in trained["trl"])
        assert difference < WEIGHT_TOLERANCE, name


def test_a_packed_batch_gives_each_row_its_own_logits_loss_and_gradients(tok):
    """Rows laid end to end (elastic.packing) through a model with grouped-query attention: each
    position's logits are those of its row run alone, and the loss and gradients those of the
    right-padded batch, to float rounding."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from elastic import packing

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, pad_token_id=tok.pad_token_id))
    rows = [tok(t)["input_ids"] for t in ("a cat", "the dog barked twice", "hi")]
    labels = [list(r) for r in rows]
    labels[1][:5] = [-100] * 5  # a masked prompt
    batch = packing.Packed(rows, labels).take([2, 0, 1])
    assert batch["cu_seq_lens_q"].tolist() == [0, len(rows[2]), len(rows[2]) + len(rows[0]), sum(map(len, rows))]
    with torch.no_grad(), packing.attention(model):
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0]
    assert model.config._attn_implementation == "sdpa"  # restored after the block
    with torch.no_grad():
        alone = torch.cat([model(torch.tensor([rows[r]])).logits[0] for r in (2, 0, 1)])
    assert torch.allclose(logits, alone, atol=1e-5)

    def gradients(loss):
        model.zero_grad()
        loss.backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    with packing.attention(model):
        packed_loss = packing.loss(model, batch)
        packed_grad = gradients(packed_loss)
    padded = train.Padded(rows, labels, tok.pad_token_id).take([2, 0, 1])
    padded_loss = model(**padded).loss
    assert abs(packed_loss.item() - padded_loss.item()) < 1e-6
    assert torch.allclose(packed_grad, gradients(padded_loss), atol=1e-6)


def test_lean_trainer_refuses_what_it_does_not_implement(tok, tmp_path):
    with pytest.raises(ElasticError, match="lean trainer does not implement packing: set backend: trl"):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path, args={**ARGS, "packing": True})
    with pytest.raises(ElasticError, match="set padding_free: false with backend: trl"):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path, args={**ARGS, "backend": "trl"})
    with pytest.raises(ElasticError, match="backend='fast': give one of lean, trl"):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path, args={**ARGS, "backend": "fast"})


def test_lora_slices_load_back_merged_into_their_base(tok, tmp_path):
    base_dir = tmp_path / "base"
    models.tiny_model(tok).save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    base, _ = models.load_model(base_dir, device="cpu")
    lora = models.add_lora(base, {"r": 4})
    trained = train.sft(lora, tok, TEXTS, output_dir=tmp_path / "run", args=ARGS, n_slices=1)
    (slice_dir,) = train.slice_dirs(tmp_path / "run")
    assert (slice_dir / "adapter_model.safetensors").exists()
    merged, _ = models.load_model(slice_dir, device="cpu")
    ids = tok(TEXTS[:2], return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = trained.eval()(**ids).logits
        assert torch.allclose(merged(**ids).logits, expected, atol=1e-5)
        assert not torch.allclose(models.load_model(base_dir, device="cpu")[0](**ids).logits, expected, atol=1e-3)


def test_bad_trainer_field_is_one_line_error(tok, tmp_path):
    with pytest.raises(ElasticError, match="keys must be trl.SFTConfig fields"):
        train.sft(models.tiny_model(tok), tok, TEXTS, output_dir=tmp_path, args={"lr": 1e-3})


def test_dpo_moves_the_log_ratio_towards_chosen(tok, tmp_path):
    prompts = [f"review {i}:" for i in range(8)]
    chosen, rejected = [" awful."] * 8, [" great."] * 8  # inverse alignment: negative is chosen
    base = models.tiny_model(tok)
    margin = lambda m: response_logprob(m, tok, prompts[0], chosen[0]) - response_logprob(m, tok, prompts[0], rejected[0])
    before = margin(base)
    model = train.dpo(base, tok, prompts, chosen, rejected, output_dir=tmp_path,
                      args={**ARGS, "beta": 0.1, "per_device_train_batch_size": 2})
    assert margin(model) > before + 1.0
    assert "forward" not in model.__dict__  # trl's patched forward is undone (see test above)
    with pytest.raises(ElasticError, match="as many prompts as chosen and rejected"):
        train.dpo(base, tok, prompts, chosen[:3], rejected, output_dir=tmp_path / "x")


def test_two_process_launch_ends_with_identical_weights(tmp_path, root):
    """Data-parallel SFT through `accelerate launch` with 2 CPU processes (gloo). accelerate 1.15's
    `--cpu` flag starts a single process unless MPI is set up, so the launch goes through torchrun
    (`--multi_gpu`) with the GPUs hidden: the library must then still train on CPU in one group."""
    import hashlib
    import os
    import subprocess
    import sys

    # verbose: the Trainer prints its metric dicts, whose epochs show how the data was split
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "ELASTIC_VERBOSE": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              str(root / "tests" / "distributed_sft.py"), str(tmp_path)]
    done = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    digests = {(tmp_path / f"weights-rank{k}.txt").read_text() for k in (0, 1)}
    assert len(digests) == 1
    saved = models.load_model(tmp_path, device="cpu")[0]
    digest = hashlib.sha256()
    for name, tensor in sorted(saved.state_dict().items()):
        digest.update(name.encode() + tensor.numpy().tobytes())
    assert digests == {digest.hexdigest()}
    # 16 texts, 2 per process and step: 4 steps, so each process saw half of the data
    assert json.loads((tmp_path / "run.json").read_text())["done"]
    log = done.stdout + done.stderr
    assert "'epoch': '0.25'" in log and "'epoch': '0.125'" not in log


@pytest.mark.parametrize("name, kind", [("deepspeed_zero3", "DEEPSPEED"), ("fsdp", "FSDP")])
def test_accelerate_configs_parse_for_the_paper_preset(root, name, kind):
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = ClusterConfig.from_yaml_file(str(root / "configs" / "accelerate" / f"{name}.yaml"))
    assert cfg.distributed_type.name == kind and cfg.mixed_precision == "bf16" and cfg.num_processes == 8
    # slices must be gathered into full models when saved
    assert (cfg.deepspeed_config or {}).get("zero3_save_16bit_model", True)
    assert (cfg.fsdp_config or {}).get("fsdp_state_dict_type", "FULL_STATE_DICT") == "FULL_STATE_DICT"


def test_fingerprint_does_not_depend_on_set_order():
    import os
    import subprocess
    import sys

    code = ("import json; from elastic.cache import canonical; "
            "print(json.dumps({'t': set('abcdefghij')}, default=canonical))")
    # string hashing (and so set order) is salted per process: compare across processes
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
            for seed in (1, 2, 3)}
    assert len(outs) == 1 and '"a", "b"' in outs.pop()


def test_the_ledger_counts_what_was_trained_and_results_record_it(tok, tmp_path, results_tmp):
    from elastic import experiments, results

    train.ledger.take()
    model = models.tiny_model(tok)
    n = sum(p.numel() for p in model.parameters())
    train.sft(model, tok, TEXTS, output_dir=tmp_path / "run", args=ARGS)
    tokens = json.loads((tmp_path / "run" / "run.json").read_text())["tokens"]
    assert tokens == sum(len(tok(t)["input_ids"]) for t in TEXTS)  # BOS + text + EOS, all but the first predicted
    record = results.save("demo", experiments.load_config("token_tree", "smoke"), {}, 0.0)["provenance"]["run"]
    assert record["torch_threads"] == torch.get_num_threads()
    training = record["training"]
    assert (training["steps"], training["tokens"], training["flops"]) == (4, tokens, 6 * n * tokens)
    assert training["seconds"] > 0 and train.ledger.take()["steps"] == 0  # taken: the next result starts at zero
