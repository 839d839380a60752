"""The paper's datasets by hub id (Ji et al., §4.1 and §4.2), each also readable from local files.

Every loader takes ``source``: the hub id (the default), a local directory holding a copy of the
hub repository (or anything ``datasets.load_dataset`` reads), or a single ``.json``/``.jsonl``/
``.csv``/``.parquet`` file with the same columns, or with the columns of the other copies readers
commonly have (:data:`LOCAL_FORMS`: Kaggle's ``IMDB Dataset.csv``, the TruthfulQA repository's
``TruthfulQA.csv``). Without network the hub ids fail at once with a one-line
:class:`~elastic.errors.ElasticError` (see :mod:`elastic.data.hub`).

Each loader draws ``n`` samples with :func:`~elastic.data.records.sample`, so asking for more than a
split holds is an error naming its size. The review loader mirrors :func:`elastic.data.reviews` and
the safety loaders mirror :func:`elastic.data.dialogues`.
"""

from __future__ import annotations

import re

from elastic.data.hub import load_table
from elastic.data.records import Pair, Record, sample
from elastic.errors import ElasticError

IMDB = "stanfordnlp/imdb"
SAFE_RLHF = "PKU-Alignment/PKU-SafeRLHF"
BEAVERTAILS = "PKU-Alignment/BeaverTails"
ALPACA = "tatsu-lab/alpaca"
TRUTHFULQA = "truthfulqa/truthful_qa"

_BREAK = re.compile(r"(?:\s*<br\s*/?>)+\s*")  # IMDb keeps the HTML line breaks (often two) of the reviews
_FIX = "pass source=<a local directory or a .jsonl/.csv/.parquet file with columns {}>"

#: The one place where local copies are mapped onto the hub's columns: for each dataset, the name a
#: hub column has in the other copies readers commonly have. Kaggle's ``IMDB Dataset.csv`` has
#: ``review`` and ``sentiment``; ``TruthfulQA.csv`` of the authors' repository has ``Question`` and
#: ``Best Answer``. PKU-SafeRLHF, BeaverTails and Alpaca exports (and Alpaca's ``alpaca_data.json``)
#: keep the hub's names.
LOCAL_FORMS = {
    IMDB: {"text": "review", "label": "sentiment"},
    TRUTHFULQA: {"question": "Question", "best_answer": "Best Answer"},
}
_SAFE = {"true": True, "false": False}  # a boolean column written out as text
#: Label columns (by hub name) and the value each string spelling stands for; any other string is
#: an error, since ``bool("False")`` is True and ``int("positive")`` fails deep inside a run.
LABELS = {
    "label": {"positive": 1, "negative": 0},  # Kaggle's sentiment strings; the hub has 1 and 0
    "is_safe": _SAFE, "is_response_0_safe": _SAFE, "is_response_1_safe": _SAFE,
}


def _columns(source, split, columns, name=None, dataset=None) -> dict[str, list]:
    """The hub-named ``columns`` of ``source`` as lists, renamed from the local form of ``dataset``
    where the copy uses one (:data:`LOCAL_FORMS`), with string labels mapped (:data:`LABELS`)."""
    fix = _FIX.format(", ".join(columns))
    table = load_table(source, split=split, name=name, fix=fix)
    local = LOCAL_FORMS.get(dataset, {})
    have = set(table.column_names)
    renames = {local[c]: c for c in columns if c not in have and local.get(c) in have}
    missing = [c for c in columns if c not in have and c not in renames.values()]
    if missing:
        also = ", ".join(local[c] for c in missing if c in local)
        raise ElasticError(f"{source} lacks column(s) {', '.join(missing)}{f' (or {also})' if also else ''} "
                           f"(it has {', '.join(table.column_names)}): {fix}")
    cols = table.rename_columns(renames).select_columns(list(columns)).to_dict()
    named = {hub: name for name, hub in renames.items()}
    for column in set(cols) & set(LABELS):
        cols[column] = [_label(v, named.get(column, column), LABELS[column], source) for v in cols[column]]
    return cols


def _label(value, column: str, spellings: dict, source):
    """``value`` as the hub writes it (1/0 or True/False); a string by its spelling; anything else
    (2, 0.5, an empty cell) is an error, not a label that silently counts for neither side."""
    if not isinstance(value, str) and value in (0, 1):
        return value
    try:
        return spellings[value.strip().lower()]
    except (KeyError, AttributeError):
        hub = " and ".join(str(v) for v in dict.fromkeys(spellings.values()))
        raise ElasticError(f"{source}: label {value!r} in column {column} is none of {', '.join(spellings)}: "
                           f"write those (any case) or {hub} as on the hub") from None


