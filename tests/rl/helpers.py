"""The constant task, a tiny model pretrained on it, and an RL runner.

Task ("return a given constant"): `def fK():\n    return` must be completed so that
`fK() == 7`. The model is pretrained on `return <digit>` with the digit uniform, so it
starts near 1/10 reward and RL has something to find.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from xlt.config import ExecutionConfig
from xlt.data.records import Problem
from xlt.generation.config import RolloutConfig
from xlt.rl.config import RLConfig
from xlt.rl.rollout import load_value_model
from xlt.rl.trainer import RLTrainer
from xlt.tracking import JsonlTracker
from xlt.train.engine import ParallelPlan

TARGET = 7
NUM_FUNCTIONS = 4


def constant_problems() -> list[Problem]:
    return [
        Problem(
            name=f"const_f{k}",
            task=f"const_f{k}",
            language="py",
            prompt=f"def f{k}():\n    return",
            tests=f"assert f{k}() == {TARGET}\n",
            stop_tokens=("\n",),
        )
        for k in range(NUM_FUNCTIONS)
    ]


def _corpus() -> list[str]:
    return [f"def f{k}():\n    return {d}" for k in range(NUM_FUNCTIONS) for d in range(10)]


def pretrain_constant_model(out: Path) -> Path:
    """A tiny Llama trained (plain torch, seconds) on the corpus, saved in HF format."""
    from xlt.models import build_tiny_model, build_tokenizer, save_model

    tokenizer = build_tokenizer(_corpus() * 5, vocab_size=300)
    # small: 2 layers x 32 wide is plenty for a one-token answer
    model = build_tiny_model(tokenizer, 32, 2, 2, 64, max_seq_len=64, seed=0)
    texts = [t for t in _corpus()]
    ids = [tokenizer(t)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
    longest = max(map(len, ids))
    input_ids = torch.full((len(ids), longest), tokenizer.pad_token_id)
    labels = torch.full((len(ids), longest), -100)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        labels[i, : len(row)] = torch.tensor(row)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(150):  # until the digit distribution is near uniform (loss ~ ln 10 / len)
        loss = model(input_ids=input_ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    save_model(model, tokenizer, out)
    return out


# Knobs shrunk for speed: 4 prompts x 8 samples, answers of a few tokens; no KL and no
# checkpoints unless a test asks (RLConfig's defaults are the micro study's).
BASE = RLConfig(
    algorithm="grpo",
    steps=16,
    prompts_per_step=4,
    group_size=8,
    micro_batch_size=8,
    lr=1e-3,
    updates_per_step=2,
    max_new_tokens=4,
    kl_coef=0.0,
    save_every=0,
)
ROLLOUT = RolloutConfig(backend="hf")
EXECUTION = ExecutionConfig(workers=2, timeout_s=10.0, cache_dir=None)
SEED = 0


def make_trainer(model_dir: Path, out: Path, rl: RLConfig, *, zero="single", tracker=None,
                 execute_async=None, rollout: RolloutConfig = ROLLOUT, problems=None,
                 chat: bool = False, execution: ExecutionConfig = EXECUTION) -> RLTrainer:  # fmt: skip
    """An RLTrainer on the constant task from `model_dir`, as the rl stage builds it."""
    from xlt.models import load_model, load_tokenizer

    value_model = load_value_model(model_dir, seed=SEED) if rl.algorithm == "ppo" else None
    reference = load_model(model_dir) if rl.needs_reference_model else None
    return RLTrainer(
        load_model(model_dir), load_tokenizer(model_dir), problems or constant_problems(), rl, rollout,
        execution, ParallelPlan.preset(zero), chat=chat, seed=SEED,
        ckpt_dir=out / "checkpoints", tracker=tracker, value_model=value_model,
        reference_model=reference, execute_async=execute_async,
    )  # fmt: skip


def run_rl(model_dir: Path, out: Path, execute_async, *, zero: str = "single", **overrides):
    """Train from `model_dir` into `out`; returns (trainer history, trainer)."""
    tracker = JsonlTracker(out / "metrics.jsonl")
    trainer = make_trainer(model_dir, out, replace(BASE, **overrides), zero=zero,
                           tracker=tracker, execute_async=execute_async)  # fmt: skip
    try:
        trainer.setup()
        history = trainer.train()
    finally:
        trainer.cleanup()
        tracker.close()
    return history, trainer
