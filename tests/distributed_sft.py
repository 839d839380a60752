"""A tiny SFT run for `accelerate launch` (used by tests/test_train.py): every process trains the
same tiny model on its share of the batches and writes the SHA-256 of its final weights to
``<output_dir>/weights-rank<k>.txt``, so the test can check that the processes end identical."""

import hashlib
import sys
from pathlib import Path

import torch

from elastic import config, models, train

torch.set_num_threads(1)
output_dir = Path(sys.argv[1])
tokenizer = models.byte_tokenizer()
texts = [f"the cat sat on mat {i}." for i in range(16)]
args = {**config.trainer_args("smoke"), "per_device_train_batch_size": 2, "disable_tqdm": True, "backend": "trl",
        "padding_free": False}
model = train.sft(models.tiny_model(tokenizer), tokenizer, texts, output_dir=output_dir, args=args, n_slices=2)
digest = hashlib.sha256()
for name, tensor in sorted(model.state_dict().items()):
    digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
(output_dir / f"weights-rank{rank}.txt").write_text(digest.hexdigest())
