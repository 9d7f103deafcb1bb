"""Build a run's tracker: the JSONL log (always, the source of truth) plus optional mirrors.

    tracker = make_tracker("wandb", run_dir, config=resolved_config)
    try:
        ...
    finally:
        tracker.close()

A mirror that fails (W&B down, disk full under ./wandb) is dropped with a
warning; the JSONL log keeps every record.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from xlt.tracking.base import JsonlTracker, Tracker

log = logging.getLogger(__name__)

BACKENDS = ("jsonl", "wandb")
LOG_FILE = "metrics.jsonl"


class MirroredTracker:
    """Writes to `primary` and to each mirror; a failing mirror is dropped, never fatal."""

    def __init__(self, primary: Tracker, mirrors: list[Tracker]):
        self.primary = primary
        self.mirrors = list(mirrors)

    def _mirror(self, method: str, *args: Any) -> None:
        for mirror in list(self.mirrors):
            try:
                getattr(mirror, method)(*args)
            except Exception as error:  # a mirror must never take the run down
                log.warning(
                    "tracking mirror %s failed (%s); dropping it", type(mirror).__name__, error
                )
                self.mirrors.remove(mirror)

    def log(self, metrics: dict[str, float], step: int) -> None:
        self.primary.log(metrics, step)
        self._mirror("log", metrics, step)

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.primary.log_table(key, columns, rows)
        self._mirror("log_table", key, columns, rows)

    def log_image(self, key: str, path: str | Path) -> None:
        self.primary.log_image(key, path)
        self._mirror("log_image", key, path)

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            self._mirror("close")


def sweep_group(run_dir: str | Path) -> str | None:
    """The sweep a run folder belongs to (Hydra writes multirun.yaml in the sweep folder)."""
    sweep = Path(run_dir).resolve().parent
    if (sweep / "multirun.yaml").is_file():
        return f"{sweep.parent.name}_{sweep.name}"
    return None


def make_tracker(
    backend: str,
    run_dir: str | Path,
    *,
    project: str = "xlt",
    entity: str | None = None,
    mode: str = "offline",
    group: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
) -> Tracker:
    """`run_dir/metrics.jsonl`, mirrored to W&B when `backend == "wandb"` (run files under
    `run_dir/wandb/`). `group` defaults to the sweep folder, so a sweep's runs are grouped;
    `config` (the resolved config) is logged with the run."""
    if backend not in BACKENDS:
        raise ValueError(f"tracking.backend={backend!r} is not one of {list(BACKENDS)}")
    run_dir = Path(run_dir)
    primary = JsonlTracker(run_dir / LOG_FILE)
    if backend == "jsonl":
        return primary
    from xlt.tracking.wandb import WandbTracker

    mirror = WandbTracker(
        project=project,
        entity=entity,
        mode=mode,
        group=group or sweep_group(run_dir),
        name=name or run_dir.name,
        config=config,
        dir=run_dir,
    )
    return MirroredTracker(primary, [mirror])
