"""Exercises of book/compression_prediction.md."""

from __future__ import annotations

import math
from fractions import Fraction

from elastic.checkers import Choice, Function, Key, Mistake, Number, Numbers, Sampled, checked, open_question

CHAPTER = "compression_prediction"


def _uniform(vocab: int):
    """The predictor of a model that spreads its probability evenly over ``vocab`` tokens."""
    import numpy as np

    return lambda prefix: np.full(vocab, 1.0 / vocab)


def _code_bits(n, vocab) -> int:
    """Length of the arithmetic code of ``n`` tokens under the uniform model (any tokens: the
    sequence 0, 1, 2, ... taken modulo ``vocab``)."""
    from elastic.arithmetic import encode

    n, vocab = int(n), int(vocab)
    return encode([t % vocab for t in range(n)], _uniform(vocab)).n_bits


def _binary_code(tokens) -> str:
    from elastic.arithmetic import encode

    return encode(tokens, _uniform(2)).bits


def bit_string(out) -> str:
    """A code given as a string, or as a sequence of 0/1 ints, as one string of '0' and '1'."""
    return out if isinstance(out, str) else "".join(str(int(b)) for b in out)


#: (n, V) with V a power of two, where the code's length is exact.
UNIFORM_POINTS = tuple({"n": n, "V": v} for n, v in ((1, 2), (5, 2), (3, 4), (4, 8), (2, 32), (7, 16)))
BINARY_INPUTS = ((), (1,), (0, 1, 1), (1, 0, 0, 1, 0), (0, 0, 0, 1))


def _uniform_key() -> Key:
    flip = str.maketrans("01", "10")
    return Key(
        {"bits": _code_bits, "code_v2": _binary_code},
        (Mistake("bits", lambda n, v: _code_bits(n, v) * math.log(2),
                 "that is in nats: a code length is counted in bits, log base 2"),
         Mistake("bits", lambda n, v: _code_bits(n, v) + 2,
                 "the + 2 bits bound the code for any V; when V is a power of two the final interval "
                 "is itself dyadic and the code needs no extra bit"),
         Mistake("code_v2", lambda t: _binary_code(t)[::-1],
                 "the first token picks the first bit (the lower or upper half of [0, 1)): keep the order"),
         Mistake("code_v2", lambda t: _binary_code(t).translate(flip),
                 "token 0 takes the lower half of the interval, so it is written as bit 0")),
    )


checked(
    "ex-cp-uniform", chapter=CHAPTER, kind="derivation", needs="paper",
    ask="the code length in bits of n tokens when V is a power of two, and for V = 2 the function that writes the code of a token sequence",
    parts={"bits": Sampled(("n", "V"), UNIFORM_POINTS),
           "code_v2": Function(BINARY_INPUTS, form="a function from a tuple of 0/1 tokens to the code as a "
                                                   "string of '0' and '1'", normal=bit_string)},
    key=_uniform_key,
    hint="the final interval has width V^-n; give the code length when V is a power of two, and for "
         "V = 2 the function that writes a token sequence's code",
)

#: The model's loss (nats per token), and the text's tokens and bytes, of ex-cp-units.
UNITS = {"loss_nats": 2.3, "n_tokens": 300, "n_bytes": 1200}


def _units_key() -> Key:
    from elastic.prediction import CodeLength

    right = CodeLength.from_loss(**UNITS)
    nats = CodeLength(UNITS["loss_nats"] * UNITS["n_tokens"], UNITS["n_tokens"], UNITS["n_bytes"])
    return Key(
        {"bits": right.bits, "bits_per_byte": right.bits_per_byte},
        (Mistake("bits", nats.bits, "that is the length in nats: divide by ln 2 to get bits"),
         Mistake("bits", right.bits_per_token,
                 "that is bits per token: multiply by the 300 tokens for the whole text"),
         Mistake("bits_per_byte", nats.bits_per_byte, "that is nats per byte: divide by ln 2 to get bits"),
         Mistake("bits_per_byte", right.bits_per_token,
                 "that is bits per token: divide the whole code by the 1,200 bytes instead"),
         Mistake("bits_per_byte", right.bits / (8 * right.n_bytes),
                 "bits per byte divides the bits by the number of bytes, not by the 9,600 bits of the raw text")),
    )


checked(
    "ex-cp-units", chapter=CHAPTER, kind="computation", needs="paper",
    ask="the length of the arithmetic code in bits, and its bits per byte",
    parts={"bits": Number(rtol=2.5e-3), "bits_per_byte": Number(rtol=3e-3)}, key=_units_key,
    hint="convert nats to bits (divide by ln 2), multiply by the number of tokens, then divide by the bytes",
)

#: The codeword lengths of ex-cp-kraft.
KRAFT_LENGTHS = ((1, 2, 2, 2), (1, 2, 3, 3))


def _kraft_key() -> Key:
    """Kraft–McMillan: lengths ℓ have a prefix-free binary code iff sum 2^-ℓ <= 1; they are
    optimal for P = 2^-ℓ (tests/test_exercises.py checks with the library that Huffman finds them
    and that their expected length is the entropy)."""
    from elastic import coding

    exists = [coding.kraft_sum(lengths) <= 1 for lengths in KRAFT_LENGTHS]
    second = KRAFT_LENGTHS[1]
    p = coding.dyadic_distribution(second)
    return Key(
        {"first": exists[0], "second": exists[1], "distribution": p},
        (Mistake("first", not exists[0],
                 "1/2 + 3 · 1/4 = 5/4 > 1: Kraft's inequality fails, so no prefix-free code has these lengths"),
         Mistake("second", not exists[1],
                 "1/2 + 1/4 + 2 · 1/8 = 1: Kraft's inequality holds (0, 10, 110, 111 is such a code)"),
         Mistake("distribution", tuple(Fraction(1, len(second)) for _ in second),
                 "the uniform distribution suits equal lengths; these lengths are optimal when "
                 "ℓ(x) = -log2 P(x)"),
         Mistake("distribution", tuple(Fraction(length, sum(second)) for length in second),
                 "longer codewords belong to less likely messages: P(x) = 2^-ℓ(x)")),
    )


checked(
    "ex-cp-kraft", chapter=CHAPTER, kind="computation", needs="paper",
    ask="whether a prefix-free code exists for the lengths 1, 2, 2, 2 ('first') and 1, 2, 3, 3 ('second'), and the distribution for which the second is optimal",
    parts={"first": Choice(), "second": Choice(), "distribution": Numbers()}, key=_kraft_key,
    hint="a prefix-free code with lengths ℓ exists exactly when the sum of 2^-ℓ is at most 1, and "
         "reaches the entropy when ℓ(x) = -log2 P(x)",
)

open_question("ex-cp-determinism", chapter=CHAPTER, kind="experiment", needs="paper")
