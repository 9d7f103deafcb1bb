"""The training loop shared by pretraining and SFT: DeepSpeed engine, token-weighted loss,
gradient accumulation, periodic checkpoints with exact resume, tracker logging.

    trainer = CausalLMTrainer(model, examples, ParallelPlan.preset("zero3"), SFTConfig(...),
                              seed=0, ckpt_dir=out / "checkpoints", tracker=tracker, pad_id=tok.pad_token_id)
    trainer.setup()            # engine + resume from the newest complete checkpoint, if any
    losses = trainer.train()   # {step: loss} for the steps this call ran
    save_model(trainer.engine, tok, out / "model")
    trainer.cleanup()
    # or all four at once: train_and_export(trainer, tok, out / "model")

Metrics `<prefix>/loss`, `<prefix>/lr`, `<prefix>/grad_norm`, `<prefix>/tokens_per_s` go to the
tracker from rank 0 (prefix `train` by default; the pretrain stage uses `pretrain`).

Launch: in-process on CPU (one rank, env set up automatically), or under
`torchrun --nproc_per_node N` (or `deepspeed --num_gpus N --module --no_local_rank`) for several ranks.

The loss of an optimizer step is the mean over every loss-carrying token of the global batch
(all ranks, all accumulation micro-batches), not a mean of per-micro-batch means: an SFT batch
with short responses then weighs each token the same as one with long responses, and the loss
does not depend on how the batch is split over ranks and micro-batches.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from xlt.models import save_model
from xlt.train.checkpoint import load_latest_checkpoint, save_checkpoint
from xlt.train.config import ParallelPlan, TrainConfig
from xlt.train.data import IGNORE_INDEX, DataOrder, TokenExample, collate
from xlt.train.engine import (
    check_batch_layout,
    optimizer_step,
    rank,
    setup_engine,
    world_size,
)
from xlt.train.heads import head_only_at


def next_token_targets(labels_BT: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions that predict a loss-carrying token, and those tokens.

    Returns keep_BT (bool: position t predicts labels[t+1], which is not IGNORE_INDEX) and
    targets_N = the predicted labels at the kept positions, in row-major order.
    """
    next_labels_BT = F.pad(labels_BT[:, 1:], (0, 1), value=IGNORE_INDEX)
    keep_BT = next_labels_BT != IGNORE_INDEX
    return keep_BT, next_labels_BT[keep_BT]


def token_loss_sum(logits_BTV: torch.Tensor, labels_BT: torch.Tensor) -> torch.Tensor:
    """Summed next-token cross-entropy over positions whose next label is not IGNORE_INDEX
    (fp32), from logits at every position. The loop computes the same sum from logits of the
    kept positions only (see `_train_step`); this full-logits form is the reference."""
    keep_BT, targets_N = next_token_targets(labels_BT)
    return F.cross_entropy(logits_BTV[keep_BT].float(), targets_N, reduction="sum")


