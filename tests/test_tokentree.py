import numpy as np
import pytest

from elastic.errors import ElasticError
from elastic.sources import IIDSource
from elastic import tokentree
from elastic.tokentree import mixture, mixture_weights, pad_sequences, token_tree

# {0, 01, 01, 1}: worked by hand in the chapter's first exercise
HAND = [(0,), (0, 1), (0, 1), (1,)]


def weights_by_prefix(tree):
    return {tree.prefix(n): (tree.weight[n], tree.eos[n]) for n in range(tree.n_nodes)}


def test_hand_computed_tree():
    tree = token_tree(HAND, vocab_size=2)
    assert weights_by_prefix(tree) == {
        (): (1.0, 0.0), (0,): (0.75, 0.25), (1,): (0.25, 0.25), (0, 1): (0.5, 0.5),
    }
    assert tree.n_layers == 3
    assert list(tree.depth) == [0, 1, 1, 2]
    assert tree.layer(2) == slice(1, 3)


def test_hand_computed_pruning_moves_mass_to_parent_eos():
    pruned = token_tree(HAND, vocab_size=2).prune(2)
    assert weights_by_prefix(pruned) == {(): (1.0, 0.0), (0,): (0.75, 0.75), (1,): (0.25, 0.25)}
    root_only = token_tree(HAND, vocab_size=2).prune(1)
    assert weights_by_prefix(root_only) == {(): (1.0, 1.0)}


def test_empty_response_sits_on_root_eos():
    tree = token_tree([(), (), (1,), (1, 1)], vocab_size=2)
    assert weights_by_prefix(tree)[()] == (1.0, 0.5)
    assert weights_by_prefix(tree)[(1, 1)] == (0.25, 0.25)


def random_corpus(n=400, seed=0, vocab=2, p=None):
    src = IIDSource(p or tuple(np.full(vocab, 1 / vocab)), stop_prob=0.2, max_len=12)
    return src.sample(n, seed=seed)


def test_node_weight_is_eos_plus_children():
    tokens, lengths = random_corpus(vocab=3)
    tree = token_tree(tokens, 3, lengths=lengths)
    child_sum = np.bincount(tree.parent[1:], tree.weight[1:], minlength=tree.n_nodes)
    np.testing.assert_allclose(tree.weight, tree.eos + child_sum, atol=1e-12)


@pytest.mark.parametrize("d", range(1, 15))
def test_pruning_preserves_total_leaf_mass(d):
    tokens, lengths = random_corpus()
    full = token_tree(tokens, 2, lengths=lengths)
    pruned = full.prune(d)
    assert pruned.leaf_mass() == pytest.approx(1.0, abs=1e-12)
    assert pruned.n_layers == min(d, full.n_layers)
    direct = token_tree(tokens, 2, lengths=lengths, depth=d)
    np.testing.assert_allclose(direct.eos, pruned.eos, atol=1e-12)
    np.testing.assert_array_equal(direct.parent, pruned.parent)


def test_pruned_eos_in_last_layer_is_prefix_probability():
    tokens, lengths = random_corpus()
    pruned = token_tree(tokens, 2, lengths=lengths).prune(3)
    for node in range(pruned.n_nodes):
        prefix = pruned.prefix(node)
        starts = np.mean([tuple(t[:l][: len(prefix)]) == prefix and l >= len(prefix)
                          for t, l in zip(tokens, lengths)])
        equals = np.mean([tuple(t[:l]) == prefix for t, l in zip(tokens, lengths)])
        expected = starts if len(prefix) == 2 else equals
        assert pruned.eos[node] == pytest.approx(expected)


def test_general_vocabulary_agrees_with_binary_on_binary_data():
    tokens, lengths = random_corpus()
    binary = token_tree(tokens, 2, lengths=lengths)
    general = token_tree(tokens, 7, lengths=lengths)
    for attr in ("parent", "token", "depth", "weight", "eos"):
        np.testing.assert_array_equal(getattr(binary, attr), getattr(general, attr))


def test_list_and_padded_inputs_agree():
    seqs = [(2, 0, 1), (2,), (), (1, 1, 1, 1)]
    tokens, lengths = pad_sequences(seqs)
    a, b = token_tree(seqs, 3), token_tree(tokens, 3, lengths=lengths)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.eos, b.eos)


