"""A Weights & Biases mirror of the JSONL log, and a reader for offline runs.

`WandbTracker` implements `xlt.tracking.Tracker`. It is offline unless told
otherwise (`mode="online"`); offline runs land in `<dir>/wandb/offline-run-*`
and upload later with `wandb sync <that folder>`. The JSONL log stays the
source of truth: `make_tracker` writes it always and mirrors here.

Steps: W&B drops a `log` whose step is below one it has seen, and xlt logs
evaluation rows (step 0, pre-RL) after training steps. So the step is sent as
the metric `xlt/step`, the x-axis of every chart, not as W&B's own step.

`read_offline_run(path)` (or `wait_for_offline_run`) decodes an offline run's `.wandb` file (W&B's
LevelDB-style record log of protobuf `Record`s) back into its group, config and
logged rows: tests use it to check what a run holds, without the network.
"""

from __future__ import annotations

import glob
import json
import struct
import time
from pathlib import Path
from typing import Any

STEP_KEY = "xlt/step"


class WandbTracker:
    def __init__(
        self,
        *,
        project: str = "xlt",
        entity: str | None = None,
        mode: str = "offline",
        group: str | None = None,
        name: str | None = None,
        job_type: str | None = None,
        config: dict[str, Any] | None = None,
        dir: str | Path = ".",
        run_id: str | None = None,
        resume: str | None = None,
    ):
        if mode not in ("offline", "online"):
            raise ValueError(f"tracking.mode={mode!r} must be 'offline' or 'online'")
        import wandb  # deferred: only runs that mirror to W&B pay for the import

        self._wandb = wandb
        Path(dir).mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=project,
            entity=entity,
            mode=mode,
            group=group,
            name=name,
            job_type=job_type,
            config=config,
            dir=str(dir),
            id=run_id,
            resume=resume,  # "allow": continue run `run_id` if it exists, else start it
            reinit="create_new",  # several trackers in one process (tests, report) stay separate
        )
        self.run.define_metric(STEP_KEY)
        self.run.define_metric("*", step_metric=STEP_KEY)
        self._step = 0

    @property
    def run_dir(self) -> Path:
        """The run's local folder (`.../wandb/offline-run-*` offline)."""
        return Path(self.run.dir).parent

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._step = step
        self.run.log({**metrics, STEP_KEY: step})

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        table = self._wandb.Table(columns=columns, data=[list(row) for row in rows])
        self.run.log({key: table, STEP_KEY: self._step})

    def log_image(self, key: str, path: str | Path) -> None:
        self.run.log({key: self._wandb.Image(str(path)), STEP_KEY: self._step})

    def close(self) -> None:
        self.run.finish()


# --- reading an offline run back ---------------------------------------------------

_HEADER_BYTES = 7  # ":W&B", a 2-byte magic, a 1-byte version
_BLOCK_BYTES = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _records(raw: bytes) -> list[bytes]:
    """The payloads of a LevelDB-style log: 32 KiB blocks of (crc32, length, type, data) chunks."""
    if raw[:4] != b":W&B":
        raise ValueError("not a W&B run file (missing the ':W&B' header)")
    records, parts, pos = [], [], _HEADER_BYTES
    while pos + 7 <= len(raw):
        left = _BLOCK_BYTES - pos % _BLOCK_BYTES
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        data = raw[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == _FULL:
            records.append(data)
        elif kind == _FIRST:
            parts = [data]
        elif kind == _MIDDLE:
            parts.append(data)
        elif kind == _LAST:
            records.append(b"".join(parts + [data]))
    return records


def _nest(row: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        row = row.setdefault(key, {})
    row[keys[-1]] = value


def read_offline_run(path: str | Path) -> dict[str, Any]:
    """{"id", "name", "group", "job_type", "config", "history": [row, ...], "dir", "complete"}
    of an offline run folder (or its .wandb file)."""
    from wandb.proto import wandb_internal_pb2

    path = Path(path)
    files = [path] if path.is_file() else [Path(p) for p in glob.glob(str(path / "*.wandb"))]
    if len(files) != 1:
        raise ValueError(f"{path}: expected one .wandb file, found {len(files)}")
    run: dict[str, Any] = {
        "id": None, "name": None, "group": None, "job_type": None, "config": {}, "history": [],
        "dir": str(files[0].parent), "complete": False,
    }  # fmt: skip
    for data in _records(files[0].read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["id"], run["name"] = record.run.run_id, record.run.display_name or None
            run["group"] = record.run.run_group or None
            run["job_type"] = record.run.job_type or None
            updates = record.run.config.update
        elif kind == "config":
            updates = record.config.update
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _nest(row, list(item.nested_key) or [item.key], json.loads(item.value_json))
            run["history"].append(row)
            continue
        else:
            run["complete"] |= kind == "exit"
            continue
        for item in updates:
            if item.key != "_wandb":
                run["config"][item.key] = json.loads(item.value_json)
    return run


def wait_for_offline_run(path: str | Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """`read_offline_run` once the run's exit record is on disk: W&B's service process
    may still be writing the file when `finish()` returns."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            run = read_offline_run(path)
        except ValueError:
            run = None  # the .wandb file does not exist yet
        if run is not None and run["complete"]:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path}: the W&B run file has no exit record after {timeout_s} s")
        time.sleep(0.2)
