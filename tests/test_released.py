"""The authors' checkpoints, inference only, rehearsed in a local hub mirror: a .bin-only stand-in
is refused, converted once by `python -m elastic convert <id>`, then scored offline."""

import pandas as pd
import pytest
import torch

from elastic import cli, models, released
from elastic.data import mirror
from elastic.errors import ElasticError

ID = released.CHECKPOINTS[0]


def _write_mirror(cache):
    # the checkpoint: a tiny Llama (the real one is llama-7b) shipped as pickled .bin, like the hub's
    snap = mirror.snapshot_dir(cache, ID)
    tokenizer = models.byte_tokenizer()
    model = models.tiny_model(tokenizer, n_layer=1, d_model=16, n_head=2)
    model.config.save_pretrained(snap)
    tokenizer.save_pretrained(snap)
    torch.save(model.state_dict(), snap / "pytorch_model.bin")
    # IMDb as on the hub (search tool, docs corpus: huggingface.co/datasets/stanfordnlp/imdb tree and its
    # "Convert dataset to Parquet" commit): config plain_text, plain_text/{train,test,unsupervised}-00000-of-00001.parquet,
    # features text (string) and label (class_label 0 neg, 1 pos)
    imdb = mirror.snapshot_dir(cache, "stanfordnlp/imdb", "dataset")
    (imdb / "plain_text").mkdir(exist_ok=True)
    rows = {"text": [f"a {w} film, truly {w} <br /> yes" for w in ["great", "awful"] * 8], "label": [1, 0] * 8}
    for split in ("train", "test", "unsupervised"):
        pd.DataFrame(rows).to_parquet(imdb / "plain_text" / f"{split}-00000-of-00001.parquet")
    (imdb / "README.md").write_text(
        "---\nconfigs:\n- config_name: plain_text\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: plain_text/{s}-*\n" for s in ("train", "test", "unsupervised"))
        + "---\n")
    return snap


def test_names_read_as_q1_q2():
    assert released.amounts(ID) == (1000, 2000)
    assert released.amounts("PKU-Alignment/tinyllama-2.5T-IMDB-Q1-5000") == (5000, 0)  # the first stage alone
    with pytest.raises(ElasticError, match="Q1"):
        released.amounts("PKU-Alignment/beaver-7b-v1.0-cost")


def test_released_checkpoint_scored_offline_after_convert(tmp_path, capsys):
    snap = _write_mirror(tmp_path / "hub")
    with mirror.offline(tmp_path / "hub"):
        with pytest.raises(ElasticError, match="pickle"):  # safetensors only by default
            released.score(ID, n_eval=4, max_new_tokens=4, sentiment_model="vader", device="cpu")
        assert cli.main(["convert", ID]) == 0
        assert str(snap) in capsys.readouterr().out
        row = released.score(ID, n_eval=4, max_new_tokens=4, sentiment_model="vader", device="cpu")
    assert (snap / "model.safetensors").exists()
    assert row["q1"] == 1000 and row["q2"] == 2000 and row["n_eval"] == 4
    assert 0.0 <= row["positive_rate"] <= 1.0 and 0.0 <= row["mean_score"] <= 1.0


def test_mirror_outside_the_block_is_not_used(tmp_path):
    _write_mirror(tmp_path / "hub")
    from huggingface_hub import constants

    with mirror.offline(tmp_path / "hub"):
        assert constants.HF_HUB_CACHE == str(tmp_path / "hub")
    assert constants.HF_HUB_CACHE != str(tmp_path / "hub")
