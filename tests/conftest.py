"""Test defaults: offline, no W&B network, quiet DeepSpeed accelerator probe on CPU machines.

`DS_ACCELERATOR=cpu` is set only where CUDA is absent: on a GPU machine it would force
DeepSpeed onto its CPU accelerator and the `gpu`-marked tests would not test the GPU.
"""

import os

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
if not torch.cuda.is_available():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
