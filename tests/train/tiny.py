"""A tiny, deterministic training setting for the training tests (in-process and subprocess).

Run as a script for multi-process and kill/resume tests:
    python -m tests.train.tiny --out DIR --parallel zero3 --mode sft --steps 20
    torchrun --nproc_per_node 2 -m tests.train.tiny --out DIR --parallel zero3
Per-step losses go to DIR/log.jsonl through a JsonlTracker.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import torch

if not torch.cuda.is_available():  # on a GPU machine DeepSpeed must find CUDA (test_gpu.py)
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from xlt.models import build_tiny_model, build_tokenizer  # noqa: E402
from xlt.tracking import JsonlTracker  # noqa: E402
from xlt.train.config import TrainConfig  # noqa: E402
from xlt.train.data import build_sft_examples, pack_pretrain  # noqa: E402
from xlt.train.engine import ParallelPlan  # noqa: E402
from xlt.train.loop import CausalLMTrainer  # noqa: E402

# Shrunk for speed: hidden 32, 2 layers, vocab 300, sequences of 32 tokens.
VOCAB_SIZE = 300
SEQ_LEN = 32


def corpus() -> list[str]:
    """Small code-like documents in two syntaxes, deterministic."""
    docs = []
    for i in range(60):
        docs.append(f"def add_{i}(x):\n    return x + {i}\n")
        docs.append(f"local function mul_{i}(a)\n  return a * {i % 7}\nend\n")
    return docs


def sft_records() -> list[dict]:
    return [
        {"prompt": f"# add {i} to x\ndef add_{i}(x):\n", "response": f"    return x + {i}\n"}
        for i in range(48)
    ]


def tokenizer():
    return build_tokenizer(corpus(), VOCAB_SIZE)


def model(tok, seed: int = 0):
    return build_tiny_model(
        tok,
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        intermediate_size=64,
        max_seq_len=64,
        seed=seed,
    )


def examples(tok, mode: str):
    if mode == "pretrain":
        return pack_pretrain(corpus(), tok, SEQ_LEN)
    return build_sft_examples(sft_records(), tok, SEQ_LEN)[0]


def settings(steps: int, save_every: int = 0, batch_size: int = 4, micro_batch_size: int = 2):
    return TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        micro_batch_size=micro_batch_size,
        seq_len=SEQ_LEN,
        lr=3e-3,
        warmup_steps=min(2, steps),
        save_every=save_every,
        keep_last=2,
    )


class KillingTracker(JsonlTracker):
    """Logs, then SIGKILLs its own process after logging `kill_at_step`: a crash mid-run."""

    def __init__(self, path, kill_at_step: int):
        super().__init__(path)
        self.kill_at_step = kill_at_step

    def log(self, metrics, step):
        super().log(metrics, step)
        if step == self.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parallel", default="single")
    parser.add_argument("--mode", default="sft", choices=["sft", "pretrain"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--save-every", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--micro-batch-size", type=int, default=2)
    parser.add_argument("--kill-at-step", type=int, default=0)
    args = parser.parse_args()

    tok = tokenizer()
    log = args.out / f"log_rank{os.environ.get('RANK', '0')}.jsonl"
    tracker = KillingTracker(log, args.kill_at_step) if args.kill_at_step else JsonlTracker(log)
    trainer = CausalLMTrainer(
        model(tok),
        examples(tok, args.mode),
        ParallelPlan.preset(args.parallel),
        settings(args.steps, args.save_every, args.batch_size, args.micro_batch_size),
        ckpt_dir=args.out / "checkpoints",
        tracker=tracker,
        pad_id=tok.pad_token_id,
    )
    trainer.setup()
    trainer.train()
    trainer.cleanup()
    tracker.close()


if __name__ == "__main__":
    main()
