"""Folders the engine trusts are its own: when a slot uid (or any local user) creates the
build-cache, result-cache or uid-lease folder before the engine does, it is not adopted."""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from xlt.execution import Executor, engine, sandbox
from xlt.execution.folders import UnsafeFolderError, own_folder


@pytest.fixture
def world():
    """A folder like /var/tmp: sticky, writable by everyone, reachable by the slot uids
    (pytest's tmp_path is mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="xlt-test-world-", dir="/var/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def plant(executor, target: Path) -> int:
    """Create `target` as a slot uid would (mode 0777, with a planted compiler-server class);
    returns that uid. Made from here: under bubblewrap a program's /tmp and /var/tmp are
    its own (tests/execution/test_isolation.py), but without it, or as another local
    user, anyone can do this in /tmp or /var/tmp."""
    if not executor.sandbox.drop_privileges:
        pytest.skip("needs root: to create a folder owned by a slot uid")
    owner = executor.sandbox.uid(0)
    for folder in (target, target / "javac-server", target / "results"):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, owner, owner)
        folder.chmod(0o777)
    planted = target / "javac-server" / "JavacServer.class"
    planted.write_bytes(b"planted")
    os.chown(planted, owner, owner)
    assert owner != os.geteuid()
    return owner


def test_a_planted_machine_wide_shared_folder_is_not_adopted(
    executor, world, tmp_path, monkeypatch
):
    # The shared folder falls back to <SHARED_ROOT>/xlt-shared-<euid> when cache_dir is private.
    planted = world / f"xlt-shared-{os.geteuid()}"
    owner = plant(executor, planted)
    monkeypatch.setattr(engine, "SHARED_ROOT", world)
    private = tmp_path / "cache"
    private.mkdir(mode=0o700)
    with Executor(workers=1, cache_dir=private, use_cache=False) as ex:
        shared = ex.runner.shared_dir
        assert shared.resolve() != planted.resolve()
        assert shared.stat().st_uid == os.geteuid()
        assert not shared.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    # Left as the program made it: not chmod-ed, not chown-ed, not used.
    assert planted.stat().st_uid == owner and stat.S_IMODE(planted.stat().st_mode) == 0o777


def test_a_planted_result_cache_folder_is_refused(executor, world):
    planted = world / "cache"
    plant(executor, planted)
    with pytest.raises(UnsafeFolderError, match="owned by uid"):
        Executor(workers=1, cache_dir=planted)


def test_a_planted_uid_lease_folder_is_refused(executor, world, monkeypatch):
    # With the lease folder in the program's hands it could delete a lock file, and two
    # executors would then share a uid and kill each other's programs.
    planted = world / "leases"
    plant(executor, planted)
    monkeypatch.setattr(sandbox, "UID_LOCKS", planted)
    # Were the folder adopted, a lease would kill the uid's processes: other executors' on
    # this machine, since their locks are elsewhere. Nothing may be killed from here.
    monkeypatch.setattr(sandbox, "kill_uid", lambda uid: 0)
    with pytest.raises(UnsafeFolderError, match="owned by uid"):
        for _, handle in sandbox.lease_uids(1):
            handle.close()


def test_own_folder_creates_privately_and_refuses_what_others_could_change(tmp_path):
    made = own_folder(tmp_path / "a" / "b", 0o700)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert own_folder(made, 0o755) == made  # ours: reused, with the asked-for bits
    assert stat.S_IMODE(made.stat().st_mode) == 0o755
    shared = tmp_path / "group-writable"
    shared.mkdir()
    shared.chmod(0o775)
    with pytest.raises(UnsafeFolderError, match="writable by group or others"):
        own_folder(shared)
    (tmp_path / "link").symlink_to(made)
    with pytest.raises(UnsafeFolderError, match="not a folder"):
        own_folder(tmp_path / "link")
    with pytest.raises(UnsafeFolderError, match="parent folder writable by others"):
        own_folder(shared / "inside")
