"""python -m elastic convert: pickled .bin shards become safetensors the safetensors-only loader reads."""

import json

import pytest
import torch

from elastic import cli, models
from elastic.errors import ElasticError


def _bin_checkpoint(tmp_path, sharded: bool):
    tokenizer = models.byte_tokenizer()
    model = models.tiny_model(tokenizer, n_layer=1, d_model=16, n_head=2)
    out = tmp_path / "ckpt"
    model.config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    state = model.state_dict()
    if sharded:
        keys = sorted(state)
        halves = {"pytorch_model-00001-of-00002.bin": keys[: len(keys) // 2],
                  "pytorch_model-00002-of-00002.bin": keys[len(keys) // 2:]}
        for name, part in halves.items():
            torch.save({k: state[k] for k in part}, out / name)
        (out / "pytorch_model.bin.index.json").write_text(json.dumps(
            {"metadata": {}, "weight_map": {k: n for n, part in halves.items() for k in part}}))
    else:
        torch.save(state, out / "pytorch_model.bin")
    return out, model


@pytest.mark.parametrize("sharded", [False, True])
def test_convert_then_load(tmp_path, capsys, sharded):
    path, model = _bin_checkpoint(tmp_path, sharded)
    with pytest.raises(ElasticError, match="pickle"):
        models.load_model(path, device="cpu")
    assert cli.main(["convert", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    loaded, _ = models.load_model(path, device="cpu", dtype=torch.float32)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert cli.main(["convert", str(path)]) == 0  # once: the second call converts nothing
    assert "nothing converted" in capsys.readouterr().out


def test_convert_refuses_a_pickle_with_code(tmp_path, capsys):
    path, _ = _bin_checkpoint(tmp_path, False)
    torch.save({"w": torch.zeros(1), "obj": ElasticError("x")}, path / "pytorch_model.bin")
    assert cli.main(["convert", str(path)]) == 2
    assert "weights_only=True" in capsys.readouterr().err
    assert not list(path.glob("*.safetensors"))
