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
from xlt.checks import check_choice
from xlt.data.config import CodeforcesDataConfig, DataConfig, MicroDataConfig
from xlt.eval.config import EvalConfig
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.model_config import ModelConfig
from xlt.rl.config import RLConfig
from xlt.tracking.config import TrackingConfig
from xlt.train.config import ParallelPlan, PretrainConfig, SFTConfig

__all__ = [
    "AnalysisConfig", "CodeforcesDataConfig", "DataConfig", "EvalConfig", "ExecutionConfig",
    "MicroDataConfig", "ModelConfig", "ParallelPlan", "PretrainConfig", "RLConfig",
    "RolloutConfig", "SFTConfig", "TrackingConfig", "XltConfig",
]  # fmt: skip


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
        check_choice(self.scale, ("micro", "rehearsal", "paper"), "scale")
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
