"""Generated sentences: counts in words, zero, one and all cases included."""

import pytest

from elastic import prose
from elastic.errors import ElasticError


@pytest.mark.parametrize("n, words", [(0, "no panels"), (1, "1 panel"), (3, "3 panels"), (1200, "1,200 panels")])
def test_count_alone(n, words):
    assert prose.count(n, "panel") == words


@pytest.mark.parametrize("n, total, words", [
    (0, 0, "no panels"), (1, 1, "the only panel"), (0, 1, "not the only panel"),
    (3, 3, "all 3 panels"), (0, 3, "none of the 3 panels"), (1, 3, "1 of 3 panels"), (2, 3, "2 of 3 panels"),
])
def test_count_of_a_whole(n, total, words):
    assert prose.count(n, "panel", of=total) == words


def test_irregular_plural_and_a_part_larger_than_its_whole():
    assert prose.count(2, "copy", plural="copies") == "2 copies"
    assert prose.count(0, "copy", of=4, plural="copies") == "none of the 4 copies"
    with pytest.raises(ElasticError, match="between 0 and the whole"):
        prose.count(4, "panel", of=3)
