"""Cached stages: each stage's output folder is keyed by a hash of its config and inputs.

`Pipeline.run(stage, fn, config, inputs)` returns the stage's `Artifact`:

- The folder is `<artifacts_dir>/<stage>/<key>`, where `key` hashes the stage
  name, its config (a JSON-able dict of exactly what the stage reads) and the
  keys of its input artifacts, so a change anywhere upstream changes it.
- A `DONE` file, written last, marks a finished stage; a finished folder is
  reused, never recomputed (a sweep over RL source languages trains each SFT
  model once).
- A folder without `DONE` was interrupted: the stage runs again in the same
  folder, so a stage that checkpoints (training, RL) resumes from its newest
  complete checkpoint; stages overwrite whatever else they find there.
- A file lock per key makes concurrent jobs (sweep members, SLURM tasks on a
  shared filesystem) wait for one producer instead of racing.

Every run records which artifacts it used (`artifacts.json` in the run folder).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

DONE = "DONE"
KEY_LENGTH = 16


@dataclass(frozen=True)
class Artifact:
    stage: str
    key: str
    path: Path
    reused: bool = field(default=False, compare=False)  # taken from the cache, not computed now


@dataclass
class StageContext:
    """What a stage function gets: its config, its inputs' folders and the folder to fill."""

    cfg: Any  # the typed root config (xlt.config.XltConfig)
    inputs: dict[str, Path]
    out: Path
    tracker: Any  # xlt.tracking.Tracker
    seed: int


StageFn = Callable[[StageContext], None]


def stage_key(stage: str, config: Mapping[str, Any], inputs: Mapping[str, Artifact]) -> str:
    payload = {
        "stage": stage,
        "config": config,
        "inputs": {name: f"{art.stage}/{art.key}" for name, art in sorted(inputs.items())},
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:KEY_LENGTH]


def is_done(folder: Path) -> bool:
    return (folder / DONE).is_file()


@dataclass
class Pipeline:
    artifacts_dir: Path
    cfg: Any
    tracker: Any
    used: list[dict[str, Any]] = field(default_factory=list)

    def run(
        self,
        stage: str,
        fn: StageFn,
        config: Mapping[str, Any],
        inputs: Mapping[str, Artifact] | None = None,
        *,
        seed: int = 0,
        label: str | None = None,
    ) -> Artifact:
        """Run `fn` unless its artifact is already complete; return the artifact either way.

        `seed` is part of the key and is what the stage sees as `ctx.seed`. `label`
        names this use in the run's record (the same stage can serve twice, e.g.
        evaluation before and after RL).
        """
        inputs = dict(inputs or {})
        key = stage_key(stage, {**config, "seed": seed}, inputs)
        folder = Path(self.artifacts_dir) / stage / key
        started = time.perf_counter()
        reused = is_done(folder)
        if not reused:
            folder.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(folder) + ".lock"):
                reused = is_done(folder)  # another job may have finished it while we waited
                if not reused:
                    self._produce(stage, fn, config, inputs, folder, seed)
        artifact = Artifact(stage, key, folder, reused=reused)
        self.used.append(
            {
                "label": label or stage,
                "stage": stage,
                "key": key,
                "path": str(folder),
                "reused": reused,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        return artifact

    def _produce(
        self,
        stage: str,
        fn: StageFn,
        config: Mapping[str, Any],
        inputs: Mapping[str, Artifact],
        folder: Path,
        seed: int,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "stage": stage,
            "config": config,
            "seed": seed,
            "inputs": {n: str(a.path) for n, a in inputs.items()},
        }
        (folder / "stage.json").write_text(json.dumps(record, indent=2, default=str))
        started = time.perf_counter()
        ctx = StageContext(
            cfg=self.cfg,
            inputs={name: art.path for name, art in inputs.items()},
            out=folder,
            tracker=self.tracker,
            seed=seed,
        )
        fn(ctx)
        done = {
            "stage": stage,
            "seconds": round(time.perf_counter() - started, 3),
            "finished": time.time(),
        }
        (folder / DONE).write_text(json.dumps(done))

    def write_record(self, run_dir: Path) -> Path:
        path = Path(run_dir) / "artifacts.json"
        path.write_text(json.dumps(self.used, indent=2))
        return path
