"""Run one command of an untrusted program under limits; never raise for its failure.

What each run gets (see docs/execution.md for what this does NOT protect against):
- its own folder as working directory, HOME and TMPDIR;
- its own session and process group, SIGKILLed when the command ends or times out;
- when xlt runs as root: an unprivileged uid of its own (one per worker slot), so
  it cannot write outside world-writable places, cannot read other users' files,
  is held by RLIMIT_NPROC, and every process of that uid is killed afterwards
  (catches children that left the process group with setsid);
- as root with bubblewrap (`bwrap`): a private view of the machine (`xlt.execution.bwrap`):
  fresh pid, mount, ipc and uts namespaces; the host read-only; empty tmpfs on /tmp,
  /var/tmp, /dev/shm, /run and the folder above the job folders, with only its own job
  folder and the build caches bound back; a new /proc that shows only its own processes.
  Whatever it leaves there vanishes with the namespace, and its pid 1 (bwrap's) reaps
  orphans, CLONE_PARENT children included;
- per job, a control group bounding the memory and process count of all its processes
  together (`xlt.execution.cgroup`, where cgroups are writable);
- no network: a fresh network namespace (`unshare --net`, or bwrap's) where permitted;
- rlimits (via `prlimit`): CPU seconds, address space, file size, processes,
  open files, no core dumps;
- a wall-clock timeout, stdin from a file or /dev/null, stdout/stderr to files the
  program cannot open (outside its folder) and, as root, cannot truncate or overwrite
  (append-only, `xlt.execution.capture`); the Outcome keeps a capped head and the paths;
- a scrubbed environment: only PATH, HOME, TMPDIR, locale and the language's own
  variables; no tokens or keys from the caller's environment.

The wrapper chain is `[sh (joins the cgroup)] bwrap ... -- unshare --setuid U --setgid U
-- prlimit ... -- argv`, or without bubblewrap `unshare --net [--setuid U --setgid U] --
prlimit ... -- argv`. Under bwrap the program is pid 2 of its namespace (bwrap's reaper
is pid 1: a namespace's pid 1 ignores SIGXFSZ/SIGXCPU, which would break the limits) and
bwrap reports a death by signal N as exit status 128+N, which `_decode` turns back.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import select
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from xlt.execution import cgroup, seccomp
from xlt.execution.bwrap import BWRAP_BASE, PRIVATE_DIRS, isolation_argv
from xlt.execution.capture import Logs, read_head
from xlt.execution.folders import own_folder
from xlt.execution.toolchains import find_tool

log = logging.getLogger(__name__)
BASE_UID = 64000  # slot uids are leased from BASE_UID up; need not exist in /etc/passwd
MAX_UIDS = 4096
UID_LOCKS = Path("/var/tmp/xlt-uid-leases")
MAX_SWEEP_ROUNDS = 100


@dataclass(frozen=True)
class Limits:
    timeout_s: float  # wall clock
    memory_mb: int | None  # address space; None: unlimited (heap flags do it)
    file_size_mb: int = 64  # any file the program writes, its stdout/stderr included
    processes: int = 256  # threads count too; only enforced for a non-root uid
    open_files: int = 1024

    @property
    def cpu_s(self) -> int:
        return int(self.timeout_s) + 2

    @property
    def file_size_bytes(self) -> int:
        return self.file_size_mb * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None  # None when killed by a signal
    signal: int | None
    timed_out: bool  # wall clock or CPU limit
    file_limit: bool  # killed for writing past the file-size limit
    wall_s: float
    stdout: str  # capped
    stderr: str  # capped
    stdout_bytes: int  # before the cap
    # The whole streams as the engine received them (up to the file-size limit); valid
    # until the next run in the same logs folder. None for outcomes built elsewhere.
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    memory_limit: bool = False  # the job's cgroup killed a process for its memory limit

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@functools.cache
def _probe(argv: tuple[str, ...]) -> bool:
    try:
        done = subprocess.run(
            [*argv, "true"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def network_prefix(mode: str) -> tuple[str, ...]:
    """The argv prefix that cuts the network, per `mode` (on | off | auto).

    `on` raises when no variant works; `auto` falls back to no isolation."""
    if mode not in ("on", "off", "auto"):
        raise ValueError(f"network_isolation: {mode!r} is not one of on, off, auto")
    if mode == "off":
        return ()
    unshare = find_tool(("unshare",))
    variants = [(unshare, "--net")]
    if os.geteuid() != 0:  # unprivileged: a user namespace may still be allowed
        variants.append((unshare, "--user", "--map-current-user", "--net"))
    for variant in variants:
        if unshare is not None and _probe(variant):
            return variant
    if mode == "on":
        raise ValueError(
            "network_isolation=on but `unshare --net` is not permitted here "
            "(needs root or unprivileged user namespaces); use network_isolation=auto or off"
        )
    return ()


def can_drop_privileges() -> bool:
    return os.geteuid() == 0 and find_tool(("unshare",)) is not None


def find_bwrap() -> str | None:
    """bubblewrap, when xlt runs as root and it works here (it needs mount namespaces).
    Not used without root: bwrap would need a user namespace, in which `unshare --setuid`
    cannot switch to the slot uid."""
    bwrap = find_tool(("bwrap",))
    if os.geteuid() != 0 or bwrap is None:
        return None
    return bwrap if _probe((bwrap, *BWRAP_BASE, "--")) else None


class Sandbox:
    """Builds and runs the wrapper chain; one instance per executor."""

    def __init__(
        self,
        network_isolation: str = "auto",
        capture_bytes: int = 65536,
        slots: int = 1,
        compile_slots: int = 0,
    ):
        self.net_prefix = network_prefix(network_isolation)
        self.drop_privileges = can_drop_privileges()
        # Worker slots' uids first, then one per compile server: a server never shares a
        # uid with programs, which could otherwise signal, trace or replace it.
        self.slots = slots
        self._leases = lease_uids(slots + compile_slots) if self.drop_privileges else []
        self.capture_bytes = capture_bytes
        self.prlimit = find_tool(("prlimit",))
        self.unshare = find_tool(("unshare",))
        self.bwrap = find_bwrap() if self.drop_privileges else None
        self.seccomp = seccomp.no_user_namespaces() if self.bwrap else None
        # Emptied in every bwrap run; the runner adds its work folders' parent (`hide`).
        self.hidden = {Path(p): mode for p, mode in PRIVATE_DIRS.items() if Path(p).is_dir()}
        self.shown: list[Path] = []  # build caches: bound back into every run (`show`)
        self._groups = {uid: cgroup.SlotGroup.create(f"xlt-{uid}") for uid, _ in self._leases}

    @property
    def isolation(self) -> str:
        """What separates concurrent runs, for the result cache's key and the docs."""
        groups = {g.version for g in self._groups.values() if g is not None}
        view = "bwrap" if self.bwrap else ("uid" if self.drop_privileges else "none")
        return f"{view}+cgroup-v{groups.pop()}" if groups else view

    def hide(self, folder: Path) -> None:
        """Give every bwrap run an empty `folder`: sticky like /tmp if the host's is (programs
        may write there), else mode 0711. The root folder cannot be hidden."""
        folder = Path(folder)
        sticky = os.stat(folder).st_mode & stat.S_ISVTX
        if folder != Path("/"):
            self.hidden.setdefault(folder, 0o1777 if sticky else 0o711)

    def show(self, folder: Path) -> None:
        self.shown.append(Path(folder))

    @property
    def network_isolated(self) -> bool:
        return bool(self.net_prefix)

    def uid(self, slot: int) -> int | None:
        return self._leases[slot][0] if self.drop_privileges else None

    def compile_uid(self, server: int) -> int | None:
        """The uid of compile server `server` (0 <= server < compile_slots), or None."""
        return self._leases[self.slots + server][0] if self.drop_privileges else None

    def close(self) -> None:
        for uid, handle in self._leases:
            group = self._groups.pop(uid, None)
            if group is not None:
                group.remove()
            handle.close()  # releases the flock
        self._leases = []

    def _bwrap_prefix(
        self,
        limits: Limits,
        uid: int | None,
        cwd: Path,
        visible: tuple[Path, ...],
        seccomp_fd: int | None,
    ) -> list[str]:
        tmpfs_mb = max(limits.memory_mb or 1024, 64)  # the job's cgroup also counts these pages
        argv = isolation_argv(self.bwrap, self.hidden, [*visible, *self.shown], cwd, tmpfs_mb)
        if self.net_prefix:
            argv.append("--unshare-net")
        if seccomp_fd is not None:
            argv += ["--seccomp", str(seccomp_fd)]
        # bwrap drops root's capabilities; `unshare --setuid` needs these two, and a step
        # that runs as the caller (uid None) keeps what root had before bwrap.
        caps = ("CAP_SETUID", "CAP_SETGID") if uid is not None else ("ALL",)
        for cap in caps:
            argv += ["--cap-add", cap]
        argv.append("--")
        if uid is not None:
            argv += [self.unshare, "--setuid", str(uid), "--setgid", str(uid), "--"]
        return argv

    def wrap(
        self,
        argv: list[str],
        limits: Limits,
        uid: int | None,
        cwd: Path | None = None,
        visible: tuple[Path, ...] = (),
        seccomp_fd: int | None = None,
    ) -> list[str]:
        """The whole command line; `visible`: the job's folders a bwrap run may see;
        `seccomp_fd`: an open file holding the filter (`xlt.execution.seccomp`)."""
        group = self._groups.get(uid) if uid is not None else None
        if self.bwrap is not None and cwd is not None:
            isolation = self._bwrap_prefix(limits, uid, cwd, visible, seccomp_fd)
            prefix = cgroup.join_argv(group) + isolation
        else:
            prefix = cgroup.join_argv(group) + self._unshare_prefix(uid)
        rlimits = [
            f"--cpu={limits.cpu_s}",
            f"--fsize={limits.file_size_bytes}",
            f"--nofile={limits.open_files}",
            "--core=0",
        ]
        if uid is not None:
            rlimits.append(f"--nproc={limits.processes}")
        if limits.memory_mb is not None:
            rlimits.append(f"--as={limits.memory_mb * 1024 * 1024}")
        if self.prlimit is None:  # documented: no rlimits without util-linux prlimit
            return prefix + argv
        return prefix + [self.prlimit, *rlimits, "--", *argv]

    def _unshare_prefix(self, uid: int | None) -> list[str]:
        prefix: list[str] = list(self.net_prefix)
        if uid is not None:
            if not prefix:
                prefix = [self.unshare]
            prefix += ["--setuid", str(uid), "--setgid", str(uid)]
        if prefix:
            prefix.append("--")
        return prefix

    def run(
        self,
        argv: list[str],
        *,
        cwd: Path,
        logs: Path,
        env: dict[str, str],
        limits: Limits,
        uid: int | None,
        stdin_path: Path | None = None,
        visible: tuple[Path, ...] = (),
    ) -> Outcome:
        """Run to completion or limit. `logs` is a folder the program cannot open; its
        whole stdout and stderr land there, append-only (`xlt.execution.capture`).
        `visible`: the job's folders (cwd's included), the only ones of the hidden
        folders that a bwrap run sees."""
        out_path, err_path = logs / "stdout", logs / "stderr"
        group = self._groups.get(uid) if uid is not None else None
        oom_before = self._prepare_group(group, limits)
        start = time.perf_counter()
        timed_out = False
        filter_fd = seccomp.filter_fd(self.seccomp) if self.seccomp is not None else None
        with (
            Logs((out_path, err_path)) as outputs,
            open(stdin_path or os.devnull, "rb") as stdin,
        ):
            try:
                proc = subprocess.Popen(
                    self.wrap(argv, limits, uid, cwd, visible or (cwd,), filter_fd),
                    cwd=cwd,
                    env=env,
                    stdin=stdin,
                    stdout=outputs.fds[0],
                    stderr=outputs.fds[1],
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=() if filter_fd is None else (filter_fd,),
                )
            except OSError as error:
                return Outcome(None, None, False, False, 0.0, "", f"cannot start: {error}", 0)
            finally:
                if filter_fd is not None:
                    os.close(filter_fd)
            timed_out, over_output = _wait(proc, limits, (out_path, err_path), start)
            _kill_group(proc.pid)
            proc.wait()
            if group is not None:
                cgroup.kill_all(group)
            if uid is not None:
                kill_uid(uid)
        wall_s = time.perf_counter() - start
        code, sig = self._decode(proc.returncode)
        oom = group is not None and oom_before is not None and group.oom_kills() > oom_before
        if sig in (signal.SIGXCPU, signal.SIGKILL) and wall_s >= limits.cpu_s - 1:
            timed_out = True
        sizes = [_size(out_path), _size(err_path)]
        return Outcome(
            exit_code=code,
            signal=sig,
            timed_out=timed_out or sig == signal.SIGXCPU,
            # Python and the JVM ignore SIGXFSZ: their writes fail instead, so the size tells
            # (of either stream: a stderr flood used to end as an ordinary runtime_error).
            file_limit=over_output or sig == signal.SIGXFSZ or max(sizes) >= limits.file_size_bytes,
            wall_s=wall_s,
            stdout=read_head(out_path, self.capture_bytes),
            stderr=read_head(err_path, self.capture_bytes),
            stdout_bytes=sizes[0],
            stdout_path=out_path,
            stderr_path=err_path,
            memory_limit=oom,
        )

    def _prepare_group(self, group: cgroup.SlotGroup | None, limits: Limits) -> int | None:
        """Set the job's cgroup limits; the OOM-kill count before the run (None: no group)."""
        if group is None:
            return None
        try:
            group.limit(limits.memory_mb, limits.processes)
        except OSError as error:  # e.g. usage above a lowered limit: the rlimits still hold
            log.warning("xlt.execution: cgroup limits not set for this run: %s", error)
        return group.oom_kills()

    def _decode(self, returncode: int) -> tuple[int | None, int | None]:
        """(exit code, signal). bwrap's pid 1 reports a death by signal N as 128+N; a
        program that itself exits 128+N reads the same (a failure either way)."""
        if returncode < 0:
            return None, -returncode
        if self.bwrap is not None and 128 < returncode < 128 + signal.NSIG:
            return None, returncode - 128
        return returncode, None