class CausalLMTrainer:
    """Pretraining or SFT of a causal LM on pre-tokenized examples (see module docstring)."""

    def __init__(
        self,
        model,
        examples: list[TokenExample],
        plan: ParallelPlan,
        settings: TrainConfig,
        *,
        seed: int = 0,
        ckpt_dir: str | Path,
        tracker,
        pad_id: int,
        metric_prefix: str = "train",
    ):
        model_max = model.config.max_position_embeddings
        if settings.seq_len > model_max:
            raise ValueError(
                f"sequence length {settings.seq_len} exceeds the model's "
                f"max_position_embeddings={model_max}; lower seq_len to <= {model_max}"
            )
        longest = max(len(ex.input_ids) for ex in examples)
        if longest > settings.seq_len:
            raise ValueError(
                f"an example has {longest} tokens > seq_len={settings.seq_len}; "
                "build examples with the same seq_len"
            )
        self.num_ranks = world_size()
        self.grad_accum_steps = check_batch_layout(
            settings.batch_size, settings.micro_batch_size, self.num_ranks
        )
        self.model = model
        self.examples = examples
        self.plan = plan
        self.settings = settings
        self.ckpt_dir = Path(ckpt_dir)
        self.tracker = tracker
        self.pad_id = pad_id
        self.metric_prefix = metric_prefix
        lengths = tuple(len(ex.input_ids) for ex in examples) if settings.length_grouped else None
        self.order = DataOrder(
            len(examples), settings.micro_batch_size, self.num_ranks, seed, lengths
        )
        self.engine = None
        self.step = 0  # optimizer steps done

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        s = self.settings
        self.engine = setup_engine(
            self.model,
            self.plan,
            lr=s.lr,
            micro_batch_size=s.micro_batch_size,
            grad_accum_steps=self.grad_accum_steps,
            warmup_steps=s.warmup_steps,
            total_steps=s.max_steps,
            min_lr_ratio=s.min_lr_ratio,
            weight_decay=s.weight_decay,
            grad_clip=s.grad_clip,
        )
        resumed = load_latest_checkpoint(self.engine, self.ckpt_dir)
        if resumed is not None:
            self.step, extra = resumed
            assert extra["grad_accum_steps"] == self.grad_accum_steps, (
                "resumed with a different batch layout"
            )

    # ------------------------------------------------------------------ training

    def train(self) -> dict[int, float]:
        """Run optimizer steps up to max_steps; returns {step: loss} of the steps run here."""
        assert self.engine is not None, "call setup() first"
        s = self.settings
        self.engine.train()
        losses: dict[int, float] = {}
        while self.step < s.max_steps:
            started = time.perf_counter()
            metrics = self._train_step()
            metrics["tokens_per_s"] = metrics.pop("tokens") / (time.perf_counter() - started)
            self.step += 1
            losses[self.step] = metrics["loss"]
            if rank() == 0 and (self.step % s.log_every == 0 or self.step == s.max_steps):
                named = {f"{self.metric_prefix}/{k}": v for k, v in metrics.items()}
                self.tracker.log(named, step=self.step)
            if s.save_every and (self.step % s.save_every == 0 or self.step == s.max_steps):
                self.save_checkpoint()
        return losses

    def _train_step(self) -> dict[str, float]:
        """One optimizer step over grad_accum_steps micro-batches on every rank."""
        engine, gas = self.engine, self.grad_accum_steps
        first = self.step * gas
        # Every rank can name the whole global batch, so the token count needs no communication.
        global_batch = [
            self.examples[i]
            for micro_step in range(first, first + gas)
            for r in range(self.num_ranks)
            for i in self.order.indices(micro_step, r)
        ]
        loss_tokens = sum(ex.num_loss_tokens for ex in global_batch)
        # DeepSpeed divides by gas in backward and averages gradients over ranks; undo both so
        # the gradient is that of (summed token loss / loss tokens of the global batch).
        scale = gas * self.num_ranks / max(1, loss_tokens)
        loss_sum = torch.zeros((), dtype=torch.float32)
        for micro_step in range(first, first + gas):
            batch = collate(
                [self.examples[i] for i in self.order.indices(micro_step, rank())], self.pad_id
            )
            batch = {k: v.to(engine.device) if v is not None else None for k, v in batch.items()}
            # The LM head runs only where a loss is taken (not on prompt or padding positions),
            # giving logits_NV; see xlt.train.heads for why not `logits_to_keep`.
            keep_BT, targets_N = next_token_targets(batch["labels"])
            with head_only_at(engine.module, keep_BT):
                logits_NV = engine(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    use_cache=False,
                ).logits
            micro_loss = F.cross_entropy(logits_NV.float(), targets_N, reduction="sum")
            engine.backward(micro_loss * scale)
            loss_sum += micro_loss.detach().float().cpu()
            if micro_step < first + gas - 1:
                engine.step()  # DeepSpeed counts micro-steps here; no update before the boundary
        lr = float(engine.get_lr()[0])  # the rate this update uses; the schedule steps below
        grad_norm = optimizer_step(engine)
        if self.num_ranks > 1:
            loss_sum = loss_sum.to(engine.device)
            torch.distributed.all_reduce(loss_sum)
        return {
            "loss": float(loss_sum) / max(1, loss_tokens),
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens": float(sum(len(ex.input_ids) for ex in global_batch)),
        }

    # ------------------------------------------------------------------ checkpoints, clean-up

    def save_checkpoint(self) -> Path:
        return save_checkpoint(
            self.engine,
            self.ckpt_dir,
            self.step,
            {
                "grad_accum_steps": self.grad_accum_steps,
                "data_micro_step": self.step * self.grad_accum_steps,
            },
            keep_last=self.settings.keep_last,
        )

    def cleanup(self) -> None:
        if self.engine is not None:
            self.engine.destroy()


def train_and_export(
    trainer: CausalLMTrainer, tokenizer, out_dir: str | Path, keep_checkpoints: bool = False
) -> dict[int, float]:
    """Set up (resuming if a checkpoint exists), train, write the HF model to `out_dir`.

    Checkpoints are deleted once the model is exported unless `keep_checkpoints` (at paper
    scale a ZeRO-3 checkpoint with optimizer states is ~16 bytes per parameter).
    """
    trainer.setup()
    try:
        losses = trainer.train()
        save_model(trainer.engine, tokenizer, out_dir)
    finally:
        trainer.cleanup()
    if not keep_checkpoints and rank() == 0:
        shutil.rmtree(trainer.ckpt_dir, ignore_errors=True)
    return losses
