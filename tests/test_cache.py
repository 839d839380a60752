"""elastic.cache: keys from content (never paths), entries written whole or not at all."""

import hashlib
import json

import pytest

from elastic import cache
from elastic.errors import ElasticError


def test_content_key_is_canonical_json():
    assert cache.content_key({"b": 1, "a": [1, 2]}) == cache.content_key({"a": [1, 2], "b": 1})
    assert cache.content_key({"a": 1}) != cache.content_key({"a": 2})
    text = json.dumps({"a": [1, 2], "b": 1}, sort_keys=True)
    assert cache.content_key({"b": 1, "a": [1, 2]}, length=64) == hashlib.sha256(text.encode()).hexdigest()
    assert len(cache.content_key("x")) == 16
    assert cache.content_key({"t": {"b", "a"}}) == cache.content_key({"t": ["a", "b"]})  # sets sorted


def test_file_key_of_a_copy_is_the_same(tmp_path):
    first, second = tmp_path / "a.bin", tmp_path / "elsewhere" / "b.bin"
    second.parent.mkdir()
    for path in (first, second):
        path.write_bytes(bytes(range(256)) * 10_000)
    assert cache.file_key(first) == cache.file_key(second) == hashlib.sha256(first.read_bytes()).hexdigest()
    assert cache.file_key(first, sample=1024, length=12) == cache.file_key(second, sample=1024, length=12)
    second.write_bytes(second.read_bytes()[:-1] + b"x")  # the last byte differs: a sampled key sees it
    assert cache.file_key(first, sample=1024) != cache.file_key(second, sample=1024)


def test_json_entries_round_trip_count_and_name_a_corrupt_file(tmp_path):
    store = cache.Store(tmp_path, entry="cell")
    assert store.get("k") is None and store.hits == 0
    store.put("k", {"value": [1, 2]})
    assert store.get("k") == {"value": [1, 2]} and store.get("k", "value") == [1, 2]
    assert (store.hits, store.misses) == (2, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temporary file left
    (tmp_path / "k.json").write_text("{not json")
    with pytest.raises(ElasticError, match=r"k.json is corrupt \(JSONDecodeError\): delete it to recompute that cell"):
        store.get("k")


def test_a_directory_entry_appears_only_when_complete(tmp_path):
    store = cache.Store(tmp_path)
    assert store.directory("d", "done") is None
    with pytest.raises(RuntimeError):
        with store.write_directory("d", "done") as tmp:
            (tmp / "done").write_text("1")
            raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []
    with store.write_directory("d", "done") as tmp:
        (tmp / "done").write_text("1")
    assert store.directory("d", "done") == tmp_path / "d" and store.misses == 1
