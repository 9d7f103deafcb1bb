"""The `rollout` config group: the generation backend for RL and evaluation (`xlt.generation`)."""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice


@dataclass(frozen=True)
class RolloutConfig:
    backend: str = "hf"  # hf | vllm
    batch_size: int = 64  # prompts per generate call (hf)
    gpu_memory_utilization: float = 0.4  # vllm, colocated with the trainer
    enable_sleep_mode: bool = True  # vllm frees its memory while the trainer updates

    def __post_init__(self) -> None:
        check_choice(self.backend, ("hf", "vllm"), "rollout.backend")
