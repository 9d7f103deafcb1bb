"""The SFT stage: supervised fine-tuning of the base model on the SFT mixture.

    python -m xlt.run +experiment=parallel_sft
    torchrun --nproc_per_node 8 -m xlt.run +experiment=parallel_sft scale=paper   # ZeRO-3, bf16

Reads the base model (`ctx.inputs["pretrain"] / "model"` at micro scale, else `model.path` /
`model.revision`: a Hub name or local folder) and `ctx.inputs["data"] / "sft.jsonl"`
(`{"prompt", "response", ...}` lines, from the mixture stage); writes the fine-tuned model and
its tokenizer in Hugging Face format to `ctx.out / "model"`.
Format: the model's chat template when `model.chat` (instruct models), plain completion
otherwise; loss on response tokens only. Checkpoints every `sft.save_every` steps under
`ctx.out / "checkpoints"`, resumed from after a crash, deleted after export.
Metrics: `train/loss`, `train/lr`, `train/grad_norm`, `train/tokens_per_s`, and
`sft/examples`, `sft/dropped`, `sft/truncated` at step 0; also kept in `ctx.out / "history.jsonl"`
for runs that reuse the stage (`xlt.tracking.history`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig

from xlt.model_config import ModelConfig
from xlt.models import load_model, load_tokenizer
from xlt.pipeline import StageContext
from xlt.stages.pretrain import _read_jsonl
from xlt.tracking.history import record_history
from xlt.train.config import ParallelPlan, SFTConfig
from xlt.train.data import build_sft_examples
from xlt.train.engine import (
    check_batch_layout,
    deepspeed_config,
    rank,
    world_size,
    zero3_model_context,
)
from xlt.train.loop import CausalLMTrainer, train_and_export

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SFTSpec:
    """Everything the SFT stage reads (the base model and mixture come as inputs)."""

    model: ModelConfig
    sft: SFTConfig
    parallelization: ParallelPlan


def run(ctx: StageContext) -> None:
    model_cfg, sft, plan = ctx.spec.model, ctx.spec.sft, ctx.spec.parallelization
    if "pretrain" in ctx.inputs:
        path, revision = Path(ctx.inputs["pretrain"]) / "model", None
    elif model_cfg.path is not None:
        path, revision = model_cfg.path, model_cfg.revision
    else:
        raise ValueError("sft: no base model: set model.path or enable the pretrain stage")

    # ---- checks that are cheap before loading billions of weights
    max_positions = AutoConfig.from_pretrained(str(path), revision=revision).max_position_embeddings
    if sft.seq_len > max_positions:
        raise ValueError(
            f"sft.seq_len={sft.seq_len} exceeds the model's max_position_embeddings="
            f"{max_positions}; set sft.seq_len <= {max_positions}"
        )
    grad_accum_steps = check_batch_layout(sft.batch_size, sft.micro_batch_size, world_size())

    # ---- model (loaded straight into ZeRO-3 shards when that plan is chosen) and data
    ds_config = deepspeed_config(
        plan,
        micro_batch_size=sft.micro_batch_size,
        grad_accum_steps=grad_accum_steps,
        grad_clip=sft.grad_clip,
    )
    with zero3_model_context(ds_config):
        model = load_model(path, revision=revision, dtype=torch.bfloat16 if plan.use_bf16 else None)
    if sft.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    tokenizer = load_tokenizer(path, revision=revision)
    records = _read_jsonl(Path(ctx.inputs["data"]) / "sft.jsonl")
    examples, counts = build_sft_examples(records, tokenizer, sft.seq_len, chat=model_cfg.chat)
    log.info("sft examples: %s", counts)

    # ---- train, export (the curves also go to the folder, for runs that reuse it)
    with record_history(ctx.tracker, ctx.out, enabled=rank() == 0) as tracker:
        if rank() == 0:
            tracker.log({f"sft/{k}": float(v) for k, v in counts.items()}, step=0)
        trainer = CausalLMTrainer(
            model,
            examples,
            plan,
            sft,
            seed=ctx.seed,
            ckpt_dir=ctx.out / "checkpoints",
            tracker=tracker,
            pad_id=tokenizer.pad_token_id,
        )
        train_and_export(trainer, tokenizer, ctx.out / "model")