def imdb(n: int, sentiment: str, seed: int = 0, *, split: str = "train", source: str = IMDB) -> list[str]:
    """``n`` IMDb reviews of ``sentiment`` (label 1 = ``"positive"``, 0 = ``"negative"``), with the
    HTML line breaks of the raw text turned into single spaces. Cut prompts with
    :func:`~elastic.data.prompt_records`."""
    if sentiment not in ("positive", "negative"):
        raise ElasticError(f"sentiment={sentiment!r} must be 'positive' or 'negative'")
    cols = _columns(source, split, ("text", "label"), dataset=IMDB)
    want = 1 if sentiment == "positive" else 0
    texts = [_BREAK.sub(" ", t) for t, y in zip(cols["text"], cols["label"]) if int(y) == want]
    return sample(texts, n, seed, name=f"IMDb {split} {sentiment}")


def safe_rlhf(n: int, safe: bool, seed: int = 0, *, split: str = "train", source: str = SAFE_RLHF) -> list[Record]:
    """``n`` (prompt, response) records of PKU-SafeRLHF whose response is labelled safe (or unsafe);
    each row contributes both of its responses under their own safety labels."""
    cols = _columns(source, split, ("prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe"))
    label = "safe" if safe else "unsafe"
    records = [
        Record(p, " " + cols[f"response_{i}"][row], label)
        for row, p in enumerate(cols["prompt"])
        for i in (0, 1)
        if bool(cols[f"is_response_{i}_safe"][row]) == bool(safe)
    ]
    return sample(list(dict.fromkeys(records)), n, seed, name=f"PKU-SafeRLHF {split} {label}")


def safe_rlhf_pairs(n: int, seed: int = 0, *, split: str = "test", source: str = SAFE_RLHF) -> list[Pair]:
    """``n`` held-out pairs of PKU-SafeRLHF: the rows whose two responses to one prompt differ in
    safety, as (safe, unsafe) :class:`Pair` records (the likelihood margin of the safety task;
    from the ``test`` split, so that they are not among the training records)."""
    cols = _columns(source, split, ("prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe"))
    pairs = []
    for row, prompt in enumerate(cols["prompt"]):
        safe = [bool(cols[f"is_response_{i}_safe"][row]) for i in (0, 1)]
        if safe[0] != safe[1]:
            good = 0 if safe[0] else 1
            pairs.append(Pair(Record(prompt, " " + cols[f"response_{good}"][row], "safe"),
                              Record(prompt, " " + cols[f"response_{1 - good}"][row], "unsafe")))
    return sample(list(dict.fromkeys(pairs)), n, seed, name=f"PKU-SafeRLHF {split} safe/unsafe pairs")


def beavertails(n: int, safe: bool, seed: int = 0, *, split: str = "30k_train", source: str = BEAVERTAILS) -> list[Record]:
    """``n`` (prompt, response) records of BeaverTails labelled ``is_safe == safe``; the splits are
    ``30k_train``/``30k_test``/``330k_train``/``330k_test``."""
    cols = _columns(source, split, ("prompt", "response", "is_safe"))
    label = "safe" if safe else "unsafe"
    records = [
        Record(p, " " + r, label) for p, r, s in zip(cols["prompt"], cols["response"], cols["is_safe"]) if bool(s) == bool(safe)
    ]
    return sample(list(dict.fromkeys(records)), n, seed, name=f"BeaverTails {split} {label}")


def alpaca(n: int, seed: int = 0, *, split: str = "train", source: str = ALPACA) -> list[Record]:
    """``n`` Alpaca instruction records: prompt = instruction (and its input, if any), response = output."""
    cols = _columns(source, split, ("instruction", "input", "output"))
    records = [
        Record(f"{i}\n\n{x}" if x else i, "\n" + o, "alpaca")
        for i, x, o in zip(cols["instruction"], cols["input"], cols["output"])
    ]
    return sample(records, n, seed, name=f"Alpaca {split}")


def truthfulqa(n: int, seed: int = 0, *, split: str = "validation", source: str = TRUTHFULQA) -> list[Record]:
    """``n`` TruthfulQA records: prompt = question, response = best answer (the ``generation``
    config; a directory source must be a copy of the hub repository, which holds both configs)."""
    cols = _columns(source, split, ("question", "best_answer"), name="generation", dataset=TRUTHFULQA)
    records = [Record(q, " " + a, "truthfulqa") for q, a in zip(cols["question"], cols["best_answer"])]
    return sample(records, n, seed, name=f"TruthfulQA {split}")
