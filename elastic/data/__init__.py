"""Data for the experiments of Ji et al. §4 and Appendix C: the paper's datasets by hub id (or from
local files) and offline generators with the same interface, all handing out :class:`Record` samples.

=================================  ==========================================  =======================
paper data (hub id)                loader                                      offline stand-in
=================================  ==========================================  =======================
IMDb (``stanfordnlp/imdb``)        ``imdb(n, sentiment, seed)`` -> list[str]   ``reviews(n, sentiment, seed)``
BeaverTails / PKU-SafeRLHF         ``beavertails`` / ``safe_rlhf(n, safe,      ``dialogues(n, safe, seed)``
                                   seed)`` -> list[Record]
held-out pairs of both sides       ``safe_rlhf_pairs(n, seed)`` -> list[Pair]  ``review_pairs(n, seed)``,
                                                                               ``dialogue_pairs(n, seed)``
Alpaca, TruthfulQA (§4.1)          ``alpaca(n, seed)``, ``truthfulqa(n, seed)``
=================================  ==========================================  =======================

Review texts become prompt/response records with :func:`prompt_records` (prompt = first 2-8 tokens).
"""

from elastic.data.generators import dialogue_pairs, dialogues, review_pairs, reviews
from elastic.data.loaders import (ALPACA, BEAVERTAILS, IMDB, SAFE_RLHF, TRUTHFULQA, alpaca, beavertails, imdb, safe_rlhf,
                                  safe_rlhf_pairs, truthfulqa)
from elastic.data.records import NEGATIVE_SIZES, POSITIVE_SIZES, PROMPT_TOKENS, Pair, Record, prompt_records, sample, split_prompt

__all__ = [
    "ALPACA", "BEAVERTAILS", "IMDB", "NEGATIVE_SIZES", "POSITIVE_SIZES", "PROMPT_TOKENS", "Record", "SAFE_RLHF",
    "TRUTHFULQA", "Pair", "alpaca", "beavertails", "dialogue_pairs", "dialogues", "imdb", "prompt_records",
    "review_pairs", "reviews", "safe_rlhf", "safe_rlhf_pairs", "sample", "split_prompt", "truthfulqa",
]
