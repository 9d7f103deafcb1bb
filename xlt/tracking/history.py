"""A training stage's metric history, kept in its artifact folder and replayed when it is reused.

    with record_history(ctx.tracker, ctx.out, enabled=rank() == 0) as tracker:
        ...                                   # the stage logs to `tracker` as usual
    replay_history(run_tracker, artifact.path)  # a later run that reuses the stage

A run folder lists the stages whose curves its log holds (`logged_stages`, `note_logged`): a
rerun of the folder (a SLURM requeue) continues the same log and W&B run, and must not replay
curves they already hold.

A stage taken from the cache does not run, so without this a run that reuses a pretrained, SFT
or RL model would have none of its training curves (in its JSONL log nor in W&B); a sweep over
RL source languages would show curves only in the member that happened to train each stage.
`xlt.stages.evaluate.log_to_tracker` does the same for evaluations, from their results.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xlt.tracking.base import JsonlTracker, Tracker, read_jsonl_log

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"  # in the stage's artifact folder, JsonlTracker's records
LOGGED_FILE = "logged_stages.txt"  # in the run folder: `<stage>/<key>` a line


class RecordingTracker:
    """Passes every call on to `tracker` and appends it to the history file at `path`."""

    def __init__(self, tracker: Tracker, path: str | Path):
        self.tracker = tracker
        self.history = JsonlTracker(path)

    def log(self, metrics: dict[str, float], step: int) -> None:
        self.tracker.log(metrics, step)
        self.history.log(metrics, step)

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.tracker.log_table(key, columns, rows)
        self.history.log_table(key, columns, rows)

    def log_image(self, key: str, path: str | Path) -> None:
        self.tracker.log_image(key, path)
        self.history.log_image(key, path)

    def close(self) -> None:
        self.history.close()  # the run's tracker belongs to the run, which closes it


@contextmanager
def record_history(tracker: Tracker, folder: str | Path, *, enabled: bool = True) -> Iterator[Any]:
    """`tracker`, also recording into `folder/history.jsonl` when `enabled` (the rank that
    logs: the other ranks of a launch share the folder and log nothing)."""
    if not enabled:
        yield tracker
        return
    recording = RecordingTracker(tracker, Path(folder) / HISTORY_FILE)
    try:
        yield recording
    finally:
        recording.close()


def replay_history(tracker: Tracker, folder: str | Path) -> int:
    """Log a reused stage's recorded history to `tracker`; returns the records logged."""
    path = Path(folder) / HISTORY_FILE
    if not path.is_file():  # trained before stages kept their history
        log.warning("%s has no %s: its training curves are not in this run", folder, HISTORY_FILE)
        return 0
    records = latest_records(read_jsonl_log(path))
    for record in records:
        if record["kind"] == "metrics":
            tracker.log(record["metrics"], step=record["step"])
        elif record["kind"] == "table":
            tracker.log_table(record["key"], record["columns"], record["rows"])
        elif record["kind"] == "image":
            tracker.log_image(record["key"], record["path"])
        else:
            raise ValueError(f"{path}: unknown record kind {record['kind']!r}")
    return len(records)


def latest_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without those logged again later (same step, same metric keys): an
    interrupted stage resumes from its last checkpoint and logs the steps after it again."""
    seen: set[tuple] = set()
    kept = []
    for record in reversed(records):
        if record["kind"] == "metrics":
            key = (record["step"], tuple(sorted(record["metrics"])))
            if key in seen:
                continue
            seen.add(key)
        kept.append(record)
    return kept[::-1]


def logged_stages(run_dir: str | Path) -> set[str]:
    """`<stage>/<key>` of each stage whose curves the run folder's log holds already."""
    path = Path(run_dir) / LOGGED_FILE
    return set(path.read_text().split()) if path.is_file() else set()


def note_logged(run_dir: str | Path, name: str) -> None:
    with (Path(run_dir) / LOGGED_FILE).open("a", encoding="utf-8") as file:
        file.write(name + "\n")
