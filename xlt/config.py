"""Typed configuration: the root of the study's settings, composed of one dataclass per group.

Each group's dataclass lives beside the code it configures (`xlt.train.config`,
`xlt.rl.config`, `xlt.data.config`, ...) and holds that group's defaults and checks;
`conf/<group>/*.yaml` name it with `_target_` and list only what differs from those
defaults. `hydra.utils.instantiate` turns the composed config into these objects at the
entry point, so every `__post_init__` check runs before any work. Library code never
sees a DictConfig, and each stage sees only its own spec (`xlt.study`).
"""

from __future__ import annotations

from dataclasses import dataclass

from xlt.analysis.config import AnalysisConfig
from xlt.checks import check_choice, check_languages, check_positive, launch_world_size
from xlt.data.config import CodeforcesDataConfig, DataConfig, MicroDataConfig
from xlt.eval.config import EvalConfig
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.model_config import ModelConfig
from xlt.spec import outside_key
from xlt.tracking.config import TrackingConfig
from xlt.train.config import ParallelPlan, PretrainConfig, SFTConfig

RL_ALGORITHMS = ("none", "grpo", "ppo")

__all__ = [
    "AnalysisConfig", "CodeforcesDataConfig", "DataConfig", "EvalConfig", "ExecutionConfig",
    "MicroDataConfig", "ModelConfig", "ParallelPlan", "PretrainConfig", "RLConfig",
    "RolloutConfig", "SFTConfig", "TrackingConfig", "XltConfig",
]  # fmt: skip


@dataclass(frozen=True)
class RLConfig:
    algorithm: str = "grpo"  # none | grpo | ppo
    source_language: str = "py"
    steps: int = 80  # micro: README, "The micro study's table", says how lr, steps, KL were chosen
    prompts_per_step: int = 8
    group_size: int = 8  # samples per prompt
    micro_batch_size: int = 16  # sequences per forward/backward pass (per rank)
    updates_per_step: int = 1  # optimizer steps per rollout batch (its mini-batches)
    lr: float = 2e-4
    clip_low: float = 0.2
    clip_high: float = 0.28
    scale_by_std: bool = True
    filter_zero_std_groups: bool = False
    kl_coef: float = 0.05  # > 0 keeps a frozen reference model (micro: keeps other languages' form)
    reward: str = "binary"  # binary | fraction
    max_new_tokens: int = 96
    temperature: float = 1.0
    top_p: float = 1.0
    # PPO only.
    value_lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    value_clip: float = 0.2
    oracle: bool = False  # RL directly in a held-out target language: the paper's upper bound
    # RL resumes exactly (tests/rl), so checkpoint cadence never changes the trained model.
    save_every: int = outside_key(20)
    keep_last: int = outside_key(2)

    def __post_init__(self) -> None:
        check_choice(self.algorithm, RL_ALGORITHMS, "rl.algorithm")
        check_choice(self.reward, ("binary", "fraction"), "rl.reward")
        check_languages([self.source_language], "rl.source_language")
        for key in ("steps", "prompts_per_step", "group_size", "micro_batch_size"):
            check_positive(getattr(self, key), f"rl.{key}")
        if self.algorithm == "grpo" and self.group_size < 2:
            raise ValueError("rl.group_size must be >= 2 for GRPO (advantages are within-group)")
        check_positive(self.updates_per_step, "rl.updates_per_step")
        rollouts = self.prompts_per_step * self.group_size
        per_update = self.updates_per_step * self.micro_batch_size
        if rollouts % per_update:
            raise ValueError(
                f"rl.prompts_per_step * rl.group_size = {rollouts} must be divisible by "
                f"rl.micro_batch_size={self.micro_batch_size} x "
                f"rl.updates_per_step={self.updates_per_step}"
            )
        num_ranks = launch_world_size()
        if self.prompts_per_step % num_ranks or (rollouts // num_ranks) % per_update:
            raise ValueError(
                f"rl: {self.prompts_per_step} prompts per step over {num_ranks} ranks must give "
                f"each rank whole groups whose samples divide by rl.micro_batch_size x "
                f"rl.updates_per_step = {per_update}; change rl.prompts_per_step"
            )
        if self.filter_zero_std_groups and self.algorithm != "grpo":
            raise ValueError("rl.filter_zero_std_groups applies to GRPO only; set it false")
        if self.kl_coef < 0:
            raise ValueError(f"rl.kl_coef={self.kl_coef} must be >= 0 (0: no reference model)")
        if not (0 <= self.clip_low < 1 and self.clip_high >= 0):
            raise ValueError("rl.clip_low must lie in [0, 1) and rl.clip_high be >= 0")
        if self.algorithm == "ppo" and self.keep_last < 2:
            raise ValueError(
                "rl.keep_last must be >= 2 for PPO (policy and critic are saved in turn)"
            )

    @property
    def needs_reference_model(self) -> bool:
        return self.algorithm != "none" and self.kl_coef > 0


@dataclass(frozen=True)
class XltConfig:
    """One study setting: SFT mixture x RL source language x seed, at a scale."""

    model: ModelConfig
    data: DataConfig
    pretrain: PretrainConfig
    sft: SFTConfig
    rl: RLConfig
    rollout: RolloutConfig
    eval: EvalConfig
    parallelization: ParallelPlan
    execution: ExecutionConfig
    analysis: AnalysisConfig
    tracking: TrackingConfig
    scale: str = "micro"
    seed: int = 0
    artifacts_dir: str = "artifacts"  # shared stage cache: reused across runs and sweeps
    run_dir: str = "."  # this run's folder (Hydra's output dir)

    def __post_init__(self) -> None:
        check_choice(self.scale, ("micro", "paper"), "scale")
        if self.rl.algorithm != "none":
            source = self.rl.source_language
            if source not in self.data.languages:
                raise ValueError(
                    f"rl.source_language={source!r} is not in data.languages={self.data.languages}; "
                    "add it there or pick another source language"
                )
            if source in self.data.held_out and not self.rl.oracle:
                raise ValueError(
                    f"rl.source_language={source!r} is held out (data.held_out={self.data.held_out}); "
                    "a held-out language never appears in SFT or RL data. For an oracle run "
                    "(RL directly in the target) use +experiment=oracle"
                )
        unknown_eval = sorted(set(self.eval.languages) - set(self.data.languages))
        if self.eval.benchmark == "micro" and unknown_eval:
            raise ValueError(
                f"eval.languages has {unknown_eval}, which the micro suite does not render "
                f"(data.languages={self.data.languages})"
            )
        if self.model.path is None and self.scale == "micro" and not self.pretrain.enabled:
            raise ValueError(
                "model.path is null (build from scratch) but pretrain.enabled=false: "
                "a model built from scratch must be pretrained"
            )
        seq_len = max(self.pretrain.seq_len, self.sft.seq_len)
        if self.model.path is None and seq_len > self.model.max_seq_len:
            raise ValueError(
                f"pretrain/sft seq_len={seq_len} exceeds model.max_seq_len={self.model.max_seq_len}"
            )
