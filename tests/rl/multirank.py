"""Short GRPO and PPO runs on the constant task, to compare one rank with several.

    torchrun --nproc_per_node 2 -m tests.rl.multirank --model DIR --out DIR [--zero single]

The settings are fixed here (`SETTINGS`), so runs on any number of ranks share the global
batch. For each algorithm, rank 0 writes OUT/<algorithm>/metrics.jsonl (every step's
metrics as logged), start.pt and end.pt (the policy's, and PPO's critic's, parameters
before step 1 and after the last step); every rank writes OUT/<algorithm>/rank<r>.json:
the token ids it sampled per step and prompt, and its reward pool's worker count. Rewards
come from the real execution engine, with a result cache of the run's own (nothing reused
from another run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.rl.helpers import BASE, make_trainer  # noqa: E402
from xlt.execution.config import ExecutionConfig  # noqa: E402
from xlt.tracking import JsonlTracker, NullTracker  # noqa: E402
from xlt.train.engine import rank  # noqa: E402

# 3 steps of 4 prompts x 8 samples, 2 optimizer steps each (so ratios move off 1): on 2
# ranks each update's 2 prompts are split 1 + 1. Micro-batches of 4 rows: one rank
# accumulates 4 per update, each of two ranks 2, so gradients are summed in another order.
# Temperature 2: at 1 the pretrained model always answers in 2 tokens (digit, EOS), and
# ranks holding equal token counts would hide a mean of per-rank token means; at 2 about
# one answer in 8 runs on. GRPO keeps a KL reference (its loss term and metric are reduced
# too).
COMMON = dict(steps=3, micro_batch_size=4, temperature=2.0)
SETTINGS = {
    "grpo": replace(BASE, algorithm="grpo", kl_coef=0.05, **COMMON),
    "ppo": replace(BASE, algorithm="ppo", kl_coef=0.0, **COMMON),
}


def run(algorithm: str, model_dir: Path, out: Path, zero: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tracker = JsonlTracker(out / "metrics.jsonl") if rank() == 0 else NullTracker()
    # workers=0: each rank sizes its own pool (the path under test); a fresh result cache
    execution = ExecutionConfig(workers=0, timeout_s=10.0, cache_dir=str(out / "exec_cache"))
    trainer = make_trainer(model_dir, out, SETTINGS[algorithm], zero=zero, tracker=tracker,
                           execution=execution)  # fmt: skip
    samples: dict[str, dict[str, list[list[int]]]] = {}
    try:
        trainer.setup()
        _record_samples(trainer, samples)
        _save_parameters(trainer, out / "start.pt", zero == "zero3")
        trainer.train()
        _save_parameters(trainer, out / "end.pt", zero == "zero3")
    finally:
        trainer.cleanup()
        tracker.close()
    record = {"reward_workers": trainer.reward_workers, "samples": samples}
    (out / f"rank{rank()}.json").write_text(json.dumps(record))


def _record_samples(trainer, samples) -> None:
    """Wrap the generator: keep the token ids of each prompt's samples, per step."""
    generate = trainer.generator.generate

    def recording(prompts, params):
        completions = generate(prompts, params)
        for prompt, group in zip(prompts, completions, strict=True):
            step = samples.setdefault(str(trainer.step + 1), {})
            assert prompt not in step, "the constant task's steps hold each prompt once"
            step[prompt] = [list(c.token_ids) for c in group]
        return completions

    trainer.generator.generate = recording


def _save_parameters(trainer, path: Path, zero3: bool) -> None:
    """Full parameters of the policy (and critic) on rank 0; gathered on all ranks under ZeRO-3."""
    models = {"policy": trainer.engine.module}
    if trainer.value_engine is not None:
        models["critic"] = trainer.value_engine.module
    params = {f"{name}.{key}": p for name, model in models.items()
              for key, p in model.named_parameters()}  # fmt: skip
    with _gathered(list(params.values()), zero3):
        full = {key: p.detach().clone().cpu() for key, p in params.items()}
    if rank() == 0:
        torch.save(full, path)


def _gathered(params, zero3: bool):
    if not zero3:
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(params, modifier_rank=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--zero", default="single")
    parser.add_argument("--algorithms", nargs="+", default=list(SETTINGS))
    args = parser.parse_args()
    for algorithm in args.algorithms:
        run(algorithm, args.model, args.out / algorithm, args.zero)


if __name__ == "__main__":
    main()
