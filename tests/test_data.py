import json

import pytest

from elastic import data
from elastic.data import hub
from elastic.errors import ElasticError
from elastic.models import byte_tokenizer


def test_paper_sizes():
    assert data.POSITIVE_SIZES == (1000, 2000, 5000, 10000)
    assert data.NEGATIVE_SIZES == (100, 200, 500, 1000, 2000)


@pytest.mark.parametrize("make", [lambda s: data.reviews(200, "positive", s), lambda s: data.dialogues(200, False, s)])
def test_generators_are_seeded_and_distinct(make):
    first, again, other = make(3), make(3), make(4)
    assert first == again
    assert first != other
    assert len(set(first)) == len(first) == 200


def test_generators_label_and_separate_classes():
    positive, negative = data.reviews(300, "positive", 0), data.reviews(300, "negative", 0)
    assert not set(positive) & set(negative)
    safe, unsafe = data.dialogues(100, True, 0), data.dialogues(100, False, 0)
    assert {r.label for r in safe} == {"safe"} and {r.label for r in unsafe} == {"unsafe"}
    assert all(r.text == r.prompt + r.response and r.response.startswith(" ") for r in safe + unsafe)


def test_generators_reach_paper_scale():
    assert len(set(data.dialogues(max(data.POSITIVE_SIZES), True, 0))) == 10000


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_sizes_raise(bad):
    with pytest.raises(ElasticError, match="positive integer"):
        data.sample(list(range(10)), bad)
    with pytest.raises(ElasticError, match="positive integer"):
        data.reviews(bad, "positive")


def test_bad_sentiment_raises():
    with pytest.raises(ElasticError, match="'positive' or 'negative'"):
        data.reviews(3, "neutral")


def test_sample_never_truncates():
    items = list(range(10))
    picked = data.sample(items, 10, seed=1)
    assert sorted(picked) == items and picked == data.sample(items, 10, seed=1)
    with pytest.raises(ElasticError, match=r"n=11 samples but my split holds only 10"):
        data.sample(items, 11, name="my split")


def test_split_prompt_whitespace_and_tokenizer():
    assert data.split_prompt("one two  three four", 2) == ("one two", "  three four")
    assert data.split_prompt("one two", 5) == ("one two", "")
    # byte tokenizer: one token per byte, special tokens not counted
    assert data.split_prompt("héllo", 3, byte_tokenizer()) == ("hé", "llo")


def test_prompt_records_take_two_to_eight_words():
    texts = data.reviews(200, "positive", 0)
    records = data.prompt_records(texts, "positive", seed=0)
    lengths = [len(r.prompt.split()) for r in records]
    assert min(lengths) == 2 and max(lengths) == 8
    assert [r.text for r in records] == texts and {r.label for r in records} == {"positive"}
    assert records == data.prompt_records(texts, "positive", seed=0)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_imdb_from_local_file(tmp_path):
    rows = [{"text": t, "label": 1} for t in data.reviews(30, "positive", 0)]
    rows += [{"text": t.replace(". ", ".<br /> ", 1), "label": 0} for t in data.reviews(12, "negative", 0)]
    source = _jsonl(tmp_path / "imdb.jsonl", rows)
    negative = data.imdb(12, "negative", source=source)
    assert sorted(negative) == sorted(data.reviews(12, "negative", 0)) != sorted(r["text"] for r in rows[30:])
    assert set(data.imdb(30, "positive", seed=5, source=source)) == {r["text"] for r in rows[:30]}
    with pytest.raises(ElasticError, match="holds only 12"):
        data.imdb(13, "negative", source=source)


def test_safety_loaders_split_by_label(tmp_path):
    rows = [
        {"prompt": "p1", "response_0": "kind", "response_1": "rude", "is_response_0_safe": True, "is_response_1_safe": False},
        {"prompt": "p2", "response_0": "calm", "response_1": "nice", "is_response_0_safe": True, "is_response_1_safe": True},
    ]
    source = _jsonl(tmp_path / "saferlhf.jsonl", rows)
    assert {r.response for r in data.safe_rlhf(3, True, source=source)} == {" kind", " calm", " nice"}
    assert data.safe_rlhf(1, False, source=source) == [data.Record("p1", " rude", "unsafe")]
    with pytest.raises(ElasticError, match="holds only 1"):
        data.safe_rlhf(2, False, source=source)
    tails = _jsonl(tmp_path / "bt.jsonl", [{"prompt": r.prompt, "response": r.response.strip(), "is_safe": r.label == "safe"}
                                           for r in data.dialogues(5, True, 0) + data.dialogues(4, False, 0)])
    assert sorted(data.beavertails(4, False, source=tails), key=str) == sorted(data.dialogues(4, False, 0), key=str)