def both_builds(monkeypatch, *args, **kwargs):
    """The same tree by direct addressing (the layered build disabled) and by layers."""
    def refuse(*_):
        raise AssertionError("the layered build ran where direct addressing should have")

    with monkeypatch.context() as m:
        m.setattr(tokentree, "_layered_tree", refuse)
        addressed = token_tree(*args, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(tokentree, "_addressed_tree", lambda *_: None)
        layered = token_tree(*args, **kwargs)
    return addressed, layered


@pytest.mark.parametrize("vocab, depth, weighted", [
    (1, None, False), (2, None, False), (2, 5, False), (2, None, True), (3, 4, True), (4, 3, False),
])
def test_addressed_and_layered_builds_agree(monkeypatch, vocab, depth, weighted):
    tokens, lengths = random_corpus(n=4000, seed=vocab, vocab=vocab)
    weights = None
    if weighted:  # zero weights too: a response of weight 0 still puts its nodes in the tree
        weights = np.random.default_rng(0).random(len(lengths)) * (np.arange(len(lengths)) % 3 > 0)
    addressed, layered = both_builds(monkeypatch, tokens, vocab, lengths=lengths, weights=weights, depth=depth)
    for attr in ("parent", "token", "depth"):
        np.testing.assert_array_equal(getattr(addressed, attr), getattr(layered, attr))
    for attr in ("weight", "eos"):  # uniform weights are exact counts k/N in both builds
        np.testing.assert_allclose(getattr(addressed, attr), getattr(layered, attr), rtol=1e-12 if weighted else 0)


def test_a_pad_inside_a_response_is_caught_not_aliased():
    # With pad digit 0, (-1, 1) has the base-2 numeral of the response (1, 0); base 3 tells them apart.
    tokens, lengths = np.array([[1, 0], [-1, 1]]), np.array([2, 2])
    assert tokentree._addressed_tree(tokens, lengths, None, 2, 2) is None
    with pytest.raises(ElasticError, match=r"token id -1 is outside \[0, 2\)"):
        token_tree(tokens, 2, lengths=lengths)


def test_tokens_past_a_response_are_ignored():
    tokens, lengths = np.array([[1, 0, 1], [0, 1, 1], [1, 7, 7]]), np.array([2, 3, 1])
    assert tokentree._addressed_tree(tokens, lengths, None, 2, 3) is None
    padded = token_tree(tokens, 2, lengths=lengths)
    listed = token_tree([(1, 0), (0, 1, 1), (1,)], 2)
    assert weights_by_prefix(padded) == weights_by_prefix(listed)


def test_read_only_input_is_accepted():
    tokens, lengths = random_corpus()
    tokens.setflags(write=False)
    assert weights_by_prefix(token_tree(tokens, 2, lengths=lengths)).keys()


def test_mixture_weights_are_relative_sizes():
    np.testing.assert_allclose(mixture_weights([1000, 100, 900]), [0.5, 0.05, 0.45])


def test_mixture_of_two_hand_trees():
    # D1 = {0} x 3, D2 = {1}: root children weigh |D_i| / (|D1| + |D2|)
    joint = mixture([token_tree([(0,)] * 3, 2), token_tree([(1,)], 2)], sizes=[3, 1])
    assert weights_by_prefix(joint) == {(): (1.0, 0.0), (0,): (0.75, 0.75), (1,): (0.25, 0.25)}


def test_mixture_equals_tree_of_pooled_data():
    (t1, n1), (t2, n2) = random_corpus(300, seed=1, p=(0.8, 0.2)), random_corpus(30, seed=2, p=(0.2, 0.8))
    joint = mixture([token_tree(t1, 2, lengths=n1), token_tree(t2, 2, lengths=n2)], sizes=[300, 30])
    pooled = token_tree(np.concatenate([t1, t2]), 2, lengths=np.concatenate([n1, n2]))
    assert weights_by_prefix(joint).keys() == weights_by_prefix(pooled).keys()
    np.testing.assert_allclose(joint.eos, pooled.eos, atol=1e-12)
    np.testing.assert_allclose(joint.weight, pooled.weight, atol=1e-12)


def test_mixture_of_pruned_trees_is_pruned_mixture():
    (t1, n1), (t2, n2) = random_corpus(200, seed=3), random_corpus(50, seed=4)
    a, b = token_tree(t1, 2, lengths=n1), token_tree(t2, 2, lengths=n2)
    np.testing.assert_allclose(mixture([a.prune(4), b.prune(4)], [200, 50]).eos,
                               mixture([a, b], [200, 50]).prune(4).eos, atol=1e-12)


def test_serialisation_round_trip():
    tree = token_tree(HAND, 2)
    again = type(tree).from_dict(tree.to_dict())
    assert weights_by_prefix(again) == weights_by_prefix(tree)


@pytest.mark.parametrize("call, message", [
    (lambda: token_tree([(0, 5)], vocab_size=2), "outside [0, 2)"),
    (lambda: token_tree([], vocab_size=2), "empty dataset"),
    (lambda: token_tree(np.zeros((1, 2)), 2, lengths=[3]), "pass lengths that fit the array"),
    (lambda: token_tree(np.zeros((1, 2)), 2, lengths=[-1]), "pass them >= 0"),
    (lambda: token_tree(HAND, 2).prune(0), "must be >= 1"),
    (lambda: mixture_weights([10, 0]), "must be positive"),
    (lambda: mixture([token_tree(HAND, 2)], [1, 2]), "one size per dataset"),
    (lambda: mixture([token_tree(HAND, 2), token_tree(HAND, 3)], [1, 2]), "different vocabularies"),
])
def test_bad_input_is_one_line_error(call, message):
    with pytest.raises(ElasticError, match=message.replace("[", r"\[").replace(")", r"\)")) as info:
        call()
    assert "\n" not in str(info.value)
