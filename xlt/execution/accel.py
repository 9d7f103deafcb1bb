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
- Go: a persistent build cache per worker slot (`GOCACHE`), so the standard
  library and testify are compiled once, not per program.
- Rust: HumanEval-X programs use the crates rand, regex and md5; they are built
  once from Debian's sources (`librust-*-dev`) with cargo, offline, and passed to
  rustc with `--extern`.

Compile servers run as the invoking user inside the network namespace; they run
no program code (`-proc:none`; tsc executes nothing).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import subprocess
import threading
import time
from pathlib import Path

from filelock import FileLock

from xlt.execution.folders import own_folder

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
    """One persistent compiler process: a request line in, `<code> <n>\\n` + n bytes out."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path):
        self.argv, self.env, self.cwd = argv, env, cwd
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


def javac_server_argv(java: str, javac: str, shared_dir: Path) -> list[str] | None:
    """Compile servers/JavacServer.java once; the argv that starts a server, or None."""
    out = shared_dir / "javac-server"
    marker = out / "JavacServer.class"
    with FileLock(str(out) + ".lock"):
        own_folder(out, 0o755)  # the server's class runs as the caller: it must be ours
        if not marker.is_file():
            done = subprocess.run(
                [javac, "-d", str(out), str(SERVERS_DIR / "JavacServer.java")],
                capture_output=True,
            )
            if done.returncode != 0:
                return None
    return [java, "-Xmx768m", "-XX:+UseSerialGC", "-Xss8m", "-cp", str(out), "JavacServer"]


def tsc_server_argv(node: str, tsc: str) -> list[str] | None:
    """The argv of a TypeScript server, or None when tsc's package cannot be found."""
    package = Path(tsc).resolve().parent.parent  # .../typescript/bin/tsc -> .../typescript
    if not (package / "package.json").is_file():
        return None
    return [node, str(SERVERS_DIR / "tsc_server.js"), str(package)]


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
