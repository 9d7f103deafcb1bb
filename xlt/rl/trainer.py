"""GRPO and PPO on code problems with execution rewards, on DeepSpeed (ZeRO 0-3).

    trainer = RLTrainer(policy, tokenizer, problems, RLConfig(algorithm="grpo", ...),
                        RolloutConfig(), ExecutionConfig(), ParallelPlan.preset("zero3"),
                        chat=False, seed=0, ckpt_dir=out / "checkpoints", tracker=tracker)
    trainer.setup()     # engines, rollout backend, resume from the newest checkpoint
    trainer.train()     # rollout -> reward -> update -> checkpoint, every step
    save_model(trainer.engine, tokenizer, out / "model"); trainer.cleanup()

Launch: in-process on CPU (one rank), or under `torchrun`/`deepspeed` for several ranks;
each rank then samples its share of the step's prompts (whole groups), and every token mean
(loss, PPO whitening, metrics) is taken over all ranks' tokens, so N ranks reproduce one
rank's run up to float32 reduction order (xlt/rl/ranks.py). Deviations from the papers are
listed in docs/rl.md (no re-sampling to refill filtered groups; KL as a loss term in PPO too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from xlt.generation import HFGenerator, SamplingParams
from xlt.generation.config import RolloutConfig
from xlt.generation.hf import encode_prompt
from xlt.generation.vllm import fits
from xlt.rl import algos
from xlt.rl.config import RLConfig
from xlt.rl.ranks import (
    mean_over_ranks,
    rank_positions,
    ranks_on_this_machine,
    same_updates_on_any_ranks,
    sum_over_ranks,
    sum_values_over_ranks,
)
from xlt.rl.rewards import reward_workers, score_async, status_metrics
from xlt.rl.rollout import (
    Batch,
    build_batch,
    policy_forward,
    prompt_of,
    prompt_seed,
    reward_code,
    rollout_metrics,
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

if TYPE_CHECKING:
    from xlt.config import ExecutionConfig

log = logging.getLogger(__name__)


class RLTrainer:
    """Set-up, then rollout -> reward -> update -> checkpoint per step (see module docstring)."""

    def __init__(
        self,
        policy,
        tokenizer,
        problems,
        rl: RLConfig,
        rollout: RolloutConfig,
        execution: ExecutionConfig,
        plan: ParallelPlan,
        *,
        chat: bool,
        seed: int,
        ckpt_dir: str | Path,
        tracker,
        vllm_model_path: str | None = None,
        value_model=None,
        reference_model=None,
        execute_async=None,
    ):
        if rl.algorithm not in ("grpo", "ppo"):
            raise ValueError(f"rl.algorithm={rl.algorithm!r}: the RL trainer runs grpo or ppo")
        if (rl.algorithm == "ppo") != (value_model is not None):
            raise ValueError("PPO needs a value_model and GRPO takes none")
        if rl.needs_reference_model != (reference_model is not None):
            raise ValueError("a reference_model is needed exactly when rl.kl_coef > 0")
        if rollout.backend == "vllm" and not vllm_model_path:
            raise ValueError("rollout backend vllm needs vllm_model_path (the checkpoint to load)")
        self.num_ranks = world_size()
        # this rank's prompts of every step, by position in the step's list (xlt.rl.ranks)
        self.positions = rank_positions(
            rl.prompts_per_step, rl.updates_per_step, self.num_ranks, rank()
        )
        if self.num_ranks > 1 and not same_updates_on_any_ranks(
            rl.prompts_per_step, rl.updates_per_step, self.num_ranks
        ):
            log.warning(
                "rl.prompts_per_step=%d is not a multiple of rl.updates_per_step x ranks = %d: "
                "each update trains on other prompts than on another number of ranks, so runs "
                "on different rank counts differ beyond float rounding",
                rl.prompts_per_step, rl.updates_per_step * self.num_ranks,
            )  # fmt: skip
        self.rows_per_rank = rl.rows_per_rank(self.num_ranks)
        self.grad_accum_steps = rl.grad_accum_steps(self.num_ranks)
        # RLConfig checked the layout against the launcher's WORLD_SIZE; the same here
        assert (
            self.grad_accum_steps * rl.updates_per_step * rl.micro_batch_size == self.rows_per_rank
        )
        self.policy, self.value_model, self.reference_model = policy, value_model, reference_model
        self.tokenizer, self.plan = tokenizer, plan
        self.rl, self.rollout, self.execution = rl, rollout, execution
        self.chat, self.seed, self.vllm_model_path = chat, seed, vllm_model_path
        self.ckpt_dir, self.tracker, self.execute_async = Path(ckpt_dir), tracker, execute_async
        # each rank's own sandbox pool: the machine's cores shared, unless execution.workers is set
        self.reward_workers = reward_workers(
            execution.workers, ranks_on_this_machine(), os.cpu_count() or 1
        )
        self.pad_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
        self.engine = self.value_engine = self.reference = self.generator = None
        self.step = 0  # RL steps done
        self.problems, self.num_dropped_prompts = self._fitting(problems)

    def _fitting(self, problems) -> tuple[list, int]:
        """The problems whose prompt leaves `rl.max_new_tokens` under `rollout.max_model_len`.

        Dropped from the pool once, before step 1 (not per batch: the batch layout stays
        whole groups of equal size on every rank); their number is logged every step as
        `rl/dropped_long_prompts`.
        """
        lengths = [len(encode_prompt(self.tokenizer, prompt_of(p, self.tokenizer, self.chat)))
                   for p in problems]  # fmt: skip
        kept = [p for p, n in zip(problems, lengths, strict=True)
                if fits(n, self.rl.max_new_tokens, self.rollout.max_model_len)]  # fmt: skip
        if not kept:
            raise ValueError(
                f"every RL prompt ({min(lengths)} tokens or more) leaves fewer than "
                f"rl.max_new_tokens={self.rl.max_new_tokens} under rollout.max_model_len="
                f"{self.rollout.max_model_len}; raise rollout.max_model_len"
            )
        return kept, len(problems) - len(kept)

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        rl, total = self.rl, self.rl.steps * self.rl.updates_per_step
        common = dict(
            micro_batch_size=rl.micro_batch_size, grad_accum_steps=self.grad_accum_steps,
            total_steps=total, min_lr_ratio=1.0, grad_clip=rl.grad_clip,
        )  # fmt: skip
        if rl.gradient_checkpointing:  # activations recomputed in backward (docs/rl.md, memory)
            for model in (self.policy, self.value_model):
                if model is not None:
                    model.gradient_checkpointing_enable({"use_reentrant": False})
        self.engine = setup_engine(self.policy, self.plan, lr=rl.lr, **common)
        if self.value_model is not None:
            self.value_engine = setup_engine(self.value_model, self.plan, lr=rl.value_lr, **common)
        if self.reference_model is not None:
            self.reference = self._frozen_engine(self.reference_model)
        if self.rollout.backend == "vllm":
            from xlt.generation.vllm import VLLMGenerator

            self.generator = VLLMGenerator.load(
                self.vllm_model_path, self.tokenizer, seed=self.seed,
                gpu_memory_utilization=self.rollout.gpu_memory_utilization,
                max_model_len=self.rollout.max_model_len,
                enable_sleep_mode=self.rollout.enable_sleep_mode,
            )  # fmt: skip
        else:
            self.generator = HFGenerator(
                self.engine.module, self.tokenizer, batch_size=self.rollout.batch_size,
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
        config = deepspeed_config(plan, micro_batch_size=self.rl.micro_batch_size,
                                  grad_accum_steps=1, grad_clip=0.0)  # fmt: skip
        engine, *_ = deepspeed.initialize(model=model, config=config)
        engine.eval()
        return engine

    # ------------------------------------------------------------------ training

    def train(self) -> list[dict[str, float]]:
        """Run RL steps up to `rl.steps`; returns the metrics of the steps run here."""
        assert self.engine is not None, "call setup() first"
        history = []
        while self.step < self.rl.steps:
            started = time.perf_counter()

            # ---- rollout: this rank's prompts, group_size samples each
            problems = self._step_problems()
            prompts = [prompt_of(p, self.tokenizer, self.chat) for p in problems]
            completions = self._generate(problems, prompts)
            generated = time.perf_counter()

            # ---- reward: run every sample's program
            flat_problems = [p for p in problems for _ in range(self.rl.group_size)]
            # continuations cut at stops; a chat answer to an io problem becomes its whole program
            codes = [reward_code(p, c.text, self.chat) for p, cs in zip(problems, completions, strict=True)
                     for c in cs]  # fmt: skip
            rewards, results = asyncio.run(self._score(flat_problems, codes))
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
                    "rl/dropped_long_prompts": float(self.num_dropped_prompts),
                    "rl/frac_truncated": _mean(
                        [c.finish_reason == "length" for cs in completions for c in cs]
                    ),
                    "time/generate_s": generated - started,
                    "time/reward_s": rewarded - generated,
                    "time/update_s": updated - rewarded,
                    "time/step_s": updated - started,
                }
            )
            metrics = mean_over_ranks(metrics)
            metrics["time/reward_frac"] = metrics["time/reward_s"] / metrics["time/step_s"]
            if rank() == 0:
                self.tracker.log(metrics, step=self.step)
            history.append(metrics)
            if self.rl.save_every and self.step % self.rl.save_every == 0:
                self.save_checkpoint()
        return history

    def _step_problems(self) -> list:
        """This rank's share (whole groups) of the step's prompts."""
        indices = step_problem_indices(
            len(self.problems), self.rl.prompts_per_step, self.step, self.seed
        )
        return [self.problems[indices[position]] for position in self.positions]

    def _sampling_params(self) -> SamplingParams:
        """The step's sampling settings; `_generate` sets each prompt's seed and stops."""
        rl = self.rl
        return SamplingParams(
            max_new_tokens=rl.max_new_tokens, temperature=rl.temperature, top_p=rl.top_p,
            n=rl.group_size, logprobs=True,
        )  # fmt: skip

    async def _score(self, problems, codes):
        ex = self.execution
        return await score_async(
            problems, codes, kind=self.rl.reward, workers=self.reward_workers,
            cache_dir=ex.cache_dir, timeout_s=ex.timeout_s, execute_async=self.execute_async,
            settings=ex.engine_settings(),
        )  # fmt: skip

    def _generate(self, problems, prompts):
        """`[prompt][sample]`, each prompt's samples seeded by its position in the step and cut
        at its own problem's stops (`io` problems, whole programs, are never cut).

        HF: one `generate` call per prompt, so a prompt's samples are the same whichever rank
        draws them (prompts batched together would share one random stream and one padded
        shape). vLLM: one call per kind of problem (io, tests) of the rank's prompts, seeded
        by the first one's position (vLLM hashes a seed per prompt from it,
        xlt.generation.vllm): distinct on every rank and step, but not equal to a one-rank
        run's samples.
        """
        params = self._sampling_params()
        seeds = [prompt_seed(self.seed, self.step, position) for position in self.positions]
        if self.rollout.backend == "vllm":
            self.generator.wake_and_push(self.engine.module)
            completions: list = [None] * len(prompts)
            for kind in _indices_by_mode(problems):
                chosen = replace(params, seed=seeds[kind[0]],
                                 stop=stops_of([problems[i] for i in kind], self.chat))  # fmt: skip
                outs = self.generator.generate([prompts[i] for i in kind], chosen)
                for i, samples in zip(kind, outs, strict=True):
                    completions[i] = samples
            self.generator.sleep()  # the update needs the memory
            return completions
        with _gathered(self.engine.module, self.plan.zero_stage == 3):
            return [self.generator.generate(
                        [prompt], replace(params, seed=seed, stop=stops_of([problem], self.chat))
                    )[0] for problem, prompt, seed in zip(problems, prompts, seeds, strict=True)]  # fmt: skip

    # ------------------------------------------------------------------ update

    def _update(self, batch: Batch) -> dict[str, float]:
        """Score the rollout with the models as they sampled, compute advantages, then take
        `updates_per_step` optimizer steps."""
        scored = self._score_rollout(batch)
        metrics = rollout_metrics(batch, scored)
        adv_BL, returns_BL, loss_mask_BL, adv_metrics = self._advantages(batch, scored)
        metrics.update(adv_metrics)
        metrics.update(self._optimise(batch, scored, adv_BL, returns_BL, loss_mask_BL))
        return metrics

    def _score_rollout(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Per-token log-probs of the policy that sampled (recomputed here, not the generator's)
        and of the reference, and the critic's values: no gradients, on CPU."""
        outputs: dict[str, list[torch.Tensor]] = {"old_logp_BL": [], "ref_logp_BL": [],
                                                  "old_values_BL": []}  # fmt: skip
        with torch.no_grad():
            for start in range(0, batch.num_sequences, self.rl.micro_batch_size):
                rows = self._rows(batch, start, start + self.rl.micro_batch_size)
                outputs["old_logp_BL"].append(self._logprobs(self.engine, rows)[0])
                if self.reference is not None:
                    outputs["ref_logp_BL"].append(self._logprobs(self.reference, rows)[0])
                if self.value_engine is not None:
                    outputs["old_values_BL"].append(
                        value_forward(
                            self.value_engine, rows["input_ids_BL"], rows["attention_mask_BL"]
                        )
                    )
        return {key: torch.cat(parts).cpu() for key, parts in outputs.items() if parts}

    def _advantages(self, batch: Batch, scored: dict[str, torch.Tensor]):
        """(adv_BL, returns_BL or None, loss_mask_BL, metrics): GRPO's group-normalised outcome
        advantages, or PPO's GAE over the reward on the last response token."""
        rl, mask_BL = self.rl, batch.response_mask_BL
        constant_G = algos.constant_groups(batch.rewards_B, rl.group_size)
        metrics = {"rl/frac_zero_std_groups": float(constant_G.float().mean())}
        keep_B, returns_BL = torch.ones(batch.num_sequences), None
        if rl.algorithm == "grpo":
            adv_B = algos.group_advantages(
                batch.rewards_B, rl.group_size, scale_by_std=rl.scale_by_std
            )
            adv_BL = adv_B[:, None] * mask_BL
            if rl.filter_zero_std_groups:
                keep_B = (~constant_G).float().repeat_interleave(rl.group_size)
        else:
            old_values_BL = scored["old_values_BL"]
            rewards_BL = algos.last_token_rewards(batch.rewards_B, mask_BL)
            adv_BL, returns_BL = algos.gae(
                rewards_BL, old_values_BL, mask_BL, gamma=rl.gamma, lam=rl.gae_lambda
            )
            # whitened with the mean and std of all ranks' tokens, as one rank would
            moments_3 = sum_over_ranks(algos.masked_moments(adv_BL, mask_BL))
            adv_BL = algos.whiten(adv_BL, mask_BL, moments_3=moments_3)
            values = sum_values_over_ranks(
                {"sum": (old_values_BL * mask_BL).sum(), "tokens": mask_BL.sum()}
            )
            metrics["rl/value_mean"] = values["sum"] / max(values["tokens"], 1.0)
        return adv_BL, returns_BL, mask_BL * keep_B[:, None], metrics

    def _optimise(self, batch, scored, adv_BL, returns_BL, loss_mask_BL) -> dict[str, float]:
        """`updates_per_step` optimizer steps, each over a slice of the rows; the loss is the
        token-mean over all ranks' loss-carrying tokens of the slice."""
        mbs, metrics, sums = self.rl.micro_batch_size, {}, {}
        rows_per_update = batch.num_sequences // self.rl.updates_per_step
        for update in range(self.rl.updates_per_step):
            first = update * rows_per_update
            tokens = float(sum_over_ranks(loss_mask_BL[first : first + rows_per_update].sum()))
            # DeepSpeed divides by gas and averages over ranks in backward: undo both
            scale = self.grad_accum_steps * self.num_ranks / max(tokens, 1.0)
            for start in range(first, first + rows_per_update, mbs):
                sl = slice(start, start + mbs)
                targets = {"old_logp_BL": scored["old_logp_BL"][sl], "adv_BL": adv_BL[sl],
                           "loss_mask_BL": loss_mask_BL[sl]}  # fmt: skip
                if "ref_logp_BL" in scored:
                    targets["ref_logp_BL"] = scored["ref_logp_BL"][sl]
                if self.value_engine is not None:
                    targets["old_values_BL"] = scored["old_values_BL"][sl]
                    targets["returns_BL"] = returns_BL[sl]
                micro_tokens, parts = self._micro_step(self._rows(batch, start, start + mbs),
                                                       targets, scale)  # fmt: skip
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
        # token means over all ranks' tokens (ranks hold different numbers of tokens)
        sums = sum_values_over_ranks(sums)
        tokens = sums.pop("tokens")
        metrics.update({k: v / max(tokens, 1.0) for k, v in sums.items()})
        return metrics

    def _micro_step(self, rows, targets, scale: float) -> tuple[float, dict[str, torch.Tensor]]:
        """Forward and backward of one micro-batch (policy, then critic); returns its number
        of loss tokens and its metrics."""
        rl, device = self.rl, self.engine.device
        t = {key: value.to(device) for key, value in targets.items()}
        mask, micro_tokens = t["loss_mask_BL"], float(t["loss_mask_BL"].sum())
        logp, entropy = self._logprobs(self.engine, rows)
        loss, pm = algos.policy_loss(
            logp, t["old_logp_BL"], t["adv_BL"], mask, clip_low=rl.clip_low, clip_high=rl.clip_high
        )
        parts = {"rl/policy_loss": loss.detach(), "rl/clip_frac": pm["clip_frac"],
                 "rl/approx_kl": pm["approx_kl"], "rl/entropy": algos.masked_mean(entropy, mask)}  # fmt: skip
        if self.reference is not None:
            loss = loss + rl.kl_coef * algos.masked_mean(algos.kl_k3(logp, t["ref_logp_BL"]), mask)
        self.engine.backward(loss * micro_tokens * scale)
        if self.value_engine is not None:
            values = value_forward(
                self.value_engine, rows["input_ids_BL"], rows["attention_mask_BL"]
            )
            vloss, vm = algos.value_loss(
                values, t["old_values_BL"], t["returns_BL"], mask, clip=rl.value_clip
            )
            self.value_engine.backward(vloss * micro_tokens * scale)
            parts.update({"rl/value_loss": vloss.detach(), "rl/value_clip_frac": vm["clip_frac"]})
        return micro_tokens, parts

    def _logprobs(self, engine, rows) -> tuple[torch.Tensor, torch.Tensor]:
        return policy_forward(
            engine, rows["input_ids_BL"], rows["attention_mask_BL"], rows["response_mask_BL"],
            self.rl.temperature, chunk_tokens=self.rl.logprob_chunk_tokens,
        )  # fmt: skip

    def _rows(self, batch: Batch, start: int, stop: int) -> dict[str, torch.Tensor]:
        return {k: v.to(self.engine.device) for k, v in batch.rows(start, stop).items()}

    # ------------------------------------------------------------------ checkpoints, clean-up

    def save_checkpoint(self) -> Path:
        keep_last = self.rl.keep_last
        if self.value_engine is not None:  # first: a policy checkpoint implies its value twin
            save_checkpoint(self.value_engine, self.ckpt_dir / "value", self.step, {}, keep_last)
        return save_checkpoint(self.engine, self.ckpt_dir / "policy", self.step, {}, keep_last)

    def cleanup(self) -> None:
        """Free everything, the vLLM engine included (evaluation starts its own next)."""
        if self.rollout.backend == "vllm" and self.generator is not None:
            self.generator.shutdown()
        self.generator = None
        for engine in (self.engine, self.value_engine, self.reference):
            if engine is not None:
                engine.destroy()


def _indices_by_mode(problems) -> list[list[int]]:
    """Positions of the `io` problems and of the others (non-empty lists, in order)."""
    io = [i for i, p in enumerate(problems) if p.mode == "io"]
    rest = [i for i, p in enumerate(problems) if p.mode != "io"]
    return [kind for kind in (io, rest) if kind]


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
