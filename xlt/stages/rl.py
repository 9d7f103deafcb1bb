"""The rl stage: GRPO or PPO on the source language's problems, rewarded by execution.

    python -m xlt.run +experiment=parallel_sft rl=grpo rl.source_language=py   # micro, CPU
    torchrun --nproc_per_node 8 -m xlt.run +experiment=parallel_sft scale=paper     # vLLM, ZeRO-3

Inputs: `ctx.inputs["sft"] / "model"` (the SFT or pretrained checkpoint; without it,
`model.path`) and `ctx.inputs["data"] / "rl.jsonl"` (`rl_oracle.jsonl` for oracle runs),
filtered to `rl.source_language`. Output: the trained model in `ctx.out / "model"` (HF
format); checkpoints in `ctx.out / "checkpoints"`, from which an interrupted stage resumes.
Metrics go to `ctx.tracker` every step (`rl/*`, `exec/<lang>/<status>_frac`, `time/*`), and to
`ctx.out / "history.jsonl"` for runs that reuse the stage (`xlt.tracking.history`).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from xlt.data.records import Problem
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.model_config import ModelConfig
from xlt.pipeline import StageContext
from xlt.rl.config import RLConfig
from xlt.rl.rollout import load_value_model
from xlt.rl.trainer import RLTrainer
from xlt.tracking.history import record_history
from xlt.train.config import ParallelPlan
from xlt.train.engine import rank

log = logging.getLogger(__name__)
# Reduced over ranks by the trainer, so every rank logs the same values each step.
LOGGED_ON_EVERY_RANK = ("rl/reward_mean", "rl/policy_loss", "rl/entropy", "rl/grad_norm")


def preflight(cfg) -> None:
    """Checks that need the machine, run before any work: the source toolchain exists."""
    from xlt.execution.toolchains import resolve
    from xlt.languages import get_language

    toolchain = resolve(get_language(cfg.rl.source_language))
    if not toolchain.present:
        raise ValueError(
            f"rl.source_language={cfg.rl.source_language!r}: toolchain missing "
            f"({', '.join(toolchain.missing)}); install it (`python -m xlt.doctor` lists them) "
            "or choose another source language"
        )


# A value LR above this on a critic of more than a billion parameters is a micro-scale value
# left in place (rl.value_lr 1e-3 trains a 200k-parameter critic); verl and OpenRLHF train
# 7-8B critics at 1e-5 and 9e-6.
MAX_BIG_CRITIC_VALUE_LR = 1e-4


def check_critic(rl, policy, value_model) -> None:
    """The critic reads the policy's token ids, and a billion-parameter critic gets an LR
    meant for one."""
    if value_model.config.vocab_size != policy.config.vocab_size:
        raise ValueError(
            f"rl.critic_path={rl.critic_path!r} has a vocabulary of "
            f"{value_model.config.vocab_size}, the policy {policy.config.vocab_size}: the critic "
            "must share the policy's tokenizer (e.g. Llama-3.2-1B for Llama-3.1-8B)"
        )
    # ZeRO-3 leaves each rank a shard; ds_numel is DeepSpeed's full size of a parameter
    size = sum(getattr(p, "ds_numel", p.numel()) for p in value_model.parameters())
    if size > 1e9 and rl.value_lr > MAX_BIG_CRITIC_VALUE_LR:
        raise ValueError(
            f"rl.value_lr={rl.value_lr} for a critic of {size / 1e9:.1f}B parameters; the "
            f"micro-scale value diverges at this size: set rl.value_lr <= "
            f"{MAX_BIG_CRITIC_VALUE_LR} (1e-5 is verl's and OpenRLHF's), or a smaller critic "
            "with rl.critic_path"
        )


def load_problems(data_dir: Path, language: str, oracle: bool) -> list[Problem]:
    path = Path(data_dir) / ("rl_oracle.jsonl" if oracle else "rl.jsonl")
    with path.open(encoding="utf-8") as f:
        problems = [Problem.from_dict(json.loads(line)) for line in f if line.strip()]
    problems = [p for p in problems if p.language == language]
    if not problems:
        raise ValueError(f"{path} has no problems in rl.source_language={language!r}")
    return problems


@dataclass(frozen=True)
class RLSpec:
    """Everything the rl stage reads (the starting checkpoint and problems come as inputs)."""

    model: ModelConfig  # chat template or not; path/revision when there is no sft input
    rl: RLConfig
    rollout: RolloutConfig
    execution: ExecutionConfig
    parallelization: ParallelPlan


def run(ctx: StageContext) -> None:
    from xlt.models import load_model, load_tokenizer, save_model
    from xlt.train.engine import deepspeed_config, zero3_model_context

    cfg: RLSpec = ctx.spec
    rl = cfg.rl
    preflight(cfg)
    model_dir = ctx.inputs["sft"] / "model" if "sft" in ctx.inputs else cfg.model.path
    revision = None if "sft" in ctx.inputs else cfg.model.revision
    problems = load_problems(ctx.inputs["data"], rl.source_language, rl.oracle)
    plan = cfg.parallelization

    # Under ZeRO-3 big models are built straight into shards (no full copy per rank).
    ds_config = deepspeed_config(
        plan, micro_batch_size=rl.micro_batch_size, grad_accum_steps=1, grad_clip=rl.grad_clip
    )
    with zero3_model_context(ds_config):
        tokenizer = load_tokenizer(model_dir, revision=revision)
        policy = load_model(model_dir, revision=revision)
        reference = load_model(model_dir, revision=revision) if rl.needs_reference_model else None
        value_model = None
        if rl.algorithm == "ppo":  # critic from the policy (or rl.critic_path), fresh scalar head
            critic_dir = rl.critic_path or model_dir
            critic_revision = None if rl.critic_path else revision
            value_model = load_value_model(critic_dir, revision=critic_revision, seed=ctx.seed)
            check_critic(rl, policy, value_model)
    # The curves also go to the folder, for runs that reuse it.
    with record_history(ctx.tracker, ctx.out, enabled=rank() == 0) as tracker:
        trainer = RLTrainer(
            policy, tokenizer, problems, rl, cfg.rollout, cfg.execution, plan,
            chat=cfg.model.chat, seed=ctx.seed, ckpt_dir=ctx.out / "checkpoints",
            tracker=tracker, vllm_model_path=str(model_dir), value_model=value_model,
            reference_model=reference,
        )  # fmt: skip
        try:
            trainer.setup()
            for step, metrics in enumerate(trainer.train(), start=1):
                # every rank logs the all-reduced metrics: the ranks of a launch must agree
                log.info(
                    "rl step %d: %s", step, {k: round(metrics[k], 6) for k in LOGGED_ON_EVERY_RANK}
                )
            save_model(trainer.engine, tokenizer, ctx.out / "model")
        finally:
            trainer.cleanup()
    if rank() == 0:  # the model folder is the output; optimizer states are large
        shutil.rmtree(ctx.out / "checkpoints", ignore_errors=True)
