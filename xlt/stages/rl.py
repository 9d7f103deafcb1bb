"""The rl stage: GRPO or PPO on the source language's problems, rewarded by execution.

    python -m xlt.run +experiment=parallel_sft rl=grpo rl.source_language=py   # micro, CPU
    deepspeed --num_gpus 8 -m xlt.run +experiment=parallel_sft scale=paper     # vLLM, ZeRO-3

Inputs: `ctx.inputs["sft"] / "model"` (the SFT or pretrained checkpoint; without it,
`model.path`) and `ctx.inputs["data"] / "rl.jsonl"` (`rl_oracle.jsonl` for oracle runs),
filtered to `rl.source_language`. Output: the trained model in `ctx.out / "model"` (HF
format); checkpoints in `ctx.out / "checkpoints"`, from which an interrupted stage resumes.
Metrics go to `ctx.tracker` every step (`rl/*`, `exec/<lang>/<status>_frac`, `time/*`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from xlt.config import RLConfig
from xlt.data.records import Problem
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.model_config import ModelConfig
from xlt.pipeline import StageContext
from xlt.rl.rollout import load_value_model
from xlt.rl.trainer import RLSettings, RLTrainer
from xlt.train.config import ParallelPlan
from xlt.train.engine import rank


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


def settings_of(cfg, seed: int) -> RLSettings:
    rl, rollout, execution = cfg.rl, cfg.rollout, cfg.execution
    return RLSettings(
        algorithm=rl.algorithm,
        steps=rl.steps,
        prompts_per_step=rl.prompts_per_step,
        group_size=rl.group_size,
        micro_batch_size=rl.micro_batch_size,
        lr=rl.lr,
        updates_per_step=rl.updates_per_step,
        clip_low=rl.clip_low,
        clip_high=rl.clip_high,
        scale_by_std=rl.scale_by_std,
        filter_zero_std_groups=rl.filter_zero_std_groups,
        kl_coef=rl.kl_coef,
        reward=rl.reward,
        max_new_tokens=rl.max_new_tokens,
        temperature=rl.temperature,
        top_p=rl.top_p,
        value_lr=rl.value_lr,
        gamma=rl.gamma,
        gae_lambda=rl.gae_lambda,
        value_clip=rl.value_clip,
        chat=cfg.model.chat,
        rollout_backend=rollout.backend,
        generation_batch_size=rollout.batch_size,
        vllm_gpu_memory_utilization=rollout.gpu_memory_utilization,
        exec_workers=execution.workers or None,
        exec_cache_dir=execution.cache_dir,
        exec_timeout_s=execution.timeout_s,
        save_every=rl.save_every,
        keep_last=rl.keep_last,
        seed=seed,
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

    cfg = ctx.spec
    preflight(cfg)
    model_dir = ctx.inputs["sft"] / "model" if "sft" in ctx.inputs else cfg.model.path
    revision = None if "sft" in ctx.inputs else cfg.model.revision
    problems = load_problems(ctx.inputs["data"], cfg.rl.source_language, cfg.rl.oracle)
    plan = cfg.parallelization
    settings = settings_of(cfg, ctx.seed)
    if settings.rollout_backend == "vllm":
        settings = RLSettings(**{**vars(settings), "vllm_model_path": str(model_dir)})

    # Under ZeRO-3 big models are built straight into shards (no full copy per rank).
    ds_config = deepspeed_config(
        plan, micro_batch_size=settings.micro_batch_size, grad_accum_steps=1, grad_clip=1.0
    )
    with zero3_model_context(ds_config):
        tokenizer = load_tokenizer(model_dir, revision=revision)
        policy = load_model(model_dir, revision=revision)
        reference = (
            load_model(model_dir, revision=revision) if cfg.rl.needs_reference_model else None
        )
        value_model = None
        if settings.algorithm == "ppo":  # critic initialised from the policy, fresh scalar head
            value_model = load_value_model(model_dir, revision=revision, seed=ctx.seed)
    trainer = RLTrainer(
        policy, tokenizer, problems, settings, plan,
        ckpt_dir=ctx.out / "checkpoints", tracker=ctx.tracker,
        value_model=value_model, reference_model=reference,
    )  # fmt: skip
    try:
        trainer.setup()
        trainer.train()
        save_model(trainer.engine, tokenizer, ctx.out / "model")
    finally:
        trainer.cleanup()
    if rank() == 0:  # the model folder is the output; optimizer states are large
        shutil.rmtree(ctx.out / "checkpoints", ignore_errors=True)
