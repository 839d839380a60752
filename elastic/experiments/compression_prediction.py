"""Compression is prediction: code lengths of two texts under language models, arithmetic-coded
for real and decoded back, next to zlib, bz2 and lzma.

The texts are our own: a paragraph of English prose written for this chapter (:data:`PROSE`) and a
text drawn from a Zipf source over made-up words, whose exact code length under the true source is
known. The "tiny" model is a byte-level transformer trained here, briefly, on other draws from the
same source; any other model name is a :func:`elastic.models.load_model` spec (e.g. "smollm2").
"""

from __future__ import annotations

import string
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from elastic import plan, results
from elastic.arithmetic import decode, encode
from elastic.config import ExperimentConfig
from elastic.errors import ElasticError
from elastic.experiments import pinned_threads
from elastic.prose import count
from elastic.prediction import LMPredictor, classic_code_lengths, code_length, tokenize

#: English prose written for this chapter (not taken from any corpus or from the paper).
PROSE = (
    "A weather forecaster who says there is a ninety percent chance of rain is making a bet. If it "
    "rains, the bet cost little; if the sky stays clear, the forecaster looks foolish. Compression "
    "works the same way. Before each word arrives, a compressor spreads its confidence over what "
    "might come next, and the word that actually arrives is charged a price in bits: a few bits if "
    "it was expected, many if it was a surprise. A good predictor is therefore a good compressor, "
    "and the total price of a text is the sum of its surprises. Language models are trained to make "
    "that sum small. Each training step nudges the model so that the next token of a document looks "
    "a little less surprising, which is exactly the same as making the document a little cheaper "
    "to store. Old tools such as zip look for repeated strings and replace them by short "
    "references, but they know nothing about grammar, spelling or the world. A language model "
    "knows that a sentence which begins with the words \"the cat sat on the\" will most likely end "
    "with a mat, a chair or a sofa, and it pays almost nothing for those words. The price of that "
    "knowledge is the model itself: to decode the text, the reader needs the very same model, "
    "with the very same weights, that the writer used."
)


@dataclass(frozen=True, kw_only=True)
class Config(ExperimentConfig):
    models: tuple[str, ...] = ("tiny",)   #: "tiny" (trained here) and/or load_model specs
    prose_chars: int = 400                #: first characters of PROSE to code
    vocabulary_words: int = 40            #: distinct made-up words of the Zipf source
    zipf_exponent: float = 1.1            #: word probabilities proportional to rank^-exponent
    text_words: int = 80                  #: words in the generated text that is coded
    train_documents: int = 200            #: generated documents the tiny model trains on
    document_words: int = 16              #: words per training document (also the tiny model's window)
    train_steps: int = 60                 #: optimizer steps of the tiny model
    coded_tokens: int = 400               #: at most this many tokens are arithmetic-coded per text
    precision_bits: int = 40              #: arithmetic coder frequencies sum to 2^precision_bits
    num_threads: int = 0                  #: torch threads while the run lasts (0: as the process has it)


@dataclass(frozen=True)
class ZipfWords:
    """Words drawn i.i.d. with ``q(w_r) ∝ r^-s`` and joined by single spaces.

    The words are distinct and contain no space, so a text determines its word sequence and
    ``sum_i -log2 q(w_i)`` is the exact code length of a text under the true source: the floor
    that no model of this source can beat on average (the Shannon bound).
    """

    words: tuple[str, ...]
    probs: tuple[float, ...]

    @classmethod
    def make(cls, n_words: int, exponent: float, seed: int) -> "ZipfWords":
        if n_words < 2:
            raise ElasticError(f"vocabulary_words={n_words} must be >= 2")
        rng = np.random.default_rng(seed)
        words: dict[str, None] = {}
        while len(words) < n_words:
            length = int(rng.integers(2, 8))
            words["".join(rng.choice(list(string.ascii_lowercase), size=length))] = None
        ranks = np.arange(1, n_words + 1, dtype=float)
        q = ranks ** -exponent
        return cls(tuple(words), tuple((q / q.sum()).tolist()))

    @property
    def entropy_bits_per_word(self) -> float:
        q = np.asarray(self.probs)
        return float(-(q * np.log2(q)).sum())

    def sample(self, n_words: int, rng: np.random.Generator) -> tuple[str, float]:
        """A text of ``n_words`` words and its exact code length in bits under this source."""
        idx = rng.choice(len(self.words), size=n_words, p=self.probs)
        bits = float(-np.log2(np.asarray(self.probs)[idx]).sum())
        return " ".join(self.words[i] for i in idx), bits


