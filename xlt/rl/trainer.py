"""GRPO and PPO on code problems with execution rewards, on DeepSpeed (ZeRO 0-3).

    trainer = RLTrainer(policy, tokenizer, problems, RLSettings(algorithm="grpo", ...),
                        ParallelPlan.preset("zero3"), ckpt_dir=out / "checkpoints",
                        tracker=tracker, value_model=None, reference_model=None)
    trainer.setup()     # engines, rollout backend, resume from the newest checkpoint
    trainer.train()     # rollout -> reward -> update -> checkpoint, every step
    save_model(trainer.engine, tokenizer, out / "model"); trainer.cleanup()

Launch: in-process on CPU (one rank), or under `torchrun`/`deepspeed` for several ranks;
each rank then samples its own slice of the step's prompts (whole groups) and gradients
are averaged over all tokens of all ranks. Deviations from the papers are listed in
docs/rl.md (no re-sampling to refill filtered groups; KL as a loss term in PPO too).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from xlt.generation import HFGenerator, SamplingParams
from xlt.rl import algos
from xlt.rl.rewards import score_async, status_metrics
from xlt.rl.rollout import (
    Batch,
    build_batch,
    policy_forward,
    prompt_of,
    step_problem_indices,
    stops_of,
    value_forward,
)
from xlt.train.checkpoint import (
    DONE_MARKER,
    load_latest_checkpoint,
    save_checkpoint,
    step_dir_name,
)
from xlt.train.engine import (
    ParallelPlan,
    deepspeed_config,
    ensure_distributed_env,
    optimizer_step,
    rank,
    setup_engine,
    world_size,
)


@dataclass(frozen=True)
class RLSettings:
    algorithm: str  # grpo | ppo
    steps: int
    prompts_per_step: int  # over all ranks
    group_size: int  # samples per prompt
    micro_batch_size: int  # sequences per forward/backward pass per rank
    lr: float
    updates_per_step: int = 1  # optimizer steps per rollout batch (mini-batches)
    clip_low: float = 0.2
    clip_high: float = 0.28
    scale_by_std: bool = True
    filter_zero_std_groups: bool = False
    kl_coef: float = 0.0
    reward: str = "binary"
    max_new_tokens: int = 96
    temperature: float = 1.0
    top_p: float = 1.0
    value_lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    value_clip: float = 0.2
    grad_clip: float = 1.0
    chat: bool = False  # chat template, answer prefilled with a fence and the prompt
    rollout_backend: str = "hf"  # hf | vllm
    generation_batch_size: int = 64  # sequences per HF generate call
    vllm_model_path: str | None = None  # what vLLM loads first (weights are pushed every step)
    vllm_gpu_memory_utilization: float = 0.4
    exec_workers: int | None = None
    exec_cache_dir: str | None = None
    exec_timeout_s: float | None = None
    save_every: int = 0  # RL steps between checkpoints; 0: none
    keep_last: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.algorithm not in ("grpo", "ppo"):
            raise ValueError(f"algorithm={self.algorithm!r}; use grpo or ppo")
        if self.algorithm == "grpo" and self.group_size < 2:
            raise ValueError("GRPO needs group_size >= 2: its advantages compare a group's samples")
        if self.filter_zero_std_groups and self.algorithm != "grpo":
            raise ValueError("filter_zero_std_groups applies to GRPO's group advantages only")
        if self.rollout_backend == "vllm" and not self.vllm_model_path:
            raise ValueError("rollout backend vllm needs vllm_model_path (the checkpoint to load)")
        if self.algorithm == "ppo" and self.keep_last < 2:
            raise ValueError("PPO checkpoints two engines; keep_last must be >= 2 to resume safely")


class RLTrainer:
    """Set-up, then rollout -> reward -> update -> checkpoint per step (see module docstring)."""

    def __init__(
        self,
        policy,
        tokenizer,
        problems,
        settings: RLSettings,
        plan: ParallelPlan,
        *,
        ckpt_dir: str | Path,
        tracker,
        value_model=None,
        reference_model=None,
        execute_async=None,
    ):
        s = settings
        if (s.algorithm == "ppo") != (value_model is not None):
            raise ValueError("PPO needs a value_model and GRPO takes none")
        if (s.kl_coef > 0) != (reference_model is not None):
            raise ValueError("a reference_model is needed exactly when kl_coef > 0")
        self.num_ranks = world_size()
        if s.prompts_per_step % self.num_ranks:
            raise ValueError(
                f"prompts_per_step={s.prompts_per_step} must divide over {self.num_ranks} ranks"
            )
        self.rows_per_rank = s.prompts_per_step // self.num_ranks * s.group_size
        per_update = s.updates_per_step * s.micro_batch_size
        if self.rows_per_rank % per_update:
            raise ValueError(
                f"each rank's {self.rows_per_rank} samples per step must split into "
                f"updates_per_step={s.updates_per_step} x micro_batch_size={s.micro_batch_size}"
            )
        self.grad_accum_steps = self.rows_per_rank // per_update
        self.policy, self.value_model, self.reference_model = policy, value_model, reference_model
        self.tokenizer, self.problems, self.settings, self.plan = tokenizer, problems, s, plan
        self.ckpt_dir, self.tracker, self.execute_async = Path(ckpt_dir), tracker, execute_async
        self.pad_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
        self.engine = self.value_engine = self.reference = self.generator = None
        self.step = 0  # RL steps done

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        s, total = self.settings, self.settings.steps * self.settings.updates_per_step
        common = dict(
            micro_batch_size=s.micro_batch_size, grad_accum_steps=self.grad_accum_steps,
            total_steps=total, min_lr_ratio=1.0, grad_clip=s.grad_clip,
        )  # fmt: skip
        self.engine = setup_engine(self.policy, self.plan, lr=s.lr, **common)
        if self.value_model is not None:
            self.value_engine = setup_engine(self.value_model, self.plan, lr=s.value_lr, **common)
        if self.reference_model is not None:
            self.reference = self._frozen_engine(self.reference_model)
        if s.rollout_backend == "vllm":
            from xlt.generation.vllm import VLLMGenerator

            self.generator = VLLMGenerator(
                s.vllm_model_path, seed=s.seed, gpu_memory_utilization=s.vllm_gpu_memory_utilization
            )
        else:
            self.generator = HFGenerator(
                self.engine.module, self.tokenizer, batch_size=s.generation_batch_size,
                synced_gpus=self.num_ranks > 1 and self.plan.zero_stage == 3,
            )  # fmt: skip
        resumed = load_latest_checkpoint(self.engine, self.ckpt_dir / "policy")
        if resumed is not None:
            self.step, _ = resumed
            if self.value_engine is not None:
                self._load_critic(self.step)

    def _load_critic(self, step: int) -> None:
        """The critic's checkpoint of the policy's step; it is saved before the policy's, so
        a missing or unreadable one means the checkpoint folder is damaged: raise, never go on
        with a fresh critic."""
        folder = self.ckpt_dir / "value" / step_dir_name(step)
        if not (folder / DONE_MARKER).exists():
            raise RuntimeError(
                f"the policy checkpoint of step {step} has no complete critic checkpoint at "
                f"{folder}; PPO cannot resume without it: delete {self.ckpt_dir} to start over"
            )
        try:
            load_path, _ = self.value_engine.load_checkpoint(
                str(folder.parent), tag=folder.name,
                load_optimizer_states=True, load_lr_scheduler_states=True,
            )  # fmt: skip
        except Exception as error:  # DeepSpeed asserts (bare) when the weights file is gone
            raise RuntimeError(
                f"could not load the critic checkpoint in {folder}: {error!r}"
            ) from error
        if load_path is None:
            raise RuntimeError(f"DeepSpeed could not load the critic checkpoint in {folder}")

    def _frozen_engine(self, model):
        """The KL reference: no optimizer; sharded like the policy only under ZeRO-3."""
        import deepspeed

        ensure_distributed_env()
        plan = self.plan if self.plan.zero_stage == 3 else ParallelPlan(bf16=self.plan.bf16)
        config = deepspeed_config(plan, micro_batch_size=self.settings.micro_batch_size,
                                  grad_accum_steps=1, grad_clip=0.0)  # fmt: skip
        engine, *_ = deepspeed.initialize(model=model, config=config)
        engine.eval()
        return engine

    # ------------------------------------------------------------------ training

    def train(self) -> list[dict[str, float]]:
        """Run RL steps up to `settings.steps`; returns the metrics of the steps run here."""
        assert self.engine is not None, "call setup() first"
        s, history = self.settings, []
        while self.step < s.steps:
            started = time.perf_counter()

            # ---- rollout: this rank's prompts, group_size samples each
            indices = step_problem_indices(
                len(self.problems), s.prompts_per_step, self.step, s.seed
            )
            per_rank = s.prompts_per_step // self.num_ranks
            problems = [
                self.problems[i] for i in indices[rank() * per_rank : (rank() + 1) * per_rank]
            ]
            prompts = [prompt_of(p, self.tokenizer, s.chat) for p in problems]
            params = SamplingParams(
                max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
                n=s.group_size, stop=stops_of(problems, s.chat), logprobs=True,
                seed=(s.seed * 1_000_003 + self.step) * 1009 + rank(),
            )  # fmt: skip
            completions = self._generate(prompts, params)
            generated = time.perf_counter()

            # ---- reward: run every sample's program
            flat_problems = [p for p in problems for _ in range(s.group_size)]
            codes = [c.text for cs in completions for c in cs]  # continuations, cut at stops
            rewards, results = asyncio.run(
                score_async(
                    flat_problems, codes, kind=s.reward, workers=s.exec_workers,
                    cache_dir=s.exec_cache_dir, timeout_s=s.exec_timeout_s,
                    execute_async=self.execute_async,
                )
            )  # fmt: skip
            rewarded = time.perf_counter()

            # ---- update
            batch = build_batch(self.tokenizer, prompts, completions, rewards, self.pad_id)
            metrics = self._update(batch)
            self.step += 1
            updated = time.perf_counter()

            # ---- metrics, checkpoint
            metrics.update(status_metrics([p.language for p in flat_problems], results))
            metrics.update(
                {
                    "rl/frac_truncated": _mean(
                        [c.finish_reason == "length" for cs in completions for c in cs]
                    ),
                    "time/generate_s": generated - started,
                    "time/reward_s": rewarded - generated,
                    "time/update_s": updated - rewarded,
                    "time/step_s": updated - started,
                }
            )
            metrics = _reduce_over_ranks(metrics, self.engine.device)
            metrics["time/reward_frac"] = metrics["time/reward_s"] / metrics["time/step_s"]
            if rank() == 0:
                self.tracker.log(metrics, step=self.step)
            history.append(metrics)
            if s.save_every and self.step % s.save_every == 0:
                self.save_checkpoint()
        return history

    def _generate(self, prompts, params):
        if self.settings.rollout_backend == "vllm":
            self.generator.wake_up()
            self.generator.push_weights(self.engine.module)
            completions = self.generator.generate(prompts, params)
            self.generator.sleep()
            return completions
        with _gathered(self.engine.module, self.plan.zero_stage == 3):
            return self.generator.generate(prompts, params)

    def _update(self, batch: Batch) -> dict[str, float]:
        """Advantages from the rollout, then `updates_per_step` optimizer steps."""
        s, mbs = self.settings, self.settings.micro_batch_size
        mask_BL = batch.response_mask_BL

        # the policy that sampled (recomputed here, not the generator's log-probs), the
        # reference and the critic, without gradients
        old_logp, ref_logp, old_values = [], [], []
        with torch.no_grad():
            for start in range(0, batch.num_sequences, mbs):
                rows = self._rows(batch, start, start + mbs)
                old_logp.append(
                    policy_forward(
                        self.engine, rows["input_ids_BL"], rows["attention_mask_BL"], s.temperature
                    )[0]
                )
                if self.reference is not None:
                    ref_logp.append(
                        policy_forward(
                            self.reference,
                            rows["input_ids_BL"],
                            rows["attention_mask_BL"],
                            s.temperature,
                        )[0]
                    )
                if self.value_engine is not None:
                    old_values.append(
                        value_forward(
                            self.value_engine, rows["input_ids_BL"], rows["attention_mask_BL"]
                        )
                    )
        old_logp_BL = torch.cat(old_logp).cpu()
        metrics = {
            "rl/reward_mean": float(batch.rewards_B.mean()),
            "rl/reward_std": float(batch.rewards_B.std()) if batch.num_sequences > 1 else 0.0,
            "rl/response_len": float(mask_BL.sum(1).mean()),
            "rl/rollout_logp_abs_diff": float(algos.masked_mean((old_logp_BL - batch.rollout_logp_BL).abs(), mask_BL)),
        }  # fmt: skip
        if ref_logp:
            ref_logp_BL = torch.cat(ref_logp).cpu()
            metrics["rl/kl"] = float(
                algos.masked_mean(algos.kl_k3(old_logp_BL, ref_logp_BL), mask_BL)
            )

        # advantages, and which tokens carry loss
        constant_G = algos.constant_groups(batch.rewards_B, s.group_size)
        metrics["rl/frac_zero_std_groups"] = float(constant_G.float().mean())
        keep_B = torch.ones(batch.num_sequences)
        if s.algorithm == "grpo":
            adv_B = algos.group_advantages(
                batch.rewards_B, s.group_size, scale_by_std=s.scale_by_std
            )
            adv_BL = adv_B[:, None] * mask_BL
            if s.filter_zero_std_groups:
                keep_B = (~constant_G).float().repeat_interleave(s.group_size)
        else:
            old_values_BL = torch.cat(old_values).cpu()
            last_B = (mask_BL * torch.arange(mask_BL.shape[1])).argmax(1)  # last response token
            token_rewards_BL = torch.zeros_like(mask_BL)
            token_rewards_BL[torch.arange(batch.num_sequences), last_B] = batch.rewards_B
            adv_BL, returns_BL = algos.gae(
                token_rewards_BL, old_values_BL, mask_BL, gamma=s.gamma, lam=s.gae_lambda
            )
            adv_BL = algos.whiten(adv_BL, mask_BL)
            metrics["rl/value_mean"] = float(algos.masked_mean(old_values_BL, mask_BL))
        loss_mask_BL = mask_BL * keep_B[:, None]

        # optimizer steps, each over a slice of the rows; token-mean over all ranks' tokens
        sums: dict[str, float] = {}
        rows_per_update = batch.num_sequences // s.updates_per_step
        for update in range(s.updates_per_step):
            first = update * rows_per_update
            tokens = _sum_over_ranks(
                float(loss_mask_BL[first : first + rows_per_update].sum()), self.engine.device
            )
            # DeepSpeed divides by gas and averages over ranks in backward: undo both
            scale = self.grad_accum_steps * self.num_ranks / max(tokens, 1.0)
            for start in range(first, first + rows_per_update, mbs):
                rows = self._rows(batch, start, start + mbs)
                sl = slice(start, start + mbs)
                mask = loss_mask_BL[sl].to(self.engine.device)
                micro_tokens = float(mask.sum())
                logp, entropy = policy_forward(
                    self.engine, rows["input_ids_BL"], rows["attention_mask_BL"], s.temperature
                )
                loss, pm = algos.policy_loss(
                    logp, old_logp_BL[sl].to(logp.device), adv_BL[sl].to(logp.device), mask,
                    clip_low=s.clip_low, clip_high=s.clip_high,
                )  # fmt: skip
                parts = {"rl/policy_loss": loss.detach(), "rl/clip_frac": pm["clip_frac"], "rl/approx_kl": pm["approx_kl"],
                         "rl/entropy": algos.masked_mean(entropy, mask)}  # fmt: skip
                if self.reference is not None:
                    kl = algos.masked_mean(algos.kl_k3(logp, ref_logp_BL[sl].to(logp.device)), mask)
                    loss = loss + s.kl_coef * kl
                self.engine.backward(loss * micro_tokens * scale)
                if self.value_engine is not None:
                    values = value_forward(
                        self.value_engine, rows["input_ids_BL"], rows["attention_mask_BL"]
                    )
                    vloss, vm = algos.value_loss(
                        values, old_values_BL[sl].to(values.device), returns_BL[sl].to(values.device),
                        mask, clip=s.value_clip,
                    )  # fmt: skip
                    self.value_engine.backward(vloss * micro_tokens * scale)
                    parts.update(
                        {"rl/value_loss": vloss.detach(), "rl/value_clip_frac": vm["clip_frac"]}
                    )
                for key, value in parts.items():  # token-weighted, to report token means
                    sums[key] = sums.get(key, 0.0) + float(value) * micro_tokens
                sums["tokens"] = sums.get("tokens", 0.0) + micro_tokens
                if start + mbs < first + rows_per_update:
                    self.engine.step()  # DeepSpeed counts micro-steps; no update before the boundary
                    if self.value_engine is not None:
                        self.value_engine.step()
            metrics["rl/lr"] = float(self.engine.get_lr()[0])
            metrics["rl/grad_norm"] = optimizer_step(self.engine)
            if self.value_engine is not None:
                metrics["rl/value_grad_norm"] = optimizer_step(self.value_engine)
        tokens = sums.pop("tokens")
        metrics.update({k: v / max(tokens, 1.0) for k, v in sums.items()})
        return metrics

    def _rows(self, batch: Batch, start: int, stop: int) -> dict[str, torch.Tensor]:
        return {k: v.to(self.engine.device) for k, v in batch.rows(start, stop).items()}

    # ------------------------------------------------------------------ checkpoints, clean-up

    def save_checkpoint(self) -> Path:
        s = self.settings
        if self.value_engine is not None:  # first: a policy checkpoint implies its value twin
            save_checkpoint(self.value_engine, self.ckpt_dir / "value", self.step, {}, s.keep_last)
        return save_checkpoint(self.engine, self.ckpt_dir / "policy", self.step, {}, s.keep_last)

    def cleanup(self) -> None:
        for engine in (self.engine, self.value_engine, self.reference):
            if engine is not None:
                engine.destroy()


@contextlib.contextmanager
def _gathered(module, zero3: bool):
    """Full parameters for generation under ZeRO-3 (one gather, not one per token)."""
    if not zero3:
        yield
        return
    import deepspeed

    with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=None):
        yield


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _sum_over_ranks(value: float, device) -> float:
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return float(t)


def _reduce_over_ranks(metrics: dict[str, float], device) -> dict[str, float]:
    """Mean over ranks (each rank holds the same number of samples); max for times."""
    if world_size() == 1:
        return metrics
    keys = sorted(metrics)
    t = torch.tensor([metrics[k] for k in keys], dtype=torch.float64, device=device)
    times = torch.tensor([k.startswith("time/") for k in keys], device=device)
    summed, maxed = t.clone(), t.clone()
    torch.distributed.all_reduce(summed)
    torch.distributed.all_reduce(maxed, op=torch.distributed.ReduceOp.MAX)
    out = torch.where(times, maxed, summed / world_size())
    return dict(zip(keys, out.tolist(), strict=True))
