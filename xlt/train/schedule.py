"""Learning-rate schedule: linear warmup, then cosine decay to a floor.

A multiplier of the peak LR as a function of the optimizer step, for `torch.optim.lr_scheduler.LambdaLR`.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """LR multiplier at optimizer step `step` (0-based): (step+1)/warmup during warmup, then a
    half cosine from 1 down to `min_lr_ratio` at `total_steps`, flat after it."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_lambda(
    warmup_steps: int, total_steps: int, min_lr_ratio: float
) -> Callable[[int], float]:
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(f"min_lr_ratio={min_lr_ratio} must lie in [0, 1]")
    if warmup_steps > total_steps:
        raise ValueError(
            f"warmup_steps={warmup_steps} exceeds total_steps={total_steps}; lower warmup_steps"
        )
    return lambda step: warmup_cosine(step, warmup_steps, total_steps, min_lr_ratio)
