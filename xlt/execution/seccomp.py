"""A seccomp filter that stops a sandboxed program from creating user namespaces.

Inside a user namespace of its own a slot uid holds every capability over it: it can
mount, build network namespaces and reach kernel code that unprivileged users otherwise
cannot (most recent local kernel exploits start there). The program needs none of that.
bwrap loads this filter (`--seccomp FD`) just before it starts the program, and the
filter is inherited by every child:

- `unshare` and `clone` with CLONE_NEWUSER fail with EPERM;
- `clone3` fails with ENOSYS (its flags are in memory, which a filter cannot read):
  glibc then falls back to `clone`, as it does on kernels before 5.3;
- on x86_64, x32 system calls (another entry to the same calls) fail with ENOSYS, and
  so does every call of another ABI (i386's `int 0x80`).

Everything else is allowed: this is not a general system-call policy (see
docs/execution.md). Built as classic BPF by hand (`struct sock_filter`, linux/filter.h),
since libseccomp's Python binding is not installable from PyPI.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

CLONE_NEWUSER = 0x10000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
X32_BIT = 0x40000000
# Opcodes: load a word of `struct seccomp_data`, jumps on a constant, return a constant.
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
NR_AT, ARCH_AT, ARG0_AT = 0, 4, 16  # offsets in seccomp_data (arg 0's low word: LE)

# machine -> (AUDIT_ARCH_*, unshare, clone, clone3)
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def no_user_namespaces() -> bytes | None:
    """The filter program for this machine, or None on an architecture not in ARCHES."""
    if platform.machine() not in ARCHES:
        return None
    arch, unshare, clone, clone3 = ARCHES[platform.machine()]
    eperm, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    program = [
        _insn(LD_ABS, ARCH_AT),
        _insn(JEQ, arch, jt=1),  # another ABI (e.g. i386 on x86_64): refuse it all
        _insn(RET, enosys),
        _insn(LD_ABS, NR_AT),
        _insn(JGE, X32_BIT, jt=6),  # x32 (x86_64 only; other numbers never get there)
        _insn(JEQ, clone3, jt=5),
        _insn(JEQ, unshare, jt=1),
        _insn(JEQ, clone, jf=2),
        _insn(LD_ABS, ARG0_AT),  # the flags of unshare and clone
        _insn(JSET, CLONE_NEWUSER, jt=2),
        _insn(RET, RET_ALLOW),
        _insn(RET, enosys),  # x32, clone3
        _insn(RET, eperm),  # a new user namespace
    ]
    # Index check: the jumps above land on 10 (allow), 11 (ENOSYS) and 12 (EPERM).
    return b"".join(program)


def filter_fd(program: bytes) -> int:
    """A fresh file holding `program` at offset 0, for bwrap's `--seccomp FD` (bwrap reads
    it to the end, so each run needs its own). The caller closes it after the start."""
    fd = os.memfd_create("xlt-seccomp", 0)  # not close-on-exec: bwrap inherits it
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
