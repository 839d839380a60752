"""Run by :func:`elastic.rehearse.accelerate_configs` under ``accelerate launch``: a tiny SFT run,
then one line per process saying what accelerate and torch.distributed made of the config."""

import os
import sys
from pathlib import Path

import torch

from elastic import models, train

torch.set_num_threads(1)
tokenizer = models.byte_tokenizer()
texts = [f"the cat sat on mat {i}." for i in range(8)]
args = {"backend": "trl", "per_device_train_batch_size": 2, "max_length": 32, "learning_rate": 1e-3, "num_train_epochs": 1,
        "disable_tqdm": True, "save_strategy": "no", "logging_steps": 10_000}
model = train.sft(models.tiny_model(tokenizer, n_layer=1, d_model=16, n_head=2), tokenizer, texts,
                  output_dir=Path(sys.argv[1]), args=args)
from accelerate import PartialState  # noqa: E402 - after training, the state the trainer set up

state = PartialState()
world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
print(f"rank {rank} of {world} trained; accelerate ran it as {state.distributed_type.name} "
      f"(the config asked for {'FSDP' if os.environ.get('ACCELERATE_USE_FSDP') == 'true' else 'DeepSpeed' if os.environ.get('ACCELERATE_USE_DEEPSPEED') == 'true' else 'no sharding'})")
