"""Every training path once, for tests/test_progress.py: a lean and a trl SFT run, a DPO run, a save
and a load, a batched generation. ``--verbose`` turns the flag on first, as the CLI does."""

import sys
from pathlib import Path

from elastic import progress

if "--verbose" in sys.argv:
    progress.set_verbose(True)

import torch  # noqa: E402

from elastic import config, models, train  # noqa: E402

torch.set_num_threads(1)
out = Path(sys.argv[1])
texts = [f"the cat sat on mat {i}." for i in range(8)]
args = {**config.trainer_args("smoke"), "logging_steps": 1}
tok = models.byte_tokenizer()
for backend in train.BACKENDS:
    fields = {"backend": backend, "padding_free": backend == "lean"}
    model = train.sft(models.tiny_model(tok), tok, texts, output_dir=out / backend, args={**args, **fields})
train.dpo(model, tok, ["a:"] * 4, [" no."] * 4, [" yes."] * 4, output_dir=out / "dpo", args={**args, "beta": 0.1})
models.load_model(out / "lean", device="cpu")
models.generate(model, tok, ["the"] * 4, max_new_tokens=2, batch_size=1)
print("done")
