"""`RLConfig`: every RL setting, its default and its check, in one place.

This dataclass is what `conf/rl/*.yaml` instantiates and what `xlt.rl.trainer.RLTrainer`
reads: no mirror class, no field-by-field copy. The defaults are the micro-scale values
(`conf/rl/grpo.yaml`); the YAMLs list only what differs from them, and paper-scale
overrides live in `conf/scale/paper.yaml`. Checks run in `__post_init__`, before any work,
and name the setting and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice, launch_world_size
from xlt.languages import check_language
from xlt.rl.rewards import REWARD_KINDS
from xlt.spec import outside_key

RL_ALGORITHMS = ("none", "grpo", "ppo")


@dataclass(frozen=True)
class RLConfig:
    algorithm: str = "grpo"  # none | grpo | ppo
    source_language: str = "py"
    steps: int = 80  # micro: README, "The micro study's table", says how lr/steps/KL were chosen
    prompts_per_step: int = 8  # over all ranks
    group_size: int = 8  # samples per prompt
    micro_batch_size: int = 16  # sequences per forward/backward pass, per rank
    updates_per_step: int = 1  # optimizer steps per rollout batch (its mini-batches)
    lr: float = 2e-4
    clip_low: float = 0.2
    clip_high: float = 0.28
    scale_by_std: bool = True
    filter_zero_std_groups: bool = False
    kl_coef: float = 0.05  # > 0 keeps a frozen reference model
    reward: str = "binary"  # binary (all tests pass) | fraction (of io cases)
    max_new_tokens: int = 96
    temperature: float = 1.0
    top_p: float = 1.0
    grad_clip: float = 1.0  # global gradient 2-norm clip (policy and critic)
    # Memory (docs/rl.md, "Memory at 8B"): recompute activations in backward, and the LM head
    # runs on at most this many response tokens at a time (never on prompt or padding).
    gradient_checkpointing: bool = False
    logprob_chunk_tokens: int = 2048
    # PPO only.
    value_lr: float = 1e-3  # micro; an 8B critic wants ~1e-5 (checked in xlt.stages.rl)
    gamma: float = 1.0
    gae_lambda: float = 0.95
    value_clip: float = 0.2
    critic_path: str | None = None  # the critic's initial checkpoint; None: the policy's
    oracle: bool = False  # RL directly in a held-out target language: the paper's upper bound
    # RL resumes exactly (tests/rl), so checkpoint cadence never changes the trained model.
    save_every: int = outside_key(20)  # RL steps between checkpoints; 0: none
    keep_last: int = outside_key(2)

    def __post_init__(self) -> None:
        check_choice(self.algorithm, RL_ALGORITHMS, "rl.algorithm")
        check_choice(self.reward, REWARD_KINDS, "rl.reward")
        check_language(self.source_language, "rl.source_language")
        for key in ("steps", "prompts_per_step", "group_size", "micro_batch_size",
                    "updates_per_step", "lr", "value_lr", "logprob_chunk_tokens"):  # fmt: skip
            if getattr(self, key) <= 0:
                raise ValueError(f"rl.{key}={getattr(self, key)} must be > 0")
        if self.algorithm == "grpo" and self.group_size < 2:
            raise ValueError(
                "rl.group_size must be >= 2 for GRPO (its advantages compare a group's samples)"
            )
        self._check_batch_layout()
        if self.filter_zero_std_groups and self.algorithm != "grpo":
            raise ValueError("rl.filter_zero_std_groups applies to GRPO only; set it false")
        if self.kl_coef < 0:
            raise ValueError(f"rl.kl_coef={self.kl_coef} must be >= 0 (0: no reference model)")
        if not (0 <= self.clip_low < 1 and self.clip_high >= 0):
            raise ValueError("rl.clip_low must lie in [0, 1) and rl.clip_high be >= 0")
        if self.save_every < 0:
            raise ValueError(f"rl.save_every={self.save_every}; use 0 for no checkpoints")
        if self.algorithm == "ppo" and self.keep_last < 2:
            raise ValueError(
                "rl.keep_last must be >= 2 for PPO (policy and critic are saved in turn)"
            )
        if self.critic_path is not None and self.algorithm != "ppo":
            raise ValueError("rl.critic_path is the PPO critic's checkpoint; set it null for GRPO")

    def _check_batch_layout(self) -> None:
        """Each rank gets whole groups whose samples split into updates x micro-batches."""
        rollouts = self.prompts_per_step * self.group_size
        per_update = self.updates_per_step * self.micro_batch_size
        num_ranks = launch_world_size()
        if self.prompts_per_step % num_ranks or (rollouts // num_ranks) % per_update:
            raise ValueError(
                f"rl: each of {num_ranks} rank(s) must get whole groups, and its share of "
                f"rl.prompts_per_step * rl.group_size = {rollouts} samples must be divisible by "
                f"rl.micro_batch_size={self.micro_batch_size} x "
                f"rl.updates_per_step={self.updates_per_step} = {per_update}; change "
                "rl.prompts_per_step, rl.group_size or rl.micro_batch_size"
            )

    @property
    def needs_reference_model(self) -> bool:
        return self.algorithm != "none" and self.kl_coef > 0

    def rows_per_rank(self, num_ranks: int) -> int:
        """Samples each rank generates and trains on per RL step."""
        return self.prompts_per_step // num_ranks * self.group_size

    def grad_accum_steps(self, num_ranks: int) -> int:
        """Micro-batches per optimizer step on each rank."""
        return self.rows_per_rank(num_ranks) // (self.updates_per_step * self.micro_batch_size)
