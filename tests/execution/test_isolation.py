"""Jobs are isolated from the machine and from each other (issue #18, items 4, 6, 7, 8).

Each probe is a program that exits 0 only if its attack WORKED (or, for the planted
Node files, a valid program that the plant breaks); each failed on the engine before
bubblewrap, per-job cgroups and the reaping of CLONE_PARENT children. They need root
(slot uids); the memory probe also needs writable cgroups.
"""

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from tests.execution.conftest import require
from xlt.execution import Executor, Job, sandbox
from xlt.execution import types as T
from xlt.execution.bwrap import isolation_argv
from xlt.execution.cgroup import SlotGroup

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: slot uids and bwrap")
TOKEN = f"xlt-probe-{os.getpid()}-{time.time_ns()}"  # names no other run uses


@pytest.fixture
def world():
    """A folder like /tmp (sticky, writable and reachable by everyone) that the test can
    fill without touching the machine's real /tmp, which other users share."""
    folder = Path(tempfile.mkdtemp(prefix="xlt-test-world-", dir="/var/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _executor(tmp_path: Path, **settings) -> Executor:
    return Executor(cache_dir=tmp_path / "cache", use_cache=False, **settings)


# --- (4) the folder above the job folders -------------------------------------------------

# A lodash planted above the job folders turns this failing test into a pass; a planted
# package.json with "type": "module" makes Node run this valid CommonJS program as ESM
# (`require` is not defined).
USES_LODASH = """const assert = require('assert');  // outside the try: an ES module has no require
let planted = false;
try { planted = require('lodash').planted === true; } catch (e) {}
assert(!planted, 'a planted lodash was loaded');
"""
PLANTS = {
    "node_modules": ("node_modules/lodash/index.js", "module.exports = {planted: true};\n"),
    "package.json": ("package.json", '{"type": "module"}\n'),
}


@needs_root
@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_node_does_not_see_files_planted_above_the_job_folders(plant, world, tmp_path, monkeypatch):
    require("js")
    relative, text = PLANTS[plant]
    planted = world / relative
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(text)  # readable by all (umask 022), as a program's plant would be
    monkeypatch.setattr(tempfile, "tempdir", str(world))  # the work folders go under `world`
    with _executor(tmp_path, workers=1) as ex:
        assert ex.runner.work_root.parent == world
        (result,) = ex.run([Job("js", USES_LODASH, timeout_s=10, id=plant)])
    assert result.status == T.OK, (result.status, result.stderr[-300:])


# --- (6, 8) private /tmp, /var/tmp, /dev/shm; folders and processes of other jobs -----

SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
# Both jobs run at once: each leaves a file in every scratch folder and looks for the
# other's for 4 s.
SEES_THE_OTHER = """import os, time
mine, theirs = '{token}-{me}', '{token}-{other}'
for folder in {scratch}:
    open(os.path.join(folder, mine), 'w').write('x' * 4096)
deadline = time.time() + 4
while time.time() < deadline:
    if any(os.path.exists(os.path.join(f, theirs)) for f in {scratch}):
        raise SystemExit(0)
    time.sleep(0.05)
raise SystemExit(1)
"""


@needs_root
def test_scratch_folders_are_private_to_a_job_and_do_not_outlive_it(tmp_path):
    programs = [
        SEES_THE_OTHER.format(token=TOKEN, me=me, other=1 - me, scratch=SCRATCH) for me in (0, 1)
    ]
    try:
        with _executor(tmp_path, workers=2) as ex:
            results = ex.run(
                [Job("py", p, timeout_s=15, id=str(i)) for i, p in enumerate(programs)]
            )
        assert [r.status for r in results] == [T.RUNTIME_ERROR] * 2, [r.stderr for r in results]
        left = [
            f"{f}/{TOKEN}-{i}"
            for f in SCRATCH
            for i in (0, 1)
            if os.path.exists(f"{f}/{TOKEN}-{i}")
        ]
        assert not left, left  # what a job writes there vanishes with it
    finally:
        for folder in SCRATCH:
            for index in (0, 1):
                Path(f"{folder}/{TOKEN}-{index}").unlink(missing_ok=True)


# Looks for 4 s for a concurrent strict-judged JS job (its preload path is on node's
# command line, in its job folder) and prints that job's source if it can read it, or the
# test process's (the judge's) command line if it can see it. Judged by what it prints:
# under the strict judge its early exit fails either way.
SPY = """import os, sys, time
deadline = time.time() + 4
while time.time() < deadline:
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            argv = open(f'/proc/{pid}/cmdline', 'rb').read().decode(errors='replace').split('\\0')
        except OSError:
            continue
        if any('pytest' in a for a in argv):
            print('judge command line:', argv[:3]); sys.exit(0)
        for arg in argv:
            if arg.endswith('/judge/preload.js'):
                try:
                    source = open(arg.rsplit('/judge/', 1)[0] + '/work/main.js').read()
                except OSError:
                    continue
                print('read another job:', source[:60]); sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
"""
BUSY_JS = "const end = Date.now() + 3000;\nwhile (Date.now() < end) {}\nconsole.assert(true);\n"


@needs_root
def test_a_job_sees_neither_other_jobs_sources_nor_the_judge(tmp_path):
    require("js")
    with _executor(tmp_path, workers=2) as ex:
        spy, victim = ex.run(
            [Job("py", SPY, timeout_s=15, id="spy"), Job("js", BUSY_JS, timeout_s=15, id="v")],
            judge="strict",
        )
    assert victim.status == T.OK, victim.stderr[-300:]
    assert spy.status == T.RUNTIME_ERROR and spy.stdout == "", (spy.status, spy.stdout[:300])


# Connects to a unix socket the host listens on in a world-writable folder: filesystem
# sockets are not cut by the network namespace.
CONNECTS = """import socket
s = socket.socket(socket.AF_UNIX)
s.connect('{path}')
"""


@needs_root
def test_a_job_cannot_reach_a_host_unix_socket_in_a_shared_folder(world, tmp_path):
    path = world / f"{TOKEN}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    path.chmod(0o777)
    server.listen(1)
    try:
        with _executor(tmp_path, workers=1) as ex:
            (result,) = ex.run([Job("py", CONNECTS.format(path=path), timeout_s=10)])
    finally:
        server.close()
    assert result.status == T.RUNTIME_ERROR, result.stderr[-300:]


MAKES_A_USER_NAMESPACE = """import ctypes
CLONE_NEWUSER = 0x10000000
raise SystemExit(ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER))
"""


@needs_root
def test_a_job_cannot_create_a_user_namespace(tmp_path):
    with _executor(tmp_path, workers=1) as ex:
        (result,) = ex.run([Job("py", MAKES_A_USER_NAMESPACE, timeout_s=10)])
    assert result.status == T.RUNTIME_ERROR, result.stderr[-300:]


# --- (7) CLONE_PARENT children -----------------------------------------------------------

# 250 children that are made the parent's siblings (children of whoever started the
# program) and exit at once. Unreaped, they are zombies of the slot uid.
CLONE_PARENT = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_PARENT, SIGCHLD, SYS_CLONE = 0x8000, 17, 56
for _ in range(250):
    if libc.syscall(SYS_CLONE, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0) == 0:
        os._exit(0)
"""
TRIVIAL = "assert 1 + 1 == 2\n"


def _wall_s(executor: Executor, program: str) -> float:
    start = time.perf_counter()
    (result,) = executor.run([Job("py", program, timeout_s=10)])
    assert result.status == T.OK, result.stderr[-300:]
    return time.perf_counter() - start


def _our_zombies(uid: int) -> list[int]:
    """Zombies of `uid` whose parent is this (the judge's) process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == b"Z" and int(fields[1]) == os.getpid():
            found.append(int(pid))
    return found


@needs_root
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="raw clone(2) number of x86_64")
@pytest.mark.parametrize("view", ["bwrap", "without bwrap"])
def test_clone_parent_children_are_reaped_and_do_not_slow_the_slot(view, tmp_path, monkeypatch):
    # Under bwrap its pid 1 reaps them; without it they are the engine's own children.
    if view != "bwrap":
        monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with _executor(tmp_path, workers=1) as ex:
        if view != "bwrap":
            assert ex.sandbox.bwrap is None
        uid = ex.sandbox.uid(0)
        try:
            _wall_s(ex, TRIVIAL)  # warm
            clean_s = _wall_s(ex, TRIVIAL)
            _wall_s(ex, CLONE_PARENT)
            after_s = _wall_s(ex, TRIVIAL)
            # Unreaped zombies made every later job wait 3 s for init to reap them.
            assert after_s < clean_s + 1.5, (clean_s, after_s)
            assert not _our_zombies(uid)
        finally:
            for pid in _our_zombies(uid):  # an engine that left them: do not leak them on
                os.waitpid(pid, 0)


# --- (6) memory of a whole job -------------------------------------------------------------

# Four processes of 150 MB each (under the 256 MB address-space limit of each), 600 MB in
# all, held at once; exits 0 only if all of them got their memory.
FOUR_PROCESSES = """import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = b'x' * (150 << 20)  # touched: resident, not only reserved
        time.sleep(1.5)
        os._exit(0)
    children.append(pid)
raise SystemExit(0 if all(os.waitpid(p, 0)[1] == 0 for p in children) else 1)
"""


@needs_root
def test_the_memory_of_all_processes_of_a_job_is_bounded(tmp_path):
    group = SlotGroup.create("xlt-probe-test")
    if group is None:
        pytest.skip("no writable cgroup here: per-process limits only (docs/execution.md)")
    group.remove()
    with _executor(tmp_path, workers=1, memory_mb=256) as ex:
        (result,) = ex.run([Job("py", FOUR_PROCESSES, timeout_s=15)])
    assert result.status == T.MEMORY_LIMIT, (result.status, result.stderr[-300:])


# --- the mount options, without root ------------------------------------------------------


def test_isolation_argv_hides_outer_folders_first_and_binds_the_job_back():
    hidden = {Path("/tmp"): 0o1777, Path("/tmp/xlt-exec-1"): 0o711}
    job, shared = Path("/tmp/xlt-exec-1/a/job"), Path("/var/tmp/shared")
    argv = isolation_argv("bwrap", hidden, [job, shared], job / "work", 64)
    text = " ".join(argv)
    # /tmp before the folder inside it, that before the job folder bound into it.
    assert text.index("--tmpfs /tmp ") < text.index("--tmpfs /tmp/xlt-exec-1 ")
    assert text.index("--tmpfs /tmp/xlt-exec-1 ") < text.index(f"--bind {job} {job}")
    # A folder on the way is made passable (0711) but not listable; tmpfs keep their modes.
    assert "--perms 0711 --dir /tmp/xlt-exec-1/a" in text
    assert f"--perms 1777 --size {64 << 20} --tmpfs /tmp " in text
    assert f"--bind {shared} {shared}" in text  # outside the hidden folders: bound as is
    assert argv[-2:] == ["--chdir", str(job / "work")]