POLL_S = 0.25  # how often a running program's output size is checked


def _wait(
    proc: subprocess.Popen, limits: Limits, outputs: tuple[Path, Path], start: float
) -> tuple[bool, bool]:
    """Wait for exit, the wall-clock limit or full output files: (timed out, output full).

    A pidfd wakes us the moment the process exits (Popen.wait(timeout) polls with
    growing sleeps, which adds up to tens of ms per program)."""
    deadline = start + limits.timeout_s
    try:
        pidfd = os.pidfd_open(proc.pid)
    except OSError:  # kernels before 5.3
        pidfd = None
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return proc.poll() is None, False
            if pidfd is not None:
                if select.select([pidfd], [], [], min(remaining, POLL_S))[0]:
                    return False, False
            else:
                try:
                    proc.wait(timeout=min(remaining, POLL_S))
                    return False, False
                except subprocess.TimeoutExpired:
                    pass
            if any(_size(path) >= limits.file_size_bytes for path in outputs):
                return False, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def lease_uids(count: int) -> list[tuple[int, object]]:
    """`count` uids no other xlt process on this machine holds: each is an flock on
    a file, released when the holder closes it or dies. Two executors sharing a uid
    would kill each other's programs in `kill_uid`."""
    own_folder(UID_LOCKS, 0o700)  # a folder a program planted could lose its lock files
    leases: list[tuple[int, object]] = []
    for uid in range(BASE_UID, BASE_UID + MAX_UIDS):
        if len(leases) == count:
            break
        handle = open(UID_LOCKS / str(uid), "a")  # noqa: SIM115 - held for the executor's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        kill_uid(uid)  # leftovers of a holder that died
        leases.append((uid, handle))
    if len(leases) < count:
        raise RuntimeError(f"xlt.execution: fewer than {count} free sandbox uids under {UID_LOCKS}")
    return leases


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_uid(uid: int, zombie_wait_s: float = 3.0) -> int:
    """SIGKILL every process owned by `uid` until none is left; returns how many were killed.

    Catches what left the process group (setsid, double fork). A fork bomb is
    bounded by RLIMIT_NPROC, so this converges. Then waits (up to `zombie_wait_s`)
    for init to reap the killed orphans: zombies still count against the uid's
    RLIMIT_NPROC, and the uid's next program must start with a clean slate."""
    killed = 0
    deadline = time.perf_counter() + zombie_wait_s
    for _ in range(MAX_SWEEP_ROUNDS * 10):
        live, zombies = _processes_of(uid)
        if zombies:
            zombies -= _reap_ours(uid)
        if not live and (not zombies or time.perf_counter() > deadline):
            return killed
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)  # let the kernel and init reap before the next scan
    return killed


