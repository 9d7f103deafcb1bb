"""Settings of the training loop (`xlt.train.loop`) and of its parallel layout.

`TrainConfig` is what the loop reads; `PretrainConfig` and `SFTConfig` are the two
stages' settings, the loop's plus what only that stage reads. `ParallelPlan` is the
`parallelization` config group and what the DeepSpeed engine is built from. The
dataclass defaults are the micro-scale values; `conf/` lists only differences.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice, check_positive, launch_world_size
from xlt.spec import outside_key

SFT_MIXTURES = ("none", "monolingual", "multilingual", "parallel")
ZERO_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True)
class TrainConfig:
    """The loop's settings; `group` names the config group in error messages."""

    max_steps: int = 200  # optimizer steps
    batch_size: int = 16  # sequences per optimizer step, summed over ranks and accumulation
    micro_batch_size: int = 16  # sequences per forward pass per rank
    seq_len: int = 256  # longest sequence fed to the model
    lr: float = 1e-3
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1  # cosine decays the LR to this fraction of lr
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # Checkpoints resume exactly (tests/train), so their cadence never changes the result.
    save_every: int = outside_key(100)  # optimizer steps between checkpoints; 0: none
    keep_last: int = outside_key(2)
    log_every: int = outside_key(1)
    length_grouped: bool = True  # batch examples of similar length (SFT); see DataOrder

    @property
    def group(self) -> str:
        return "train"

    @property
    def runs(self) -> bool:
        """False for a switched-off stage, whose batch need not fit the launch."""
        return True

    def __post_init__(self) -> None:
        group = self.group
        check_positive(self.max_steps, f"{group}.max_steps")
        check_positive(self.lr, f"{group}.lr")
        check_positive(self.batch_size, f"{group}.batch_size")
        check_positive(self.micro_batch_size, f"{group}.micro_batch_size")
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"{group}.batch_size={self.batch_size} must be a multiple of "
                f"{group}.micro_batch_size={self.micro_batch_size} (the rest is gradient "
                "accumulation)"
            )
        num_ranks = launch_world_size()
        per_step = self.micro_batch_size * num_ranks
        if self.runs and self.batch_size % per_step:
            raise ValueError(
                f"{group}.batch_size={self.batch_size} does not split over {num_ranks} ranks x "
                f"{group}.micro_batch_size={self.micro_batch_size} = {per_step} sequences per "
                f"accumulation step; set {group}.batch_size to a multiple of {per_step}, or "
                f"change {group}.micro_batch_size or the number of processes"
            )
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"{group}.min_lr_ratio={self.min_lr_ratio} must lie in [0, 1]")
        if self.warmup_steps > self.max_steps:
            raise ValueError(
                f"{group}.warmup_steps={self.warmup_steps} exceeds {group}.max_steps="
                f"{self.max_steps}; lower {group}.warmup_steps"
            )
        if self.save_every < 0:
            raise ValueError(f"{group}.save_every={self.save_every}; use 0 for no checkpoints")


@dataclass(frozen=True)
class PretrainConfig(TrainConfig):
    """Training from scratch on the corpus: micro scale stands in for a pretrained LLM."""

    enabled: bool = True
    max_steps: int = 300
    lr: float = 3e-3

    @property
    def group(self) -> str:
        return "pretrain"

    @property
    def runs(self) -> bool:
        return self.enabled


@dataclass(frozen=True)
class SFTConfig(TrainConfig):
    mixture: str = "parallel"  # none | monolingual | multilingual | parallel
    num_tokens: int | None = None  # token budget shared by all mixtures; None: the smallest one's
    gradient_checkpointing: bool = False  # recompute activations in backward (paper scale: on)

    @property
    def group(self) -> str:
        return "sft"

    @property
    def runs(self) -> bool:
        return self.mixture != "none"

    def __post_init__(self) -> None:
        check_choice(self.mixture, SFT_MIXTURES, "sft.mixture")
        super().__post_init__()


@dataclass(frozen=True)
class ParallelPlan:
    """How training is spread over data-parallel ranks: one DeepSpeed ZeRO stage and offload.

    The `parallelization` config group; `xlt.train.engine` renders it into a DeepSpeed config."""

    name: str = outside_key("single")  # the preset's name, a label only
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    bf16: bool | None = None  # None: bf16 where CUDA is available, fp32 on CPU

    def __post_init__(self) -> None:
        check_choice(self.zero_stage, ZERO_STAGES, "parallelization.zero_stage")
        if self.offload_optimizer and self.zero_stage < 2:
            raise ValueError(
                "parallelization.offload_optimizer: CPU offload needs zero_stage 2 or 3 "
                "(use parallelization=zero3_offload)"
            )
        if self.offload_params and self.zero_stage != 3:
            raise ValueError(
                "parallelization.offload_params needs zero_stage=3 (only ZeRO-3 partitions "
                "parameters)"
            )

    @classmethod
    def preset(cls, name: str, bf16: bool | None = None) -> ParallelPlan:
        if name not in PRESETS:
            raise ValueError(f"unknown parallelization {name!r}; choose one of {sorted(PRESETS)}")
        return cls(name=name, **PRESETS[name], bf16=bf16)

    @property
    def use_bf16(self) -> bool:
        import torch  # deferred: configs are built before torch is needed

        return torch.cuda.is_available() if self.bf16 is None else self.bf16


PRESETS = {  # the conf/parallelization/*.yaml options, for code that builds plans directly
    "single": dict(zero_stage=0, offload_optimizer=False, offload_params=False),
    "zero2": dict(zero_stage=2, offload_optimizer=False, offload_params=False),
    "zero3": dict(zero_stage=3, offload_optimizer=False, offload_params=False),
    "zero3_offload": dict(zero_stage=3, offload_optimizer=True, offload_params=True),
}
