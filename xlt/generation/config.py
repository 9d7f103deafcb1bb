"""`RolloutConfig`: how samples are generated (for RL rollouts and evaluation).

What `conf/rollout/*.yaml` instantiates and what the generators' callers read directly;
defaults are the `hf` backend's, the YAMLs list only what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice

ROLLOUT_BACKENDS = ("hf", "vllm")


@dataclass(frozen=True)
class RolloutConfig:
    backend: str = "hf"  # hf | vllm
    batch_size: int = 64  # sequences per generate call (hf)
    gpu_memory_utilization: float = 0.4  # vllm, colocated with the trainer
    enable_sleep_mode: bool = True  # vllm frees its memory while the trainer updates
    # Longest prompt + response vLLM holds (its KV cache is sized for it). RL drops, and
    # counts, prompts that leave fewer than rl.max_new_tokens for the answer.
    max_model_len: int = 4096

    def __post_init__(self) -> None:
        check_choice(self.backend, ROLLOUT_BACKENDS, "rollout.backend")
        if self.batch_size < 1 or self.max_model_len < 2:
            raise ValueError(
                f"rollout.batch_size={self.batch_size} must be >= 1 and "
                f"rollout.max_model_len={self.max_model_len} >= 2"
            )
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(
                f"rollout.gpu_memory_utilization={self.gpu_memory_utilization} must be in (0, 1]"
            )
