"""Folders the engine trusts (result cache, build caches, uid leases) must be its own.

Sandboxed programs can write to world-writable places (/tmp, /var/tmp). If one of them
creates a folder the engine is about to use (`/var/tmp/xlt-shared-0`, a cache_dir under
/tmp), adopting it would let the program plant a compiler server's class that the
engine runs as root, or a forged cached `ok`. So a folder is created exclusively, or,
if it exists, used only when it is a real folder (not a symlink) owned by the engine's
euid without group/other write bits, under parents that nobody else can rename it out
of (owned by root or the engine, and not writable by others unless sticky, as /tmp is).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnsafeFolderError(RuntimeError):
    """An existing folder that someone other than the engine could have planted or can change."""


def _refuse(path: Path, why: str) -> UnsafeFolderError:
    return UnsafeFolderError(
        f"xlt.execution: refusing to use {path}: {why}. A sandboxed program may have created "
        "it; remove it (or choose another cache_dir) and run again."
    )


def _check_parent(path: Path, euid: int) -> None:
    """Nobody but root or us may rename or replace entries of `path` (sticky folders excepted)."""
    info = os.stat(path)
    if info.st_uid not in (0, euid):
        raise _refuse(path, f"a parent folder owned by uid {info.st_uid}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        raise _refuse(path, f"a parent folder writable by others (mode {info.st_mode & 0o7777:o})")


def _check_links(path: Path, euid: int) -> None:
    """A symlink on the way must be root's or ours: another user could repoint it later."""
    for ancestor in [path, *path.parents]:
        info = os.lstat(ancestor)
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in (0, euid):
            raise _refuse(ancestor, f"a symlink owned by uid {info.st_uid}")


def _check_own(path: Path, euid: int) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "not a folder (a symlink or a file)")
    if info.st_uid != euid:
        raise _refuse(path, f"owned by uid {info.st_uid}, not {euid}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _refuse(path, f"writable by group or others (mode {info.st_mode & 0o7777:o})")


def own_folder(path: Path, mode: int = 0o700) -> Path:
    """`path` as a folder that only this process's user controls, with permission bits
    `mode`; created (with missing parents) when absent. Raises UnsafeFolderError when it,
    or a parent, could be someone else's."""
    euid = os.geteuid()
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_links(path.parent, euid)
    resolved = path.parent.resolve()
    for parent in [resolved, *resolved.parents]:
        _check_parent(parent, euid)
    try:
        os.mkdir(path, mode)  # exclusive: fails if anyone created it first
    except FileExistsError:
        _check_own(path, euid)
    os.chmod(path, mode, follow_symlinks=False)  # the umask may have taken bits away
    return path
