"""bubblewrap's command line for one run: which folders are emptied, which bound back.

`xlt.execution.sandbox` runs every program under `bwrap` (when xlt runs as root and it
works here): fresh pid, mount, ipc and uts namespaces, the host read-only, and an empty
tmpfs on each folder programs share on the host (/tmp, /var/tmp, /dev/shm, /run, the
folder above the job folders), with the job's own folder and the build caches bound
back at their own paths (so the compile servers outside and the program inside agree
on every path). bubblewrap: https://github.com/containers/bubblewrap, `bwrap(1)`.
"""

from __future__ import annotations

from pathlib import Path

# Shared scratch folders of the host: each bwrap run gets its own empty ones (mode).
PRIVATE_DIRS = {"/tmp": 0o1777, "/var/tmp": 0o1777, "/dev/shm": 0o1777, "/run": 0o755}
BWRAP_BASE = (
    "--die-with-parent",  # the run ends with the engine's thread that started it
    "--new-session",  # no TIOCSTI into a terminal of the caller
    "--unshare-pid",  # own /proc: no other process, no judge command line
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"),
)


def _under(path: Path, folders: dict[Path, int]) -> Path | None:
    """The deepest of `folders` that strictly contains `path`."""
    holders = [f for f in folders if path != f and path.is_relative_to(f)]
    return max(holders, key=lambda f: len(f.parts), default=None)


def isolation_argv(
    bwrap: str, hidden: dict[Path, int], visible: list[Path], cwd: Path, tmpfs_mb: int
) -> list[str]:
    """bwrap's mount options: an empty tmpfs on each `hidden` folder (with its mode), then
    each `visible` folder bound back read-write at its own path. Folders bwrap must create
    on the way are mode 0711: a slot uid passes through them but cannot list them."""
    argv = [bwrap, *BWRAP_BASE]
    made: set[Path] = set()
    mounts = sorted({*hidden, *visible}, key=lambda p: (len(p.parts), str(p)))  # outer first
    for target in mounts:
        holder = _under(target, hidden)
        if holder is not None:
            for step in reversed(target.parents):
                if step.is_relative_to(holder) and step != holder and step not in made:
                    argv += ["--perms", "0711", "--dir", str(step)]
                    made.add(step)
        if target in hidden:
            argv += ["--perms", f"{hidden[target]:04o}", "--size", str(tmpfs_mb << 20)]
            argv += ["--tmpfs", str(target)]
        else:
            argv += ["--bind", str(target), str(target)]
    return [*argv, "--chdir", str(cwd)]
