"""Compilers read untrusted source: they must not read or write as the judge (root), and
the build caches they share must not carry one program's writes into another's build.

Each probe is an attack that worked on the engine before compilers ran unprivileged
(issue #18): it passes (or leaks, or writes) only if the attack works.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.execution.conftest import require
from xlt.execution import Executor, Job
from xlt.execution import types as T
from xlt.languages import LANGUAGES, java_main_class

SECRET = "xlt_secret_7d2e"  # an identifier: tsc quotes unknown names in its errors


@pytest.fixture
def root_only(tmp_path):
    """A file only root can read (pytest's tmp_path is mode 0700), holding SECRET."""
    if os.geteuid() != 0:
        pytest.skip("needs root: without slot uids the compiler is the caller anyway")
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET};\n")
    secret.chmod(0o600)
    return secret


@pytest.fixture
def world():
    """A sticky, world-writable folder like /tmp that every slot uid reaches."""
    folder = Path(tempfile.mkdtemp(prefix="xlt-test-world-", dir="/var/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _leaks(result) -> bool:
    return SECRET in result.stdout or SECRET in result.stderr


# --- compilers read as the slot's uid, not as root ---------------------------------------


def test_rust_include_str_cannot_read_root_only_files(executor, root_only):
    require("rs")
    # Compiles (and passes) only if rustc could read the file.
    program = f'fn main() {{ assert!(include_str!("{root_only}").contains("{SECRET}")); }}\n'
    (result,) = executor.run([Job("rs", program, id="include_str")])
    assert result.status == T.COMPILE_ERROR, (result.status, result.stderr[-300:])
    assert not _leaks(result)


def test_rustc_runs_from_a_copy_the_slot_uids_can_reach(executor):
    require("rs")
    if not executor.sandbox.drop_privileges:
        pytest.skip("needs root")
    toolchain = executor.runner._toolchain(LANGUAGES["rs"])
    rustc = Path(toolchain.paths["rustc"])
    assert all(os.stat(p).st_mode & 0o001 for p in [rustc, *rustc.parents])


def test_tsc_errors_do_not_quote_root_only_files(executor, root_only, world):
    require("ts")
    # A .ts name for the file, as a program can plant in /tmp (e.g. to /proc/<pid>/environ).
    (world / "leak.ts").symlink_to(root_only)
    program = f'/// <reference path="{world}/leak.ts" />\nconst x: number = 1;\n'
    (result,) = executor.run([Job("ts", program, id="tsc_read")])
    assert result.status == T.COMPILE_ERROR, result.status
    assert not _leaks(result), result.stderr[-300:]


def test_tsc_does_not_write_through_a_planted_symlink(executor, world, tmp_path):
    require("ts", "py")
    if not executor.sandbox.drop_privileges:
        pytest.skip("needs root")
    target = tmp_path / "guarded" / "pwned.js"  # root's folder: no slot uid may write here
    target.parent.mkdir(mode=0o700)
    # Planted as an earlier job would where the world-writable folder is reachable (under
    # bubblewrap a job's /tmp and /var/tmp are private and it cannot plant at all; the
    # compile server runs outside that view, so the planted files are what it would see).
    (world / "x.ts").write_text("var planted = 1;\n")
    (world / "x.js").symlink_to(target)
    # A later TypeScript job names the planted file: tsc emits x.js next to x.ts.
    program = f'/// <reference path="{world}/x.ts" />\nconst y: number = planted;\n'
    (result,) = executor.run([Job("ts", program, id="tsc_write")])
    assert not target.exists(), target.read_text()
    assert result.status == T.COMPILE_ERROR, result.status


# --- Go's build cache: one job's writes never reach another job --------------------------

# Writes into its own GOCACHE: a new entry and garbage over every entry it can open.
POISON_GO = """package poison_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPoison(t *testing.T) {
	cache := os.Getenv("GOCACHE")
	os.WriteFile(filepath.Join(cache, "ff", "poison-a"), []byte("planted"), 0o644)
	filepath.Walk(cache, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
				f.WriteString("poisoned")
				f.Close()
			}
		}
		return nil
	})
}
"""

# Fails unless the previous job's writes are visible (or testify's Fail was subverted).
CHECK_GO = """package check_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	_, err := os.Stat(filepath.Join(os.Getenv("GOCACHE"), "ff", "poison-a"))
	assert.Equal(t, nil, err)
}
"""


def test_a_go_job_cannot_poison_the_build_cache_of_later_runs(world):
    require("go")
    if os.geteuid() != 0:
        pytest.skip("needs root: without slot uids the cache is the caller's")
    # A world-traversable cache_dir keeps the build caches in it, away from the machine's
    # shared ones (which the overwrites below would damage where the attack works).
    cache_dir = world / "cache"
    cache_dir.mkdir(mode=0o755)
    # One worker: before, the poisoner and the checker shared the slot's uid and cache.
    with Executor(workers=1, cache_dir=cache_dir, use_cache=False) as first:
        (poison,) = first.run([Job("go", POISON_GO, id="poison")])
    assert poison.status == T.OK, poison.stdout[-500:]
    with Executor(workers=1, cache_dir=cache_dir, use_cache=False) as later:  # a later run
        (check,) = later.run([Job("go", CHECK_GO, id="check")])
        master = later.runner.shared_dir / "go-cache" / "master"
    # The check fails for the right reason: no planted entry, and testify still fails.
    assert check.status == T.RUNTIME_ERROR, (check.status, check.stdout[-500:])
    assert "Not equal" in check.stdout + check.stderr
    # The read-only cache is intact: no file of it holds the poisoner's text.
    assert (master / "complete").is_file()
    assert not any(b"poisoned" in p.read_bytes() for p in master.rglob("*") if p.is_file())


# --- Java: the run starts the tests' class ------------------------------------------------

# A MultiPL-E Java prompt, a completion that declares a class of its own with an empty
# main before the tests, and the tests (which fail: f returns 0).
EXTRA_MAIN = """class Problem {
    public static long f(long x) {
        return 0;
    }
}
class Evil {
    public static void main(String[] args) {}
}
class Problem2 {
    public static long f(long x) {
        return Problem.f(x);
    }
    public static void main(String[] args) {
    assert(f((1l)) == (2l));
    }

}
"""


def test_java_runs_the_tests_main_not_a_completions_extra_main(executor):
    require("java")
    assert java_main_class(EXTRA_MAIN)["main_class"] == ("Problem2",)
    (result,) = executor.run([Job("java", EXTRA_MAIN, id="extra_main")])
    assert result.status == T.RUNTIME_ERROR, (result.status, result.stderr[-300:])


# --- Go: an endless test holds no compile slot --------------------------------------------

GO_LOOP = """package loop_test

import "testing"

func TestLoop(t *testing.T) {
	for {
	}
}
"""


def test_an_endless_go_test_neither_holds_the_compile_slot_nor_outlives_its_limit(tmp_path):
    require("go", "cpp")
    # One compile slot for two workers: before, `go test` compiled and ran under it, for
    # the run's limit plus 60 s of compile allowance; the C++ job waited all that time.
    with Executor(workers=2, heavy_workers=1, cache_dir=tmp_path, use_cache=False) as ex:
        ex.run([Job("go", CHECK_GO, id="warm")])  # primes the Go cache outside the timing
        jobs = [
            Job("go", GO_LOOP, timeout_s=3, id="loop"),
            Job("cpp", "int main() { return 0; }\n", id="cpp"),
        ]
        start = time.perf_counter()
        loop, cpp = ex.run(jobs)
        elapsed_s = time.perf_counter() - start
    assert loop.status == T.TIMEOUT, (loop.status, loop.stdout[-300:])
    assert loop.run_s < 3 + 6  # the run's own limit (and slack), not +60 s
    assert cpp.status == T.OK
    assert elapsed_s < 3 + 15  # the C++ compile did not wait for the loop's compile slot
