"""A program's stdout and stderr: append-only files, and readers of the whole files.

The program writes to files the engine opened, in a folder it cannot open. A plain
file it holds open it could truncate (`ftruncate(2)`) or seek back and overwrite: a
JavaScript program that truncated its stderr after a failed `console.assert` passed.
So the engine opens them with O_APPEND and sets the inode's append-only attribute
(`chattr +a`, needs root's CAP_LINUX_IMMUTABLE and a file system that has it: ext4,
xfs, btrfs, tmpfs from Linux 6.0). Then the kernel refuses truncation, clearing
O_APPEND and hole punching, and every write, `pwrite` included, lands at the end.

Pipes would give the same guarantee everywhere, but Node does not block on a full
pipe: it queues the write in its heap, and in a loop that never yields it never
flushes, so an output flood became a memory failure or a crash whenever the engine
drained the pipe a little late (a loaded machine). Files keep writes synchronous and
`RLIMIT_FSIZE` bounds them.

The files hold the whole streams (up to the limit): the pass rules scan them for
markers and io mode compares every token, not only the head kept in a `Result`.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

READ_CHUNK = 1 << 20  # how much of a finished stream is read at once
# linux/fs.h: the ioctls take a pointer to an int despite their `long` size field.
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_APPEND_FL = 0x80086601, 0x40086602, 0x00000020


def _set_append_only(fd: int, on: bool) -> bool:
    """Set or clear the inode's append-only attribute; False where it cannot be."""
    try:
        (flags,) = struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(4)))
        flags = flags | FS_APPEND_FL if on else flags & ~FS_APPEND_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags))
    except OSError:  # not root, or a file system without the attribute
        return False
    return True


class Logs:
    """The stdout and stderr files of one run (context manager). `fds` go to Popen; on
    exit the attribute is cleared, since an append-only file can be neither reopened
    with O_TRUNC for the next run nor removed."""

    def __init__(self, paths: tuple[Path, ...]):
        self.paths = paths
        self.fds: list[int] = []
        self.append_only = True

    def __enter__(self) -> Logs:
        for path in self.paths:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            self.fds.append(fd)
            self.append_only = _set_append_only(fd, True) and self.append_only
        return self

    def __exit__(self, *exc) -> None:
        for fd in self.fds:
            _set_append_only(fd, False)
            os.close(fd)
        self.fds = []


def append_only_supported(folder: Path) -> bool:
    """Whether output files in `folder` can be made append-only (root and the file system)."""
    probe = folder / ".xlt-append-probe"
    with Logs((probe,)) as logs:
        supported = logs.append_only
    probe.unlink()
    return supported


def read_head(path: Path, limit: int) -> str:
    with open(path, "rb") as handle:
        return handle.read(limit).decode("utf-8", errors="replace")


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk


def markers_in(path: Path, markers: Iterable[str]) -> set[str]:
    """Which `markers` occur anywhere in the file (also across chunk boundaries)."""
    wanted = {marker: marker.encode() for marker in markers}
    overlap = max((len(needle) for needle in wanted.values()), default=1) - 1
    found: set[str] = set()
    tail = b""
    for chunk in _chunks(path):
        window = tail + chunk
        found.update(m for m, needle in wanted.items() if m not in found and needle in window)
        tail = window[-overlap:] if overlap else b""
    return found


def tokens(path: Path) -> Iterator[str]:
    """The file's whitespace-separated tokens, as `text.split()` would give them for the
    whole decoded file, read a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""  # a token that may go on in the next chunk
    for chunk in _chunks(path):
        text = partial + decoder.decode(chunk)
        parts = text.split()
        partial = parts.pop() if parts and not text[-1].isspace() else ""
        yield from parts
    yield from (partial + decoder.decode(b"", final=True)).split()