def test_sft_loaders_from_local_files(tmp_path):
    alp = _jsonl(tmp_path / "alpaca.jsonl", [{"instruction": "Add", "input": "2 and 3", "output": "5"},
                                             {"instruction": "Greet", "input": "", "output": "Hi"}])
    assert sorted(data.alpaca(2, source=alp), key=str) == [data.Record("Add\n\n2 and 3", "\n5", "alpaca"),
                                                           data.Record("Greet", "\nHi", "alpaca")]
    tqa = _jsonl(tmp_path / "tqa.jsonl", [{"question": "Is ice cold?", "best_answer": "Yes"}])
    assert data.truthfulqa(1, source=tqa) == [data.Record("Is ice cold?", " Yes", "truthfulqa")]
    with pytest.raises(ElasticError, match="lacks column"):
        data.truthfulqa(1, source=alp)


@pytest.fixture
def no_download(monkeypatch, tmp_path):
    """An empty HF cache, and a datasets.load_dataset that fails the test if it is ever reached:
    failing fast means deciding before the library's retry loop starts."""
    import datasets
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # read at call time, unlike the env

    def forbidden(*args, **kwargs):
        raise AssertionError("load_dataset was called although the hub is known to be unavailable")

    monkeypatch.setattr(datasets, "load_dataset", forbidden)


