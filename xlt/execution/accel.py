"""Compile accelerations, and the per-toolchain set-up programs need.

- C++ (`cpp_pch`): MultiPL-E and MBXP programs include `<bits/stdc++.h>`, which is
  most of their compile time (1.1-1.8 s of 0.3-0.5 s with a precompiled header).
  The header is precompiled once with the same flags and force-included
  (`-include bits/stdc++.h`) only into programs that include it anyway, so the
  translation unit sees the same declarations.
- Java (`javac_server`): MultiPL-E programs all declare `class Problem`, so one
  `javac` cannot compile a batch of them into one folder; instead a persistent
  JVM (servers/JavacServer.java) runs the same compiler with the same options for
  each program, skipping JVM start-up and JIT warm-up.
- TypeScript (`tsc_server`): a persistent Node process (servers/tsc_server.js)
  type-checks with the options `tsc --target esnext` uses and keeps the parsed
  standard library; the verdict is tsc's (type errors fail).
- Go (`BuildCache`): a build cache (`GOCACHE`) holding the standard library and
  testify, built once by the caller from a trusted program (`Language.cache_primer`) and
  read-only to programs; each program gets a writable cache of its own, seeded with hard
  links to it. A program can write only into its own copy, which goes with its folder:
  it cannot plant a rebuilt package (say, testify's `assert` with a `Fail` that passes)
  for later programs.
- Rust: HumanEval-X programs use the crates rand, regex and md5; they are built
  once from Debian's sources (`librust-*-dev`) with cargo, offline, and passed to
  rustc with `--extern`.

Compile servers run inside the network namespace and, as root, each as an unprivileged
uid of its own that no program runs as (`CompileServer`); they run no program code
(`-proc:none`; tsc executes nothing), and tsc writes only into the program's folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from filelock import FileLock

from xlt.execution.folders import own_folder

log = logging.getLogger(__name__)
SERVERS_DIR = Path(__file__).parent / "servers"
_STDCXX = re.compile(r"^\s*#\s*include\s*<bits/stdc\+\+\.h>", re.MULTILINE)
CPP_FLAGS = ("-std=c++17",)  # must equal the flags of the compile command


class CppPch:
    """A precompiled `bits/stdc++.h`, built once per compiler under `shared_dir`."""

    def __init__(self, gxx: str, shared_dir: Path):
        self.gxx = gxx
        self.dir = shared_dir / "cpp-pch"
        self._ready: bool | None = None
        self._lock = threading.Lock()

    def _build(self) -> bool:
        header = subprocess.run(
            [self.gxx, *CPP_FLAGS, "-x", "c++", "-E", "-H", "-"],
            input="#include <bits/stdc++.h>\n",
            capture_output=True,
            text=True,
        )
        first = next((ln for ln in header.stderr.splitlines() if ln.startswith(". ")), "")
        source = first[2:].strip()
        if header.returncode != 0 or not source.endswith("stdc++.h"):
            return False
        gch = self.dir / "bits" / "stdc++.h.gch"
        with FileLock(str(self.dir) + ".lock"):
            own_folder(self.dir, 0o755)  # g++ force-includes what is here: it must be ours
            own_folder(gch.parent, 0o755)
            if not gch.is_file():
                link = gch.parent / "stdc++.h"
                if not link.exists():
                    link.symlink_to(source)
                tmp = gch.with_suffix(f".tmp{os.getpid()}")
                done = subprocess.run(
                    [self.gxx, *CPP_FLAGS, "-x", "c++-header", source, "-o", str(tmp)],
                    capture_output=True,
                )
                if done.returncode != 0:
                    return False
                tmp.chmod(0o644)
                tmp.rename(gch)
        return True

    def vars(self, program: str) -> dict[str, tuple[str, ...]]:
        if not _STDCXX.search(program):
            return {"pch": ()}
        with self._lock:
            if self._ready is None:
                self._ready = self._build()
        if not self._ready:
            return {"pch": ()}
        return {"pch": ("-I", str(self.dir), "-include", "bits/stdc++.h")}


class CompileServer:
    """One persistent compiler process: a request line in, `<code> <n>\\n` + n bytes out.

    With `uid` (as root) it runs as that unprivileged uid, one that no program runs as,
    inside the network namespace: the compiler reads untrusted source (and follows
    whatever paths it names), so it must not read or write as root. During a request the
    program's folder belongs to that uid, so that it can write the compiled files there;
    then it goes back to its owner."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, uid: int | None = None):
        self.argv, self.env, self.cwd, self.uid = argv, env, cwd, uid
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def compile(self, line: str, folder: Path, timeout_s: float) -> tuple[int, str] | None:
        """`request` with `folder` (where the compiler writes) lent to the server's uid."""
        if self.uid is None:
            return self.request(line, timeout_s)
        owner = folder.stat()
        os.chown(folder, self.uid, self.uid)
        try:
            return self.request(line, timeout_s)
        finally:
            os.chown(folder, owner.st_uid, owner.st_gid)

    def request(self, line: str, timeout_s: float) -> tuple[int, str] | None:
        """(exit code, diagnostics), or None on timeout/crash (the server is restarted next time)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            header = self._read_until(b"\n", timeout_s)
            code, size = (int(x) for x in header.split())
            body = self._read_exact(size, timeout_s)
        except (OSError, ValueError, TimeoutError):
            self.close()
            return None
        return code, body.decode("utf-8", errors="replace")

    def _read_until(self, end: bytes, timeout_s: float) -> bytes:
        data = b""
        while not data.endswith(end):
            data += self._read_exact(1, timeout_s)
        return data

    def _read_exact(self, size: int, timeout_s: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd, data, deadline = self.proc.stdout.fileno(), b"", time.monotonic() + timeout_s
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise OSError("compile server exited")
            data += chunk
        return data

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
            self.proc = None


def server_prefix(net_prefix: tuple[str, ...], unshare: str | None, uid: int | None) -> list[str]:
    """The argv prefix of a compile server: the network namespace and, as root, its uid."""
    if uid is None or unshare is None:
        return list(net_prefix)
    return [*(net_prefix or (unshare,)), "--setuid", str(uid), "--setgid", str(uid), "--"]


def _install(source: Path, folder: Path) -> Path:
    """A root-owned, world-readable copy of `source` in `folder` (the repository may sit
    where server uids cannot read, e.g. under /root), named by its content: executors of
    other versions sharing the folder keep theirs."""
    text = source.read_bytes()
    copy = folder / f"{source.stem}-{hashlib.sha256(text).hexdigest()[:12]}{source.suffix}"
    if not copy.is_file():
        tmp = copy.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(text)
        tmp.chmod(0o644)
        tmp.rename(copy)
    return copy


def javac_server_argv(java: str, javac: str, shared_dir: Path) -> list[str] | None:
    """Compile servers/JavacServer.java once; the argv that starts a server, or None."""
    out = shared_dir / "javac-server"
    marker = out / "JavacServer.class"
    with FileLock(str(out) + ".lock"):
        own_folder(out, 0o755)  # the server's class runs from here: it must be ours
        if not marker.is_file():
            source = SERVERS_DIR / "JavacServer.java"
            done = subprocess.run([javac, "-d", str(out), str(source)], capture_output=True)
            if done.returncode != 0:
                return None
            marker.chmod(0o644)
    # No perf-data file in /tmp (a server uid has no business there).
    return [java, "-Xmx768m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss8m",
            "-cp", str(out), "JavacServer"]  # fmt: skip


def tsc_server_argv(node: str, tsc: str, shared_dir: Path) -> list[str] | None:
    """The argv of a TypeScript server, or None when tsc's package cannot be found."""
    package = Path(tsc).resolve().parent.parent  # .../typescript/bin/tsc -> .../typescript
    if not (package / "package.json").is_file():
        return None
    folder = shared_dir / "tsc-server"
    with FileLock(str(folder) + ".lock"):
        own_folder(folder, 0o755)  # the server's script runs from here: it must be ours
        script = _install(SERVERS_DIR / "tsc_server.js", folder)
    return [node, str(script), str(package)]


