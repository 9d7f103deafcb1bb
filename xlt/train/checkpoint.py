"""Checkpoints that resume exactly: engine state, caller state (data position...) and RNG states.

Reuse from any DeepSpeed loop (SFT, pretraining, GRPO/PPO):

    from xlt.train.checkpoint import load_latest_checkpoint, save_checkpoint

    resumed = load_latest_checkpoint(engine, ckpt_dir)      # None when there is nothing to resume
    step, extra = (0, {}) if resumed is None else resumed
    sampler_position = extra.get("sampler_position", 0)
    ...
    save_checkpoint(engine, ckpt_dir, step, {"sampler_position": pos}, keep_last=2)

Layout: `ckpt_dir/step_000010/` holds DeepSpeed's files (model, optimizer shards, LR schedule),
`extra_state.pt` (the caller's dict, from rank 0), `rng_rank<r>.pt` (python, numpy, torch RNG
per rank) and `DONE`, written last after every rank has finished. A folder without `DONE`
(a run killed mid-save) is ignored and later removed. All functions are collective: call them on
every rank.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xlt.train.engine import rank

DONE_MARKER = "DONE"
_STEP_DIR = re.compile(r"^step_(\d{6,})$")


def step_dir_name(step: int) -> str:
    return f"step_{step:06d}"


def capture_rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from (python, numpy, torch CPU and CUDA)."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.random.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def complete_checkpoints(ckpt_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint with a DONE marker, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = []
    for child in ckpt_dir.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / DONE_MARKER).exists():
            found.append((int(match.group(1)), child))
    return sorted(found)


def save_checkpoint(
    engine, ckpt_dir: str | Path, step: int, extra_state: dict[str, Any], keep_last: int = 2
) -> Path:
    """Save everything needed to continue after optimizer step `step`; keep the newest `keep_last`.

    `extra_state` is any picklable dict from the caller (data/sampler position, counters); it is
    returned by `load_latest_checkpoint`. Collective: call on every rank.
    """
    if keep_last < 1:
        raise ValueError(f"keep_last={keep_last}; keep at least one checkpoint")
    ckpt_dir = Path(ckpt_dir)
    tag = step_dir_name(step)
    target = ckpt_dir / tag
    if rank() == 0 and target.exists():  # a torn save of the same step from a killed run
        shutil.rmtree(target)
    _barrier()
    engine.save_checkpoint(str(ckpt_dir), tag=tag, save_latest=False)
    torch.save(capture_rng_state(), target / f"rng_rank{rank()}.pt")
    if rank() == 0:
        torch.save({"step": step, "extra": extra_state}, target / "extra_state.pt")
    _barrier()  # every rank's files are on disk before the marker says so
    if rank() == 0:
        (target / DONE_MARKER).write_text(f"{step}\n")
        _prune(ckpt_dir, keep_last)
    _barrier()
    return target


def load_latest_checkpoint(engine, ckpt_dir: str | Path) -> tuple[int, dict[str, Any]] | None:
    """Restore the newest complete checkpoint into `engine` and this rank's RNGs.

    Returns (step, extra_state) or None when `ckpt_dir` holds no complete checkpoint.
    """
    complete = complete_checkpoints(ckpt_dir)
    if not complete:
        return None
    step, folder = complete[-1]
    load_path, _ = engine.load_checkpoint(
        str(Path(ckpt_dir)),
        tag=folder.name,
        load_optimizer_states=True,
        load_lr_scheduler_states=True,
    )
    if load_path is None:
        raise RuntimeError(f"DeepSpeed could not load the checkpoint in {folder}")
    rng_file = folder / f"rng_rank{rank()}.pt"
    if not rng_file.exists():
        raise ValueError(
            f"{folder} has no RNG state for rank {rank()}: it was written with fewer processes; "
            "resume with the same number of processes as the run that saved it"
        )
    restore_rng_state(torch.load(rng_file, weights_only=False))
    saved = torch.load(folder / "extra_state.pt", weights_only=False)
    return saved["step"], saved["extra"]


def _prune(ckpt_dir: Path, keep_last: int) -> None:
    """Drop complete checkpoints beyond the newest `keep_last`, and every torn one.

    Runs right after this run's own save completed, so no other save can be in flight.
    """
    kept = {folder for _, folder in complete_checkpoints(ckpt_dir)[-keep_last:]}
    for child in ckpt_dir.iterdir():
        if _STEP_DIR.match(child.name) and child not in kept:
            shutil.rmtree(child, ignore_errors=True)


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
