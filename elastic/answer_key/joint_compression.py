"""Exercises of book/joint_compression.md."""

from __future__ import annotations

import math

from elastic.checkers import Choice, Key, Mistake, Number, Sampled, checked, rational

CHAPTER = "joint_compression"
#: Pruning depth of the exercises' trees: one token, so the leaves are the tokens 0 and 1.
DEPTH = 2
K_POINTS = tuple({"k": k} for k in (1, 2, 9, 100))
#: Thm 3.2 / B.7 of the ACL version states dγ^{D_i/D}/dl > 0 for both datasets (book eq-claim-acl).
ACL_CLAIMED_SIGN = +1


def _trees():
    """D_1 ends every response at token 0, D_2 at token 1: pruned leaves (1, 0) and (0, 1)."""
    from elastic.tokentree import token_tree

    return [token_tree([(0,)], 2), token_tree([(1,)], 2)]


def _joint(k):
    """The joint tree of D_1 and D_2 with sizes k and 1."""
    from elastic.tokentree import mixture

    return mixture(_trees(), [float(k), 1.0])


def _ce1(k) -> float:
    from elastic import coding

    return coding.cross_entropy(_trees()[0], DEPTH, _joint(k))


def _ce2(k) -> float:
    from elastic import coding

    return coding.cross_entropy(_trees()[1], DEPTH, _joint(k))


def _joint_entropy(k) -> float:
    from elastic import coding

    return coding.cross_entropy(_joint(k), DEPTH)


def _limits() -> dict:
    """CE_1 and CE_2 as k → ∞, where the joint tree becomes D_1's own: CE_1 tends to D_1's entropy,
    and CE_2 to the cost of D_2 under D_1's code, infinite when that code gives a leaf of D_2
    probability 0 (which coding.cross_entropy refuses)."""
    from elastic import coding

    d1, d2 = _trees()
    p2, p1 = coding.aligned_leaves([d2, d1], DEPTH)
    uncoded = (p1[p2 > 0] == 0).any()
    return {"CE1_limit": coding.cross_entropy(d1, DEPTH),
            "CE2_limit": math.inf if uncoded else coding.cross_entropy(d2, DEPTH, d1)}


def _two_leaves_key() -> Key:
    return Key(
        {"CE1": _ce1, "CE2": _ce2, **_limits()},
        (Mistake("CE1", lambda k: _ce1(k) * math.log(2), "CE is counted in bits: use log base 2"),
         Mistake("CE2", lambda k: _ce2(k) * math.log(2), "CE is counted in bits: use log base 2"),
         Mistake("CE1", _ce2, "D1 is the large dataset: its leaf has joint probability k/(k + 1)"),
         Mistake("CE1", lambda k: 0.0,
                 "the code is built on the joint tree, not on D1's own: CE1 is a cross-entropy"),
         Mistake("CE2", lambda k: 0.0,
                 "the code is built on the joint tree, not on D2's own: CE2 is a cross-entropy"),
         Mistake("CE1_limit", math.inf,
                 "D1's leaf has joint probability k/(k + 1) → 1, and coding it costs -log2 1 = 0 bits"),
         Mistake("CE1_limit", _ce1(1), "that is CE_1 at k = 1, when both datasets weigh the same; as k "
                                       "grows, D1's leaf probability k/(k + 1) tends to 1"),
         Mistake("CE2_limit", 0,
                 "D2's leaf has joint probability 1/(k + 1) → 0: its code length log2(k + 1) grows without bound")),
    )


checked(
    "ex-joint-two-leaves", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="CE_1 and CE_2 in bits, as functions of k, and their limits as k → ∞ (math.inf or sp.oo for an infinite one)",
    parts={"CE1": Sampled(("k",), K_POINTS), "CE2": Sampled(("k",), K_POINTS),
           "CE1_limit": Number(), "CE2_limit": Number()}, key=_two_leaves_key,
    hint="the joint leaves are the size-weighted average of the two datasets' leaves; CE_i codes "
         "D_i's leaves with the joint ones, and as k grows the joint leaves tend to D1's",
)

#: k of the second part of ex-joint-average (any k > 0 gives 1).
ARXIV_K = 9


def _average_key() -> Key:
    from elastic import coding

    arxiv = coding.joint_compression(_trees(), [ARXIV_K, 1], DEPTH)["arxiv"]
    w = [ARXIV_K / (ARXIV_K + 1), 1 / (ARXIV_K + 1)]
    return Key(
        {"weighted_sum": _joint_entropy, "arxiv_weighted_sum": rational(sum(wi * g for wi, g in zip(w, arxiv)))},
        (Mistake("weighted_sum", lambda k: _ce1(k) + _ce2(k),
                 "weight each CE_i by w_i = |D_i| / |D|: w_1 = k/(k + 1), w_2 = 1/(k + 1)"),
         Mistake("arxiv_weighted_sum", 0,
                 "sum_i w_i (CE_i - u) = H(p^D) - u, and dividing by H(p^D) - u leaves 1")),
    )


checked(
    "ex-joint-average", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="w_1 CE_1 + w_2 CE_2 as a function of k, and the value of w_1 γ_1 + w_2 γ_2 for the arXiv normalized rates",
    parts={"weighted_sum": Sampled(("k",), K_POINTS), "arxiv_weighted_sum": Number()}, key=_average_key,
    hint="give w_1 CE_1 + w_2 CE_2 as a function of k (it is H(p^D)), and the value of "
         "w_1 γ_1 + w_2 γ_2 for the arXiv rates",
)


def acl_sign_trees():
    """The joint tree of the two datasets (k = 9) before and after a perturbation D_3 of empty
    responses, which takes mass from both leaves, so that every CE_i grows (a test checks it)."""
    from elastic.tokentree import mixture, token_tree

    trees = _trees()
    return trees, mixture(trees, [9.0, 1.0]), mixture([*trees, token_tree([()], 2)], [9.0, 1.0, 1.0])


def _acl_sign_key() -> Key:
    """The ACL rate log2 M - CE_i of each dataset, before and after the perturbation."""
    from elastic import coding

    trees, before, after = acl_sign_trees()
    change = [coding.normalized_compression_rate(t, after, DEPTH, "acl")
              - coding.normalized_compression_rate(t, before, DEPTH, "acl") for t in trees]
    direction = "up" if change[0] > 0 else "down"
    return Key(
        {"direction": direction, "agrees_with_acl": (change[0] > 0) == (ACL_CLAIMED_SIGN > 0)},
        (Mistake("direction", "up" if direction == "down" else "down",
                 "M does not change, so γ = log2 M - CE_i moves against CE_i"),
         Mistake("agrees_with_acl", not ((change[0] > 0) == (ACL_CLAIMED_SIGN > 0)),
                 "the ACL theorem states dγ/dl > 0; with Def. 3.1 as printed, the rate of each "
                 "dataset falls here")),
    )


checked(
    "ex-joint-acl-sign", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="whether the ACL normalized rate of each dataset goes 'up' or 'down', and whether that agrees with the sign the ACL theorem claims",
    parts={"direction": Choice(("up", "down")), "agrees_with_acl": Choice()}, key=_acl_sign_key,
    hint="write the ACL rate of Def. 3.1 as log2 M - CE_i and ask what M does",
)
