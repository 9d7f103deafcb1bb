"""Per-job memory and process limits: one control group per worker slot.

rlimits are per process (RLIMIT_AS) or per uid (RLIMIT_NPROC): 8 processes of 700 MB
each stayed under `memory_mb=1024` while the job held 6.1 GB. A control group bounds
what all processes of the job hold together (resident memory, tmpfs pages included)
and how many there are.

Where: cgroup v2 when the engine's own group delegates `memory` and `pids` (its
`cgroup.subtree_control` lists them, or accepts them); else the v1 `memory` hierarchy
when it is mounted writable (as on this project's CI machines). Under v1 the process
count stays with RLIMIT_NPROC, which is per job already (one uid per slot): joining a
v1 group costs a cgroup migration (an RCU grace period, ~5 ms on a loaded machine), and
a `pids` group would cost a second one for nothing. A slot's group is a child of the
engine's own group, so the caller's limits still apply above it. Neither:
`SlotGroup.create` returns None and the rlimits alone apply (docs/execution.md).

A program joins its group before it execs (`join_argv`: a `sh` that writes its own pid
to `cgroup.procs`), so no child can start outside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            for name in names.split(",") if names else [""]:
                paths[name] = path
    return paths


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _v2_parent() -> Path | None:
    """The engine's own v2 group, if it delegates memory and pids to child groups."""
    own = _own_paths().get("")
    if own is None or not (ROOT / "cgroup.controllers").exists():
        return None
    parent = ROOT / own.lstrip("/")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if not all(name in enabled for name in CONTROLLERS):
            # Refused (EBUSY) while the group itself holds processes, unless it is the root.
            _write(parent / "cgroup.subtree_control", " ".join(f"+{n}" for n in CONTROLLERS))
    except OSError:
        return None
    return parent


def _v1_parent() -> Path | None:
    """The engine's own v1 memory group, if that hierarchy is mounted."""
    own = _own_paths().get("memory")
    base = ROOT / "memory"
    if own is None or not (base / "cgroup.procs").exists():
        return None
    return base / own.lstrip("/")


@dataclass
class SlotGroup:
    """The control group of one worker slot: `dirs` maps each controller it limits to its
    folder (v2: memory and pids, the same folder; v1: memory)."""

    dirs: dict[str, Path]
    version: int

    @classmethod
    def create(cls, name: str) -> SlotGroup | None:
        """The slot's group `name` under the engine's own, made (or reused) and emptied;
        None where neither cgroup version can be written."""
        v2 = _v2_parent()
        if v2 is not None:
            candidate = cls({n: v2 / name for n in CONTROLLERS}, 2)
        else:
            parent = _v1_parent()
            if parent is None:
                return None
            candidate = cls({"memory": parent / name}, 1)
        try:
            for folder in set(candidate.dirs.values()):
                folder.mkdir(exist_ok=True)
            candidate.limit(None, 256)  # proves the files are writable
        except OSError as error:
            log.warning("xlt.execution: no per-job cgroup (%s); rlimits only", error)
            return None
        return candidate

    @property
    def _memory(self) -> Path:
        return self.dirs["memory"]

    def limit(self, memory_mb: int | None, processes: int) -> None:
        """Set the next job's limits (None: no memory limit beyond the engine's own)."""
        if self.version == 2:
            _write(self._memory / "memory.max", "max" if memory_mb is None else f"{memory_mb}M")
            with contextlib.suppress(OSError):  # absent without swap accounting
                _write(self._memory / "memory.swap.max", "0")
        else:
            _write(self._memory / "memory.limit_in_bytes", "-1" if memory_mb is None else f"{memory_mb}M")  # fmt: skip
        if "pids" in self.dirs:  # v1: RLIMIT_NPROC of the slot uid (see the module doc)
            _write(self.dirs["pids"] / "pids.max", str(max(processes, 1)))

    def oom_kills(self) -> int:
        """How many processes the kernel killed for this group's memory limit, so far."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self._memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def procs_files(self) -> list[str]:
        return sorted({str(folder / "cgroup.procs") for folder in self.dirs.values()})

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.procs_files():
            with contextlib.suppress(OSError):
                found.update(int(p) for p in Path(path).read_text().split())
        return sorted(found)

    def remove(self) -> None:
        for folder in set(self.dirs.values()):
            with contextlib.suppress(OSError):
                folder.rmdir()


# `sh -c JOIN procs... -- argv`: writes its pid into each group, then execs argv in place.
JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


def join_argv(group: SlotGroup | None) -> list[str]:
    """The argv prefix that moves the program into `group` before it starts."""
    if group is None:
        return []
    return ["/bin/sh", "-c", JOIN, "xlt-cgroup-join", *group.procs_files(), "--"]


def kill_all(group: SlotGroup) -> None:
    """SIGKILL whatever is still in the group (the pid namespace usually took it already)."""
    for pid in group.pids():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)