def _reap_ours(uid: int) -> int:
    """Reap the zombies of `uid` whose parent is this process: a program's
    CLONE_PARENT children become the engine's (without bwrap, whose pid 1 reaps them);
    init never reaps them, and 250 of them cost every later job on the slot 3 s of
    waiting and made the JVM fail to start threads (RLIMIT_NPROC). Only the slot uid's
    zombies: other pids are Popen's, which reaps its own."""
    reaped, me = 0, os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"{entry.path}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if fields[0] == b"Z" and int(fields[1]) == me:
                reaped += os.waitpid(int(entry.name), os.WNOHANG)[0] != 0
        except (OSError, ChildProcessError, ValueError, IndexError):
            continue
    return reaped


def _processes_of(uid: int) -> tuple[list[int], int]:
    """(live pids, zombie count) owned by `uid`."""
    live, zombies = [], 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid != uid:
                    continue
                if _is_zombie(entry.path):
                    zombies += 1
                else:
                    live.append(int(entry.name))
            except OSError:
                continue
    return live, zombies


def _is_zombie(proc_dir: str) -> bool:
    """A killed process stays listed until reaped; it holds nothing, so it is done."""
    with open(f"{proc_dir}/stat", "rb") as handle:
        state = handle.read().rsplit(b")", 1)[1].split()[0]
    return state in (b"Z", b"X")
