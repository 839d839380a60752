"""The local hub mirror holds, for every catalog id, what the real repository ships: architecture
class, config keys, tokenizer class, weight files and sharding; dataset configs, splits, columns."""

import json

import pytest

from elastic.data import catalog, mirror


@pytest.fixture(scope="module")
def hub():
    return mirror.build()


def _snapshot(hub, repo_id, kind="model"):
    folder = hub / f"{kind}s--{repo_id.replace('/', '--')}"
    return folder / "snapshots" / (folder / "refs" / "main").read_text()


@pytest.mark.parametrize("repo_id", sorted(catalog.MODELS))
def test_model_stand_in_has_the_real_layout(hub, repo_id):
    entry, snap = catalog.MODELS[repo_id], _snapshot(hub, repo_id)
    config = json.loads((snap / "config.json").read_text())
    assert config["architectures"] == entry.config["architectures"]
    assert set(entry.config) <= set(config) and config["hidden_size"] == mirror.WIDTH  # real keys, tiny dims
    for kind, prefix, suffix, shards in (("safetensors", "model", ".safetensors", entry.safetensors),
                                         ("bin", "pytorch_model", ".bin", entry.bin)):
        files = sorted(p.name for p in snap.glob(f"{prefix}*{suffix}"))
        expected = ([f"{prefix}{suffix}"] if shards == 1 else
                    [f"{prefix}-{k:05d}-of-{shards:05d}{suffix}" for k in range(1, shards + 1)] if shards else [])
        assert files == expected, kind
        index = snap / f"{prefix}{suffix}.index.json"
        assert index.exists() == (shards > 1)
        if shards > 1:  # every tensor named once, in a shard that exists
            assert set(json.loads(index.read_text())["weight_map"].values()) == set(expected)
    tokenizer_config = json.loads((snap / "tokenizer_config.json").read_text())
    named = tokenizer_config["tokenizer_class"]
    assert named == entry.tokenizer or (named, entry.tokenizer) == ("TokenizersBackend", "PreTrainedTokenizerFast")
    assert (snap / "tokenizer.json").exists() == (entry.tokenizer_files == "json")


@pytest.mark.parametrize("repo_id", sorted(catalog.DATASETS))
def test_dataset_stand_in_has_the_real_configs_splits_and_columns(hub, repo_id):
    import datasets

    entry, snap = catalog.DATASETS[repo_id], _snapshot(hub, repo_id, "dataset")
    for name, splits in entry.files.items():
        for split in splits:
            table = datasets.load_dataset(str(snap), name if entry.readme_configs else None, split=split)
            assert table.column_names == list(entry.extra.get(name, entry.columns)), (name, split)
            assert table.num_rows > 0


def test_beavertails_and_imdb_rows_carry_their_labels(hub):
    """The generated content keeps the signal: BeaverTails' unsafe answers are the rude dialogues,
    IMDb's label 1 the positive reviews (VADER agrees on most)."""
    import datasets

    from elastic import score

    rows = datasets.load_dataset(str(_snapshot(hub, "PKU-Alignment/BeaverTails", "dataset")), split="30k_train")
    unsafe = [r["response"] for r in rows if not r["is_safe"]][:50]
    safe = [r["response"] for r in rows if r["is_safe"]][:50]
    assert score.safety_cost([""] * 50, unsafe).mean() > score.safety_cost([""] * 50, safe).mean()
    imdb = datasets.load_dataset(str(_snapshot(hub, "stanfordnlp/imdb", "dataset")), "plain_text", split="test")
    positive = [r["text"] for r in imdb if r["label"] == 1][:50]
    negative = [r["text"] for r in imdb if r["label"] == 0][:50]
    assert score.sentiment(positive).mean() > score.sentiment(negative).mean() + 0.2
