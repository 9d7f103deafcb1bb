"""Metric tracking: a local JSONL log that is the source of truth, plus optional mirrors.

Only training/eval loops call a tracker; library code returns `dict[str, float]`
with slash-separated keys (`train/loss`, `eval/micro/py/pass@1`).
"""

from xlt.tracking.base import JsonlTracker, Tracker, read_jsonl_log

__all__ = ["JsonlTracker", "Tracker", "read_jsonl_log"]
