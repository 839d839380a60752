"""The answer key: every ``{exercise}`` of the book, registered with :mod:`elastic.exercises` by
the module of its chapter, imported here explicitly in the book's reading order.

Each module registers its chapter's exercises in the order of ``book/<chapter>.md``: a checked
exercise with a function that computes its reference answer and the known wrong answers with the
library (so a change of the library that changes an answer shows up in the tests), an open
question as such. ``tests/test_exercises.py`` keeps this list equal to the book's exercises.
"""

from elastic.answer_key import (  # noqa: F401  (each import registers a chapter's exercises)
    token_tree,
    compression_prediction,
    compression_protocol,
    joint_compression,
    mass_distribution,
    elasticity_theorem,
    hookes_law,
    resistance,
    rebound,
    scaling,
    ablations,
    lifecycle,
)
