"""What the hub holds under every id the colab and paper presets name: one table of facts.

Each entry says what the real repository ships (architecture, the ``config.json`` values the
resource plan and the stand-ins need, the tokenizer class, the weight files and their sharding; for
a dataset its configs, splits, files and columns) and where the fact was checked. The checks were
made with the search tool against the hub's own pages (file trees, commit pages, ``config.json``
blames) or, for gated repositories, against public copies and derivatives that quote the same files.
Facts that could not be checked are listed with ``confirmed=False`` and the reason.

Two modules read it and nothing else holds these facts: :mod:`elastic.plan` takes the real
dimensions for its arithmetic, and :mod:`elastic.data.mirror` writes a tiny stand-in of each entry
with the same architecture class, config keys, tokenizer class and file layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Model:
    """A model repository: its real ``config.json`` values, tokenizer class and weight files."""

    repo_id: str
    config: dict                  #: the real config.json values the plan and the stand-in use
    tokenizer: str                #: the class its tokenizer_config.json names
    tokenizer_files: str          #: "json": tokenizer.json; "bpe": vocab.json + merges.txt only
    safetensors: int              #: safetensors shards on main (0: none; 1: model.safetensors)
    bin: int                      #: pickled pytorch_model*.bin shards on main (0: none)
    source: str                   #: where these facts were checked
    confirmed: bool = True
    note: str = ""                #: what is not confirmed, and why


@dataclass(frozen=True)
class Dataset:
    """A dataset repository: per config, per split, the file path and its format."""

    repo_id: str
    files: dict                   #: {config: {split: path in the repository}}
    columns: tuple[str, ...]      #: the columns of every row (the loaders read a subset)
    source: str
    readme_configs: bool = True   #: the README's ``configs:`` maps the files (else datasets infers)
    confirmed: bool = True
    note: str = ""
    extra: dict = field(default_factory=dict)  #: columns of other configs, {config: columns}


def _llama(V, h, i, L, n_h, n_kv, **more) -> dict:
    return dict(architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=V, hidden_size=h,
                intermediate_size=i, num_hidden_layers=L, num_attention_heads=n_h, num_key_value_heads=n_kv,
                tie_word_embeddings=False, **more)


def _qwen2(V, h, i, L, n_h, n_kv, tied, **more) -> dict:
    return dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=V, hidden_size=h,
                intermediate_size=i, num_hidden_layers=L, num_attention_heads=n_h, num_key_value_heads=n_kv,
                tie_word_embeddings=tied, **more)


_TINYLLAMA = _llama(32000, 2048, 5632, 22, 32, 4, max_position_embeddings=2048)
_TINYLLAMA_SOURCE = ("hub: TinyLlama upload commits (config.json, pytorch_model.bin, tokenizer.model, "
                     "tokenizer.json, tokenizer_config.json) and configs of derivatives naming the id")
_TINYLLAMA_NOTE = ("main ships pytorch_model.bin; a model.safetensors exists on the safetensors "
                   "conversion pull requests (refs/pr/N) of several checkpoints, and whether one was merged "
                   "into main could not be confirmed: the stand-in ships the .bin only, so a run "
                   "converts it once (python -m elastic convert)")


def _tinyllama(repo_id: str) -> Model:
    return Model(repo_id, _TINYLLAMA, "LlamaTokenizer", "json", safetensors=0, bin=1,
                 source=_TINYLLAMA_SOURCE, confirmed=True, note=_TINYLLAMA_NOTE)


MODELS = {m.repo_id: m for m in [
    # hub page of Qwen/Qwen2.5-0.5B (Safetensors, merges.txt, vocab.json, tokenizer.json); config.json
    # quoted by copies naming the id: hidden 896, intermediate 4864, 24 layers, 14/2 heads, tied
    Model("Qwen/Qwen2.5-0.5B", _qwen2(151936, 896, 4864, 24, 14, 2, True, max_position_embeddings=32768),
          "Qwen2Tokenizer", "json", safetensors=1, bin=0,
          source="hub page of the id; config.json of copies naming it (e.g. osllmai-community/Qwen2.5-0.5B)"),
    Model("Qwen/Qwen2.5-1.5B", _qwen2(151936, 1536, 8960, 28, 12, 2, True, max_position_embeddings=32768),
          "Qwen2Tokenizer", "json", safetensors=1, bin=0,
          source="config.json of derivatives of Qwen2.5-1.5B(-Instruct); a 3.09 GB model.safetensors in copies"),
    *[_tinyllama(f"TinyLlama/TinyLlama-1.1B-{step}") for step in (
        "step-50K-105b", "intermediate-step-240k-503b", "intermediate-step-480k-1T",
        "intermediate-step-955k-token-2T", "intermediate-step-1195k-token-2.5T", "intermediate-step-1431k-3T")],
    # gated: checked on public copies of the repo (same README/LICENSE/USE_POLICY): 2 safetensors and 2
    # .bin shards with their indexes, tokenizer.model + tokenizer.json
    Model("meta-llama/Llama-2-7b-hf", _llama(32000, 4096, 11008, 32, 32, 32, max_position_embeddings=4096),
          "LlamaTokenizer", "json", safetensors=2, bin=2,
          source="public copies of the gated repo (WeiNyn/Llama2-7b-hf, alhosseini/Llama-2-7b-hf)"),
    Model("meta-llama/Llama-2-13b-hf", _llama(32000, 5120, 13824, 40, 40, 40, max_position_embeddings=4096),
          "LlamaTokenizer", "json", safetensors=3, bin=3,
          source="public copies of the gated repo (Model-SafeTensors/Llama-2-13b-hf: 3 safetensors shards); "
                 "config.json of derivatives naming the id",
          note="the .bin shard count differs between copies (3 or 6); the stand-in ships 3"),
    Model("meta-llama/Meta-Llama-3-8B", _llama(128256, 4096, 14336, 32, 32, 8, max_position_embeddings=8192,
                                               rope_theta=500000.0),
          "PreTrainedTokenizerFast", "json", safetensors=4, bin=0,
          source="public copies of the gated repo (bofenghuang/Meta-Llama-3-8B: 4 safetensors shards, "
                 "tokenizer.json only); config.json of derivatives naming the id"),
    Model("google/gemma-2b", dict(architectures=["GemmaForCausalLM"], model_type="gemma", vocab_size=256000,
                                  hidden_size=2048, intermediate_size=16384, num_hidden_layers=18,
                                  num_attention_heads=8, num_key_value_heads=1, head_dim=256,
                                  tie_word_embeddings=True, max_position_embeddings=8192),
          "GemmaTokenizer", "json", safetensors=2, bin=0,
          source="public copies of the gated repo (2 safetensors shards, tokenizer.model, tokenizer.json; "
                 "a gemma-2b.gguf beside them); config.json of derivatives naming the id"),
    Model("Qwen/Qwen1.5-0.5B", _qwen2(151936, 1024, 2816, 24, 16, 16, True, max_position_embeddings=32768),
          "Qwen2Tokenizer", "json", safetensors=1, bin=0,
          source="config.json of derivatives naming the id (trl-lib/qwen1.5-0.5b-sft and others)"),
    Model("Qwen/Qwen1.5-4B", _qwen2(151936, 2560, 6912, 40, 20, 20, False, max_position_embeddings=32768),
          "Qwen2Tokenizer", "json", safetensors=2, bin=0,
          source="config.json of derivatives naming the id and of Qwen/Qwen1.5-4B-Chat",
          note="shard count taken from Qwen1.5-4B-Chat's listing, not checked on the base repo"),
    Model("Qwen/Qwen1.5-7B", _qwen2(151936, 4096, 11008, 32, 32, 32, False, max_position_embeddings=32768),
          "Qwen2Tokenizer", "json", safetensors=4, bin=0,
          source="config.json of derivatives naming the id and of Qwen/Qwen1.5-7B-Chat (4 shards)",
          note="shard count taken from Qwen1.5-7B-Chat's listing, not checked on the base repo"),
    # main ships pytorch_model.bin, tf_model.h5, flax_model.msgpack, vocab.json + merges.txt (no
    # tokenizer.json); the model.safetensors of SFconvertbot sits on refs/pr/3, which main never merged
    Model("siebert/sentiment-roberta-large-english",
          dict(architectures=["RobertaForSequenceClassification"], model_type="roberta", vocab_size=50265,
               hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
               max_position_embeddings=514, type_vocab_size=1, id2label={"0": "NEGATIVE", "1": "POSITIVE"},
               label2id={"NEGATIVE": 0, "POSITIVE": 1}),
          "RobertaTokenizer", "bpe", safetensors=0, bin=1,
          source="hub: commit history of main (no safetensors commit), tree of refs/pr/3; config.json "
                 "('More intuitive labeling': NEGATIVE/POSITIVE) quoted by derivatives"),
    # the cost model: safe-rlhf's LlamaForScore (backbone under "model.", score_head with bias);
    # converted from 4 .bin shards to 7 safetensors shards on main ("Convert model checkpoint to safetensors")
    Model("PKU-Alignment/beaver-7b-v1.0-cost",
          dict(architectures=["LlamaForScore"], model_type="llama", vocab_size=32001, hidden_size=4096,
               intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
               tie_word_embeddings=False, max_position_embeddings=2048, pad_token_id=32000, bias=False,
               do_normalize=False, normalizer_type=None, score_bias=True, score_dim=1, score_type="reward"),
          "LlamaTokenizer", "json", safetensors=7, bin=0,
          source="hub: tree of main, config.json blame, commit 0e42156 (the earlier .bin upload)"),
    # the authors' checkpoints: hub pages tag them PyTorch + llama, with no model card
    Model("PKU-Alignment/llama-7b-IMDB-Q1-1000-Q2-2000",
          _llama(32000, 4096, 11008, 32, 32, 32, max_position_embeddings=2048),
          "LlamaTokenizer", "json", safetensors=0, bin=2,
          source="hub page of the id (PyTorch, llama, no model card)", confirmed=False,
          note="no card and no file listing could be found: a Llama-7B config and 2 pickled shards are assumed"),
    *[Model(f"PKU-Alignment/tinyllama-{volume}-IMDB-Q1-{n}", _TINYLLAMA, "LlamaTokenizer", "json",
            safetensors=0, bin=1, source="hub pages of the id (PyTorch, llama, tokenizer.json, no model card)",
            confirmed=False, note="weight files not listed: a single pickled pytorch_model.bin is assumed")
      for volume, n in (("1T", 2000), ("2T", 1000), ("2.5T", 5000))],
]}

#: The safety categories of BeaverTails and PKU-SafeRLHF rows (their ``category`` and
#: ``response_*_harm_category`` dicts), as the BeaverTails card lists them.
HARM_CATEGORIES = (
    "animal_abuse", "child_abuse", "controversial_topics,politics", "discrimination,stereotype,injustice",
    "drug_abuse,weapons,banned_substance", "financial_crime,property_crime,theft",
    "hate_speech,offensive_language", "misinformation_regarding_ethics,laws_and_safety",
    "non_violent_unethical_behavior", "privacy_violation", "self_harm", "sexually_explicit,adult_content",
    "terrorism,organized_crime", "violence,aiding_and_abetting,incitement",
)

DATASETS = {d.repo_id: d for d in [
    # "Convert dataset to Parquet" commit and tree: config plain_text, three splits
    Dataset("stanfordnlp/imdb", {"plain_text": {s: f"plain_text/{s}-00000-of-00001.parquet"
                                                for s in ("train", "test", "unsupervised")}},
            ("text", "label"), source="hub: tree and 'Convert dataset to Parquet' commit; label 0 neg, 1 pos"),
    # main after "Re-upload BeaverTails-30k and refactoring": one default config, four splits
    Dataset("PKU-Alignment/BeaverTails",
            {"default": {"330k_train": "round0/330k/train.jsonl.xz", "330k_test": "round0/330k/test.jsonl.xz",
                         "30k_train": "round0/30k/train.jsonl.gz", "30k_test": "round0/30k/test.jsonl.gz"}},
            ("prompt", "response", "category", "is_safe"),
            source="hub: dataset viewer (4 splits), trees of round0/30k (.jsonl.gz) and the README configs",
            note="the 330k files' compression (.xz) is inferred from the 'Use xz compression' commit"),
    # the 2024 release: data/<generator>/{train,test}.jsonl, configs default + one per generator
    Dataset("PKU-Alignment/PKU-SafeRLHF",
            {**{"default": {s: f"data/*/{s}.jsonl" for s in ("train", "test")}},
             **{name: {s: f"data/{folder}/{s}.jsonl" for s in ("train", "test")}
                for name, folder in (("alpaca-7b", "Alpaca-7B"), ("alpaca2-7b", "Alpaca2-7B"),
                                     ("alpaca3-8b", "Alpaca3-8B"))}},
            ("prompt", "response_0", "response_1", "prompt_source", "response_0_source", "response_1_source",
             "is_response_0_safe", "is_response_1_safe", "response_0_harm_category", "response_1_harm_category",
             "response_0_severity_level", "response_1_severity_level", "better_response_id", "safer_response_id"),
            source="hub: trees of data/ and of refs/convert/parquet (configs default, alpaca-7b, alpaca2-7b, "
                   "alpaca3-8b); column names from public code reading the dataset"),
    Dataset("tatsu-lab/alpaca", {"default": {"train": "data/train-00000-of-00001-a09b74b3ef9c3b56.parquet"}},
            ("instruction", "input", "output", "text"), readme_configs=False,
            source="hub: tree of data/ and the README's dataset_info (no configs: datasets infers the split)"),
    Dataset("truthfulqa/truthful_qa",
            {"generation": {"validation": "generation/validation-00000-of-00001.parquet"},
             "multiple_choice": {"validation": "multiple_choice/validation-00000-of-00001.parquet"}},
            ("type", "category", "question", "best_answer", "correct_answers", "incorrect_answers", "source"),
            source="hub: 'Convert dataset to Parquet' commit and README dataset_info (817 rows)",
            extra={"multiple_choice": ("question", "mc1_targets", "mc2_targets")}),
]}


def model(repo_id: str) -> Model:
    from elastic.errors import ElasticError

    if repo_id not in MODELS:
        raise ElasticError(f"no catalog entry for model {repo_id!r}: add its facts to elastic/data/catalog.py")
    return MODELS[repo_id]


#: The line of ``book/reproducibility.md`` that staging replaces with :func:`markdown`.
MARKER = "% hub-catalog-table"


def _files(entry: Model) -> str:
    parts = []
    for kind, shards in (("safetensors", entry.safetensors), ("pickled .bin", entry.bin)):
        if shards:
            parts.append(f"{kind} ({shards} shard{'s' if shards > 1 else ''})" if shards > 1 else kind)
    return " + ".join(parts)


def markdown() -> str:
    """Every id with what the hub ships under it and where that was checked, for the book."""
    lines = ["| hub id | what | on the hub | checked on | not confirmed |", "|---|---|---|---|---|"]
    for entry in MODELS.values():
        what = entry.config["architectures"][0]
        lines.append(f"| `{entry.repo_id}` | {what}, {entry.tokenizer} | {_files(entry)} | {entry.source} | "
                     f"{entry.note if (entry.note or not entry.confirmed) else ''} |")
    for entry in DATASETS.values():
        splits = "; ".join(f"{name}: {', '.join(splits)}" for name, splits in entry.files.items())
        lines.append(f"| `{entry.repo_id}` | dataset ({', '.join(entry.columns)}) | {splits} | {entry.source} | "
                     f"{entry.note} |")
    return "\n".join(lines)
