"""Cached stages: each stage's output folder is keyed by a hash of its config and inputs.

`Pipeline.run(stage, fn, spec, inputs)` returns the stage's `Artifact`:

- The folder is `<artifacts_dir>/<stage>/<key>`, where `key` hashes the stage
  name, its spec (the frozen dataclass that is the stage's whole input, `xlt.spec`;
  fields marked `outside_key` left out), its seed and the keys of its input
  artifacts, so a change anywhere upstream changes it. The stage function gets
  that spec and nothing else of the configuration, so it cannot read a setting
  its key misses.
- A `DONE` file, written last, marks a finished stage; a finished folder is
  reused, never recomputed (a sweep over RL source languages trains each SFT
  model once).
- A folder without `DONE` was interrupted: the stage runs again in the same
  folder, so a stage that checkpoints (training, RL) resumes from its newest
  complete checkpoint; stages overwrite whatever else they find there.
- A file lock per key makes concurrent jobs (sweep members, SLURM tasks on a
  shared filesystem) wait for one producer instead of racing.
- Under a multi-process launch (`deepspeed`, `torchrun`), a *collective* stage
  (training) runs on every rank of the launch together: rank 0 takes the lock
  and writes a claim naming the launch, the other ranks join when they see it,
  and only rank 0 writes the markers. Other stages run on whichever rank takes
  the lock first; the rest wait and reuse its result.

Every run records which artifacts it used (`artifacts.json` in the run folder).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from xlt.spec import digest, key_dict

log = logging.getLogger(__name__)
DONE = "DONE"
CLAIM = "CLAIM"  # which multi-process launch is producing a collective stage
KEY_LENGTH = 16
CLAIM_POLL_S = 1.0


@dataclass(frozen=True)
class Artifact:
    stage: str
    key: str
    path: Path
    reused: bool = field(default=False, compare=False)  # taken from the cache, not computed now


@dataclass
class StageContext:
    """What a stage function gets: its spec, its inputs' folders and the folder to fill."""

    spec: Any  # the stage's frozen spec dataclass (a plain mapping in tests)
    inputs: dict[str, Path]
    out: Path
    tracker: Any  # xlt.tracking.Tracker
    seed: int


StageFn = Callable[[StageContext], None]


def stage_key(stage: str, spec: Any, inputs: Mapping[str, Artifact], seed: int = 0) -> str:
    payload = {
        "stage": stage,
        "config": {**key_dict(spec), "seed": seed},
        "inputs": {name: f"{art.stage}/{art.key}" for name, art in sorted(inputs.items())},
    }
    return digest(payload, KEY_LENGTH)


def is_done(folder: Path) -> bool:
    return (folder / DONE).is_file()


def launch_id() -> str:
    """Identifies this multi-process launch: the same on every rank, new for each launch."""
    env = os.environ
    run_id = env.get("TORCHELASTIC_RUN_ID", "none")
    address = f"{env.get('MASTER_ADDR', '')}:{env.get('MASTER_PORT', '')}"
    # A requeued SLURM job keeps its job id and port: the restart count tells its attempts
    # apart, so a claim left by the killed attempt is not joined by the new one.
    slurm = f"{env.get('SLURM_JOB_ID', '')}.{env.get('SLURM_RESTART_COUNT', '0')}"
    return f"{run_id}@{address}@{slurm}"


@dataclass
class Pipeline:
    artifacts_dir: Path
    tracker: Any
    rank: int = 0
    world_size: int = 1
    used: list[dict[str, Any]] = field(default_factory=list)

    def run(
        self,
        stage: str,
        fn: StageFn,
        spec: Any,
        inputs: Mapping[str, Artifact] | None = None,
        *,
        seed: int = 0,
        label: str | None = None,
        collective: bool = False,
    ) -> Artifact:
        """Run `fn` unless its artifact is already complete; return the artifact either way.

        `seed` is part of the key and is what the stage sees as `ctx.seed`. `label`
        names this use in the run's record (the same stage can serve twice, e.g.
        evaluation before and after RL). `collective`: every rank of a multi-process
        launch must run `fn` together (DeepSpeed training).
        """
        inputs = dict(inputs or {})
        key = stage_key(stage, spec, inputs, seed)
        folder = Path(self.artifacts_dir) / stage / key
        started = time.perf_counter()
        reused = is_done(folder)
        if not reused:
            folder.parent.mkdir(parents=True, exist_ok=True)
            if collective and self.world_size > 1 and self.rank != 0:
                reused = self._join_claim(folder)
                if not reused:  # rank 0 writes the markers
                    self._produce(stage, fn, spec, inputs, folder, seed, writer=False)
            else:
                with FileLock(str(folder) + ".lock"):
                    reused = is_done(folder)  # another job may have finished it while we waited
                    if not reused:
                        claim = collective and self.world_size > 1
                        if claim:
                            folder.mkdir(parents=True, exist_ok=True)
                            (folder / CLAIM).write_text(launch_id())
                        self._produce(stage, fn, spec, inputs, folder, seed)
                        if claim:
                            (folder / CLAIM).unlink(missing_ok=True)
        artifact = Artifact(stage, key, folder, reused=reused)
        # on every rank: the ranks of a launch must agree on what they used
        log.info("%s: %s %s", label or stage, "reused" if reused else "produced", folder)
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

    def _join_claim(self, folder: Path) -> bool:
        """Non-zero ranks: wait until rank 0 claims the stage for this launch (then join it,
        returning False) or some job finishes it (returning True: reuse)."""
        me = launch_id()
        while True:
            if is_done(folder):
                return True
            claim = folder / CLAIM
            if claim.is_file() and claim.read_text() == me:
                return False
            time.sleep(CLAIM_POLL_S)

    def _produce(
        self,
        stage: str,
        fn: StageFn,
        spec: Any,
        inputs: Mapping[str, Artifact],
        folder: Path,
        seed: int,
        *,
        writer: bool = True,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "stage": stage,
            "spec": _as_record(spec),
            "seed": seed,
            "inputs": {n: str(a.path) for n, a in inputs.items()},
        }
        if writer:
            (folder / "stage.json").write_text(json.dumps(record, indent=2, default=str))
        started = time.perf_counter()
        ctx = StageContext(
            spec=spec,
            inputs={name: art.path for name, art in inputs.items()},
            out=folder,
            tracker=self.tracker,
            seed=seed,
        )
        fn(ctx)
        if not writer:
            return
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


def _as_record(spec: Any) -> Any:
    """The whole spec for `stage.json`, `outside_key` fields included (what actually ran)."""
    return dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else spec