def _train_tiny(cfg: Config, source: ZipfWords):
    """A byte-level tiny model trained with :func:`elastic.train.sft` on ``train_documents`` fresh
    draws from ``source``, from scratch: hence a larger step size and the usual beta1 = 0.9, not
    the paper's fine-tuning settings. Returns the model, its tokenizer and its window: the longest
    training document, since the model has never attended over longer spans."""
    from elastic.config import trainer_args
    from elastic.models import byte_tokenizer, tiny_model
    from elastic.train import sft

    tokenizer = byte_tokenizer()
    rng = np.random.default_rng(cfg.seed + 1)
    documents = [source.sample(cfg.document_words, rng)[0] for _ in range(cfg.train_documents)]
    args = {**trainer_args(cfg.preset), "max_steps": cfg.train_steps, "learning_rate": 3e-3, "adam_beta1": 0.9,
            "per_device_train_batch_size": 16, "max_length": max(map(len, documents)) + 2,
            "save_strategy": "no", "logging_steps": max(1, cfg.train_steps // 10),
            "seed": cfg.seed, "data_seed": cfg.seed}
    with tempfile.TemporaryDirectory(prefix="compression_prediction_") as out:
        model = sft(tiny_model(tokenizer, seed=cfg.seed), tokenizer, documents, output_dir=out,
                    args=args, resume=False)
    return model.eval(), tokenizer, max(map(len, documents))


def _load(spec: str, cfg: Config, source: ZipfWords):
    """``(model, tokenizer, window)``; a pre-trained model codes a text in one window (None)."""
    if spec == "tiny":
        return _train_tiny(cfg, source)
    from elastic.models import load_model

    return (*load_model(spec), None)


def _arithmetic(model, tokenizer, text: str, cfg: Config, window: int | None) -> tuple[dict, dict]:
    """Encode the first ``coded_tokens`` tokens for real, decode them back, compare with log-loss;
    also how long encoding and decoding took (provenance, not data: reruns differ there)."""
    ids = tokenize(tokenizer, text)
    coded = ids[:cfg.coded_tokens]
    start = time.perf_counter()
    code = encode(coded, LMPredictor(model, tokenizer, window=window), precision_bits=cfg.precision_bits,
                  progress=True)
    encoded = time.perf_counter()
    back = decode(code, LMPredictor(model, tokenizer, window=window), precision_bits=cfg.precision_bits,
                  progress=True)
    return {
        "n_tokens": len(coded), "all_tokens": len(coded) == len(ids),
        "n_bits": code.n_bits, "ideal_bits": code.ideal_bits,
        "overhead_bits": code.n_bits - code.ideal_bits,
        "bound_bits": 2 + 0.01 * len(coded),
        "tokens_round_trip": back == coded,
        # the decoded tokens, turned back into characters, are the start of the text
        "decoded_chars": len(tokenizer.decode(back)),
        "text_round_trip": text.startswith(tokenizer.decode(back)),
    }, {"encode_seconds": encoded - start, "decode_seconds": time.perf_counter() - encoded}


@pinned_threads
def run(cfg: Config) -> dict:
    plan.check_before_load(cfg)  # on a GPU too small for the models, stop before any download
    start = time.perf_counter()
    if not 1 <= cfg.prose_chars <= len(PROSE):
        raise ElasticError(f"prose_chars={cfg.prose_chars} must lie in [1, {len(PROSE)}]")
    from elastic.models import check_spec

    for spec in cfg.models:  # all of them before the first one trains or loads
        if spec != "tiny":
            check_spec(spec)
    source = ZipfWords.make(cfg.vocabulary_words, cfg.zipf_exponent, cfg.seed)
    generated, source_bits = source.sample(cfg.text_words, np.random.default_rng(cfg.seed + 2))
    texts = {"prose": PROSE[:cfg.prose_chars], "generated": generated}
    n_bytes = {name: len(text.encode("utf-8")) for name, text in texts.items()}

    lengths = []
    for name, text in texts.items():
        for coder, length in classic_code_lengths(text).items():
            lengths.append({"coder": coder, "kind": "classic", "text": name, **length.asdict()})
    lengths.append({"coder": "true source", "kind": "source", "text": "generated", "bits": source_bits,
                    "n_tokens": cfg.text_words, "n_bytes": n_bytes["generated"],
                    "bits_per_token": source_bits / cfg.text_words,
                    "bits_per_byte": source_bits / n_bytes["generated"]})
    arithmetic, timings, token_bits = [], [], {}
    for spec in cfg.models:
        model, tokenizer, window = _load(spec, cfg, source)
        for name, text in texts.items():
            length = code_length(model, tokenizer, text, window=window)
            lengths.append({"coder": spec, "kind": "model", "text": name, **length.asdict()})
            token_bits[f"{spec}/{name}"] = length.token_bits
            record, seconds = _arithmetic(model, tokenizer, text, cfg, window)
            record.update(model=spec, text=name,
                          one_pass_bits=float(length.token_bits[:record["n_tokens"]].sum()), window=window)
            arithmetic.append(record)
            timings.append({"model": spec, "text": name, **seconds})

    data = {
        "texts": texts, "n_bytes": n_bytes,
        "source": {"words": list(source.words), "probs": list(source.probs),
                   "entropy_bits_per_word": source.entropy_bits_per_word},
        "training": {"documents": cfg.train_documents, "document_words": cfg.document_words,
                     "steps": cfg.train_steps},
        "lengths": lengths, "arithmetic": arithmetic, "token_bits": token_bits,
    }
    return results.save("compression_prediction", cfg, data, time.perf_counter() - start,
                        run={"arithmetic_seconds": timings}, summary=summary)


def summary(data: dict, cfg: Config) -> dict:
    """What the chapter's page quotes (see :func:`elastic.notebook.run`): the best model and the
    best classic compressor of each text, and whether the one beats the other."""
    lengths, arith, texts = data["lengths"], data["arithmetic"], list(data["texts"])
    source = next(r for r in lengths if r["kind"] == "source")
    bpb = {(r["coder"], r["text"]): r["bits_per_byte"] for r in lengths}
    best = {kind: {t: min((r for r in lengths if r["text"] == t and r["kind"] == kind), key=lambda r: r["bits_per_byte"])
                   for t in texts} for kind in ("classic", "model")}
    tiny_prose = bpb.get(("tiny", "prose"), np.nan)
    out = {
        "cp_vocab": str(len(data["source"]["words"])),
        "cp_source_bpb": f"{source['bits_per_byte']:.3f}",
        "cp_entropy_word": f"{data['source']['entropy_bits_per_word']:.2f}",
        "cp_train_steps": str(data["training"]["steps"]),
        "cp_train_docs": f"{data['training']['documents']:,}",
    }
    for t in texts:
        model, classic = best["model"][t], best["classic"][t]
        out[f"cp_best_model_{t}"] = f"`{model['coder']}`"
        out[f"cp_best_model_bpb_{t}"] = f"{model['bits_per_byte']:.3f}"
        out[f"cp_best_classic_{t}"] = classic["coder"]
        out[f"cp_best_classic_bpb_{t}"] = f"{classic['bits_per_byte']:.3f}"
        out[f"cp_verdict_{t}"] = "beats" if model["bits_per_byte"] < classic["bits_per_byte"] else "does not beat"
    out.update({
        "cp_source_gap": f"{best['model']['generated']['bits_per_byte'] - source['bits_per_byte']:.3f}",
        "cp_tiny_prose": f"{tiny_prose:.2f}",
        "cp_tiny_vs_raw": ("more than the 8 bits of the raw bytes: a model that is confidently wrong costs more "
                           "than no model at all" if tiny_prose > 8 else "far more than a model of English needs"),
        "cp_tiny_window": str(next((a["window"] for a in arith if a["model"] == "tiny"), "n/a")),
        "cp_n_coded": f"{sum(a['n_tokens'] for a in arith):,}",
        "cp_coded_tokens": f"{cfg.coded_tokens:,}",
        "cp_max_overhead": f"{max(a['overhead_bits'] for a in arith):.2f}",
        "cp_min_overhead": f"{min(a['overhead_bits'] for a in arith):.2f}",
        "cp_round_trips": "every" if all(a["tokens_round_trip"] for a in arith) else "NOT every",
        "cp_text_round_trips": count(sum(a['text_round_trip'] for a in arith), "decoded token sequence", of=len(arith)),
        "cp_one_pass_diff": f"{max(abs(a['ideal_bits'] - a['one_pass_bits']) for a in arith):.1e}",
    })
    return out

