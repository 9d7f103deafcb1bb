"""What each rank of a multi-rank RL job samples, and the sums that make its numbers global.

N ranks reproduce a one-rank run up to float32 reduction order (tests/rl/test_multirank.py)
because nothing a rank computes depends on how the step was split:
- every update trains on the same prompts on any number of ranks (`rank_positions`);
- a prompt's samples are seeded by its position in the step, not by the rank that draws
  them (`xlt.rl.rollout.prompt_seed`);
- every token mean (the loss, PPO's whitening, the logged metrics) is a ratio of sums over
  all ranks (`sum_over_ranks`), never a mean of per-rank means: ranks hold the same number
  of samples but not of tokens.
"""

from __future__ import annotations

import os

import torch

from xlt.train.engine import world_size


def rank_positions(
    prompts_per_step: int, updates_per_step: int, num_ranks: int, rank: int
) -> list[int]:
    """Positions in the step's prompt list that rank `rank` samples and trains on, in order.

    On one rank, update u of a step trains on the u-th of `updates_per_step` consecutive
    blocks of prompts. Each rank takes an equal share of every block, so that N ranks train
    each update on the same prompts as one rank does. When a block does not split into whole
    prompts per rank, ranks take contiguous slices instead: each update is still a mini-batch
    of whole groups, but not the one a run on another number of ranks trains on
    (`same_updates_on_any_ranks` is then False).
    """
    if not same_updates_on_any_ranks(prompts_per_step, updates_per_step, num_ranks):
        share = prompts_per_step // num_ranks
        return list(range(rank * share, (rank + 1) * share))
    block = prompts_per_step // updates_per_step
    share = block // num_ranks
    return [update * block + rank * share + i
            for update in range(updates_per_step) for i in range(share)]  # fmt: skip


def same_updates_on_any_ranks(prompts_per_step: int, updates_per_step: int, num_ranks: int) -> bool:
    """Whether every update's block of prompts splits into whole prompts per rank."""
    return prompts_per_step % (updates_per_step * num_ranks) == 0


def ranks_on_this_machine() -> int:
    """Ranks sharing this machine's cores: the launcher's local world size (torchrun sets
    LOCAL_WORLD_SIZE, DeepSpeed's launcher LOCAL_SIZE), else all ranks (one machine)."""
    for name in ("LOCAL_WORLD_SIZE", "LOCAL_SIZE"):
        if os.environ.get(name):
            return int(os.environ[name])
    return world_size()


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """`values` summed element-wise over all ranks (one all-reduce; every rank must call it
    with the same shape), as a float64 CPU tensor; on one rank `values` in float64."""
    summed = values.detach().double()
    if world_size() > 1:
        summed = summed.to(_collective_device())
        torch.distributed.all_reduce(summed)
    return summed.cpu()


def sum_values_over_ranks(values: dict[str, float | torch.Tensor]) -> dict[str, float]:
    """Each value (a number or a one-element tensor) summed over all ranks; every rank must
    call it with the same keys."""
    keys = sorted(values)
    summed = sum_over_ranks(torch.tensor([float(values[k]) for k in keys], dtype=torch.float64))
    return dict(zip(keys, summed.tolist(), strict=True))


def mean_over_ranks(metrics: dict[str, float]) -> dict[str, float]:
    """The mean over ranks of each metric, the maximum for `time/*` (the slowest rank sets the
    pace). A mean over ranks is the mean over all samples only because every rank holds the
    same number of samples; token means must be made global before (`sum_values_over_ranks`)."""
    if world_size() == 1:
        return metrics
    keys = sorted(metrics)
    device = _collective_device()
    values = torch.tensor([metrics[k] for k in keys], dtype=torch.float64, device=device)
    times = torch.tensor([k.startswith("time/") for k in keys], device=device)
    summed, maxed = values.clone(), values.clone()
    torch.distributed.all_reduce(summed)
    torch.distributed.all_reduce(maxed, op=torch.distributed.ReduceOp.MAX)
    reduced = torch.where(times, maxed, summed / world_size())
    return dict(zip(keys, reduced.tolist(), strict=True))


def _collective_device() -> torch.device:
    """NCCL reduces tensors on this rank's GPU (the launcher's), gloo CPU tensors."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