def _one_line_error(call) -> str:
    with pytest.raises(ElasticError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "source=" in message
    return message


def test_offline_flag_fails_fast(no_download, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    message = _one_line_error(lambda: data.imdb(10, "positive"))
    assert "stanfordnlp/imdb" in message and "HF_HUB_OFFLINE" in message
    _one_line_error(lambda: data.beavertails(10, True))


def test_unreachable_hub_fails_fast(no_download, monkeypatch):
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    assert not hub.reachable()
    message = _one_line_error(lambda: data.alpaca(10))
    assert "unreachable" in message and "tatsu-lab/alpaca" in message


def test_offline_flag_uses_a_cached_snapshot(monkeypatch, tmp_path):
    from huggingface_hub import constants

    commit = "0" * 40
    repo = tmp_path / "datasets--stanfordnlp--imdb"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    _jsonl(repo / "snapshots" / commit / "train.jsonl", [{"text": "Great fun.", "label": 1}, {"text": "Dull.", "label": 0}])
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert data.imdb(1, "negative") == ["Dull."]


def _csv(path, header, rows):
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_imdb_from_kaggles_csv(tmp_path):
    """Kaggle's "IMDB Dataset.csv": columns review and sentiment, labels the strings positive and
    negative, reviews with HTML line breaks, commas and quotes."""
    positive, negative = data.reviews(20, "positive", 0), data.reviews(8, "negative", 0)
    rows = [(t.replace(". ", '. "Really",<br /><br />', 1), "positive") for t in positive]
    rows += [(t, "negative") for t in negative]
    source = _csv(tmp_path / "IMDB Dataset.csv", ["review", "sentiment"], rows)
    assert sorted(data.imdb(8, "negative", source=str(source))) == sorted(negative)
    assert set(data.imdb(20, "positive", seed=3, source=str(source))) == {
        t.replace(". ", '. "Really", ', 1) for t in positive}
    with pytest.raises(ElasticError, match="holds only 8"):
        data.imdb(9, "negative", source=str(source))


def test_other_string_labels_are_one_line_errors(tmp_path):
    source = _csv(tmp_path / "imdb.csv", ["review", "sentiment"], [("good film", "positive"), ("bad film", "neg")])
    with pytest.raises(ElasticError, match=r"label 'neg' in column sentiment is none of positive, negative"):
        data.imdb(1, "positive", source=str(source))
    tails = _csv(tmp_path / "bt.csv", ["prompt", "response", "is_safe"], [("p", "r", "True"), ("q", "s", "unsafe")])
    with pytest.raises(ElasticError, match=r"label 'unsafe' in column is_safe is none of true, false"):
        data.beavertails(1, True, source=str(tails))


def test_common_local_forms_of_the_other_datasets(tmp_path):
    """Exports with the hub's names in every format the loaders read (BeaverTails as CSV with its
    booleans as text, PKU-SafeRLHF as parquet, Alpaca as the JSON array of alpaca_data.json), and
    TruthfulQA's own TruthfulQA.csv with its capitalized column names."""
    import pandas as pd

    tails = _csv(tmp_path / "beavertails.csv", ["prompt", "response", "category", "is_safe"],
                 [("How do I bake?", "Mix and heat.", "{}", "True"), ("How do I steal?", "Like this.", "{}", "false")])
    assert data.beavertails(1, False, source=str(tails)) == [data.Record("How do I steal?", " Like this.", "unsafe")]
    rlhf = tmp_path / "saferlhf.parquet"
    pd.DataFrame({"prompt": ["p"], "response_0": ["kind"], "response_1": ["rude"], "is_response_0_safe": [True],
                  "is_response_1_safe": [False], "safer_response_id": [0]}).to_parquet(rlhf)
    assert data.safe_rlhf(1, False, source=str(rlhf)) == [data.Record("p", " rude", "unsafe")]
    alpaca = tmp_path / "alpaca_data.json"
    alpaca.write_text(json.dumps([{"instruction": "Add", "input": "2 and 3", "output": "5"}], indent=4))
    assert data.alpaca(1, source=str(alpaca)) == [data.Record("Add\n\n2 and 3", "\n5", "alpaca")]
    tqa = _csv(tmp_path / "TruthfulQA.csv", ["Type", "Category", "Question", "Best Answer", "Correct Answers",
                                             "Incorrect Answers", "Source"],
               [("Adversarial", "Misconceptions", "Is ice cold?", "Yes", "Yes; It is", "No", "https://example.org")])
    assert data.truthfulqa(1, source=str(tqa)) == [data.Record("Is ice cold?", " Yes", "truthfulqa")]
    with pytest.raises(ElasticError, match=r"lacks column\(s\) question, best_answer \(or Question, Best Answer\)"):
        data.truthfulqa(1, source=str(alpaca))


def test_safe_rlhf_pairs_keep_rows_whose_responses_differ_in_safety(tmp_path):
    rows = [
        {"prompt": "p1", "response_0": "kind", "response_1": "rude", "is_response_0_safe": True, "is_response_1_safe": False},
        {"prompt": "p2", "response_0": "calm", "response_1": "nice", "is_response_0_safe": True, "is_response_1_safe": True},
        {"prompt": "p3", "response_0": "mean", "response_1": "warm", "is_response_0_safe": False, "is_response_1_safe": True},
    ]
    source = _jsonl(tmp_path / "saferlhf.jsonl", rows)
    got = sorted(data.safe_rlhf_pairs(2, source=source), key=lambda p: p.positive.prompt)
    assert got == [data.Pair(data.Record("p1", " kind", "safe"), data.Record("p1", " rude", "unsafe")),
                   data.Pair(data.Record("p3", " warm", "safe"), data.Record("p3", " mean", "unsafe"))]
    with pytest.raises(ElasticError, match="holds only 2"):
        data.safe_rlhf_pairs(3, source=source)


def test_review_pairs_are_mirror_images():
    """Both sides continue one neutral opener with the same sentences; every word that differs is a
    sentiment word, swapped for the word at the same position of the other side's list."""
    import re

    from elastic.data.generators import _WORDS

    swap = {}
    for kind, words in _WORDS["positive"].items():
        for p, n in zip((words,) if isinstance(words, str) else words, _WORDS["negative"][kind]
                        if not isinstance(words, str) else (_WORDS["negative"][kind],)):
            assert swap.setdefault(p, n) == n
    # one pass over the text, longest phrases first, so that no word is replaced twice
    pattern = re.compile("|".join(re.escape(w) for w in sorted(swap, key=len, reverse=True)))
    pairs = data.review_pairs(200, 0)
    assert pairs == data.review_pairs(200, 0) and pairs != data.review_pairs(200, 1)
    assert len(set(pairs)) == 200
    for pair in pairs:
        pos, neg = pair.positive, pair.negative
        assert pos.prompt == neg.prompt and (pos.label, neg.label) == ("positive", "negative")
        assert pos.response != neg.response
        assert pattern.sub(lambda m: swap[m.group(0)], pos.response) == neg.response
    # each side reads like a review of its sentiment to the offline scorer
    from elastic import score

    assert score.sentiment([p.positive.text for p in pairs]).mean() - score.sentiment([p.negative.text for p in pairs]).mean() > 0.4


def test_dialogue_pairs_answer_one_question_both_ways():
    pairs = data.dialogue_pairs(100, 3)
    safe, unsafe = set(data.dialogues(2000, True, 3)), set(data.dialogues(2000, False, 3))
    for pair in pairs:
        assert pair.positive.prompt == pair.negative.prompt
        assert (pair.positive.label, pair.negative.label) == ("safe", "unsafe")
    # the pairs come from their own stream: at most a chance overlap with the training records
    assert sum(p.positive in safe for p in pairs) < 5 and len(set(pairs)) == 100
