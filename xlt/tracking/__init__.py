"""Metric tracking: a local JSONL log that is the source of truth, plus optional mirrors.

Only training/eval loops call a tracker; library code returns `dict[str, float]`
with slash-separated keys (`train/loss`, `eval/micro/py/pass@1`).
`make_tracker(backend, run_dir, ...)` builds the JSONL log with a W&B mirror
when `backend == "wandb"` (see `xlt.tracking.wandb`).
"""

from xlt.tracking.base import JsonlTracker, NullTracker, Tracker, read_jsonl_log
from xlt.tracking.factory import (
    MirroredTracker,
    make_tracker,
    run_group,
    run_name,
    sweep_group,
    wandb_run_id,
)

__all__ = [
    "JsonlTracker",
    "MirroredTracker",
    "NullTracker",
    "Tracker",
    "make_tracker",
    "read_jsonl_log",
    "run_group",
    "run_name",
    "sweep_group",
    "wandb_run_id",
]
