"""The pretrain stage: a tiny Llama and its BPE tokenizer trained from scratch on the corpus.

    python -m xlt.run +experiment=parallel_sft          # micro scale runs it before SFT
    torchrun --nproc_per_node 2 -m xlt.run +experiment=parallel_sft parallelization=zero3

Reads `ctx.inputs["data"] / "corpus.jsonl"` (`{"text", "language"}` lines), writes the model and
tokenizer in Hugging Face format to `ctx.out / "model"`. Micro scale only: it stands in for the
paper's pretrained LLM, so low-resource languages are rare in the corpus, as on the web.
Checkpoints go to `ctx.out / "checkpoints"` every `pretrain.save_every` steps; an interrupted run
resumes from the newest one; they are deleted once the model is written.
Metrics: `pretrain/loss`, `pretrain/lr`, `pretrain/grad_norm`, `pretrain/tokens_per_s`, also kept in
`ctx.out / "history.jsonl"` for runs that reuse the stage (`xlt.tracking.history`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xlt.model_config import ModelConfig
from xlt.models import build_tiny_model, build_tokenizer
from xlt.pipeline import StageContext
from xlt.tracking.history import record_history
from xlt.train.config import ParallelPlan, PretrainConfig
from xlt.train.data import pack_pretrain
from xlt.train.engine import rank
from xlt.train.loop import CausalLMTrainer, train_and_export


@dataclass(frozen=True)
class PretrainSpec:
    """Everything the pretrain stage reads (the corpus comes as its `data` input)."""

    model: ModelConfig
    pretrain: PretrainConfig
    parallelization: ParallelPlan


def run(ctx: StageContext) -> None:
    model_cfg, pre = ctx.spec.model, ctx.spec.pretrain
    texts = [record["text"] for record in _read_jsonl(Path(ctx.inputs["data"]) / "corpus.jsonl")]

    # ---- tokenizer and model from scratch (deterministic: every rank builds the same ones)
    tokenizer = build_tokenizer(texts, model_cfg.vocab_size)
    model = build_tiny_model(
        tokenizer,
        hidden_size=model_cfg.hidden_size,
        num_layers=model_cfg.num_layers,
        num_heads=model_cfg.num_heads,
        intermediate_size=model_cfg.intermediate_size,
        max_seq_len=model_cfg.max_seq_len,
        seed=ctx.seed,
    )

    # ---- data: documents packed into fixed-length blocks
    examples = pack_pretrain(texts, tokenizer, pre.seq_len)

    # ---- train, export (the curves also go to the folder, for runs that reuse it)
    with record_history(ctx.tracker, ctx.out, enabled=rank() == 0) as tracker:
        trainer = CausalLMTrainer(
            model,
            examples,
            ctx.spec.parallelization,
            pre,
            seed=ctx.seed,
            ckpt_dir=ctx.out / "checkpoints",
            tracker=tracker,
            pad_id=tokenizer.pad_token_id,
            metric_prefix="pretrain",
        )
        train_and_export(trainer, tokenizer, ctx.out / "model")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
