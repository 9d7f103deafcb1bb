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
import secrets
from pathlib import Path
from typing import Any

from xlt.tracking.base import JsonlTracker, Tracker

log = logging.getLogger(__name__)

BACKENDS = ("jsonl", "wandb")
LOG_FILE = "metrics.jsonl"
RUN_ID_FILE = "wandb_run_id"  # in the run folder


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


def sweep_label(sweep_dir: str | Path) -> str:
    """A sweep folder's name for W&B: `<date>_<time>` of Hydra's `multirun/<date>/<time>`."""
    sweep = Path(sweep_dir).resolve()
    return f"{sweep.parent.name}_{sweep.name}"


def sweep_group(run_dir: str | Path) -> str | None:
    """The sweep a run folder belongs to (Hydra writes multirun.yaml in the sweep folder)."""
    sweep = Path(run_dir).resolve().parent
    if (sweep / "multirun.yaml").is_file():
        return sweep_label(sweep)
    return None


def run_group(
    explicit: str | None, experiment: str | None, sweep_dir: str | Path | None
) -> str | None:
    """The W&B group: `tracking.group` when set; else a sweep's members share
    `<experiment>_<date>_<time>` (one group per sweep, not per experiment, so sweeps of
    one experiment stay apart); a single run is grouped by its experiment."""
    if explicit:
        return explicit
    if sweep_dir is not None:
        return "_".join(part for part in (experiment, sweep_label(sweep_dir)) if part)
    return experiment


def run_name(override_dirname: str, experiment: str | None, run_dir: str | Path) -> str:
    """The W&B run name: the run's overrides (`rl.source_language=js,seed=1`: what sets a sweep's
    members apart), else its experiment, else its folder's name."""
    return override_dirname or experiment or Path(run_dir).name


def wandb_run_id(run_dir: str | Path) -> str:
    """The W&B run id of this run folder: made on its first run and kept in the folder, so a
    rerun of the folder (a SLURM requeue, `hydra.run.dir=<it>`) continues the same W&B run."""
    path = Path(run_dir) / RUN_ID_FILE
    run_id = path.read_text().strip() if path.is_file() else ""
    if not run_id:  # first run (an empty file is a write cut short: nothing logged under it)
        run_id = secrets.token_hex(8)  # W&B ids may not hold ":;,#?/'"; hex never does
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(run_id + "\n")
    return run_id


def make_tracker(
    backend: str,
    run_dir: str | Path,
    *,
    project: str = "xlt",
    entity: str | None = None,
    mode: str = "offline",
    group: str | None = None,
    name: str | None = None,
    job_type: str | None = None,
    config: dict[str, Any] | None = None,
) -> Tracker:
    """`run_dir/metrics.jsonl`, mirrored to W&B when `backend == "wandb"` (run files under
    `run_dir/wandb/`). `group` defaults to the sweep folder, so a sweep's runs are grouped;
    `config` (the resolved config) is logged with the run. The W&B run's id is kept in
    `run_dir/wandb_run_id`: a second tracker on the same folder resumes that run."""
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
        job_type=job_type,
        config=config,
        dir=run_dir,
        run_id=wandb_run_id(run_dir),
        resume="allow",  # a new id starts a run, a known one continues it
    )
    return MirroredTracker(primary, [mirror])