class BuildCache:
    """A build cache filled once by the caller from `primer` (a trusted program, run with
    `argv` as a program of the language would be), then only read: every job gets a
    copy to write to, made of hard links to its files (`seed`).

    The links are root's files in the job's own folders: the job can add, remove or
    replace entries of its copy, not change the files themselves, and the copy is removed
    with the job. Go updates the mtime of entries it uses and trims old ones; on files it
    does not own the first fails silently, and the copied `trim.txt` (dated now) keeps
    it from trimming."""

    TRIM_FILE = "trim.txt"

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cache_env: str,
                 primer: tuple[str, str], shared_dir: Path):  # fmt: skip
        self.name, self.argv, self.env, self.cache_env = name, argv, dict(env), cache_env
        self.primer, self.shared_dir = primer, shared_dir
        self._master: Path | None = None
        self._built = False
        self._lock = threading.Lock()

    def _build(self) -> Path | None:
        """The filled master cache (folder of mode 0755, files 0644, all the caller's)."""
        parent = own_folder(self.shared_dir / f"{self.name}-cache", 0o755)
        master = parent / "master"
        with FileLock(str(master) + ".lock"):
            if (master / "complete").is_file():
                return master
            if master.exists():
                shutil.rmtree(master)
            with tempfile.TemporaryDirectory(dir=parent) as work:
                source, text = self.primer
                (Path(work) / source).write_text(text)
                cache = Path(work) / "cache"
                env = {**self.env, "HOME": work, "TMPDIR": work, self.cache_env: str(cache)}
                try:
                    done = subprocess.run(self.argv, cwd=work, env=env, capture_output=True,
                                          timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
                except subprocess.TimeoutExpired:
                    done = None
                if done is None or done.returncode != 0 or not cache.is_dir():
                    log.warning("xlt.execution: %s build cache not primed: %s", self.name,
                                done.stdout[-500:] if done else "timed out")  # fmt: skip
                    return None
                for folder, _, files in os.walk(cache):
                    os.chmod(folder, 0o755)
                    for name in files:
                        os.chmod(Path(folder) / name, 0o644)
                cache.rename(master)
            (master / "complete").touch()
        return master

    def master(self) -> Path | None:
        """The master cache, built on first use; None when priming failed (jobs then
        start from an empty cache: slower, same verdicts)."""
        with self._lock:
            if not self._built:
                self._master, self._built = self._build(), True
        return self._master

    def seed(self, dest: Path, uid: int | None) -> None:
        """Make `dest` a writable cache for one job (owned by `uid`), linked to the master."""
        dest.mkdir(mode=0o755)
        master = self.master()
        owned = [dest]
        if master is not None:
            for entry in os.scandir(master):
                if entry.is_dir(follow_symlinks=False):
                    sub = dest / entry.name
                    sub.mkdir(mode=0o755)
                    owned.append(sub)
                    for item in os.scandir(entry.path):
                        os.link(item.path, sub / item.name)
                elif entry.name not in (self.TRIM_FILE, "complete"):
                    os.link(entry.path, dest / entry.name)
        (dest / self.TRIM_FILE).write_text(f"{int(time.time())}\n")
        owned.append(dest / self.TRIM_FILE)
        if uid is not None:
            for path in owned:
                os.chown(path, uid, uid)


_CARGO_TOML = """[package]
name = "xlt_crates"
version = "0.1.0"
edition = "2021"
[lib]
path = "lib.rs"
[dependencies]
rand = "0.8"
regex = { version = "1", default-features = false, features = ["std", "unicode"] }
md5 = "0.7"
"""
_CARGO_CONFIG = """[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
"""
RUST_CRATES = ("rand", "regex", "md5")
_USES_CRATE = re.compile(r"\b(?:rand|regex|md5)::|\bRegex\b|\buse\s+md5\b")


class RustCrates:
    """rlibs of rand/regex/md5 built once from Debian's crate sources (offline)."""

    def __init__(self, rustc: str, shared_dir: Path):
        self.rustc, self.dir = rustc, shared_dir / "rust-crates"
        self._externs: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def _build(self) -> tuple[str, ...]:
        cargo = shutil.which(
            "cargo", path=os.environ.get("PATH", "") + ":" + str(Path.home() / ".cargo/bin")
        )
        deps = self.dir / "target" / "release" / "deps"
        with FileLock(str(self.dir) + ".lock"):
            own_folder(self.dir, 0o755)  # rustc links the rlibs found here
            if not (self.dir / "ok").is_file():
                if cargo is None or not Path("/usr/share/cargo/registry").is_dir():
                    return ()
                (self.dir / ".cargo").mkdir(parents=True, exist_ok=True)
                (self.dir / "Cargo.toml").write_text(_CARGO_TOML)
                (self.dir / "lib.rs").write_text("")
                (self.dir / ".cargo" / "config.toml").write_text(_CARGO_CONFIG)
                env = {**os.environ, "RUSTC": self.rustc}
                done = subprocess.run(
                    [cargo, "build", "--offline", "--release", "--quiet"],
                    cwd=self.dir, env=env, capture_output=True,
                )  # fmt: skip
                if done.returncode != 0:
                    return ()
                (self.dir / "ok").touch()
        args = ["-L", f"dependency={deps}"]
        for crate in RUST_CRATES:
            rlibs = sorted(deps.glob(f"lib{crate}-*.rlib"))
            if rlibs:
                args += ["--extern", f"{crate}={rlibs[-1]}"]
        return tuple(args)

    def vars(self, program: str) -> dict[str, tuple[str, ...]]:
        if not _USES_CRATE.search(program):
            return {"rust_externs": ()}
        with self._lock:
            if self._externs is None:
                self._externs = self._build()
        return {"rust_externs": self._externs}
