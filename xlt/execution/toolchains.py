"""Find the executables a language needs, with their versions.

Tools are looked up in the system directories first, then the caller's PATH,
then `~/.cargo/bin`: a shim that depends on the caller's environment (pyenv,
rustup) must not be picked when a plain binary exists, because programs run with
a scrubbed environment. A rustup proxy is replaced by the real `rustc` of the
active toolchain (rustup proxies break when HOME changes).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from xlt.languages import Language

SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
JAVATUPLES_JARS = ("/usr/share/java/javatuples.jar", "/usr/multiple/javatuples-1.2.jar")


def _search_path() -> str:
    extra = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and ".pyenv" not in d]
    cargo = str(Path.home() / ".cargo" / "bin")
    return os.pathsep.join(dict.fromkeys([*SYSTEM_DIRS, *extra, cargo]))


def _real_rustc(proxy: str) -> str:
    """The toolchain's own rustc behind a rustup proxy (same binary, no HOME dependence)."""
    try:
        sysroot = subprocess.run(
            [proxy, "--print", "sysroot"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return proxy
    real = Path(sysroot) / "bin" / "rustc"
    return str(real) if real.is_file() else proxy


@functools.cache
def find_tool(candidates: tuple[str, ...]) -> str | None:
    """Absolute path of the first candidate found, or None."""
    for name in candidates:
        path = shutil.which(name, path=_search_path())
        if path is None:
            continue
        if name == "rustc" and Path(path).resolve().name == "rustup":
            path = _real_rustc(path)
        return path
    return None


@dataclass(frozen=True)
class Toolchain:
    """The resolved tools of one language; `missing` names what was not found."""

    paths: dict[str, str]
    missing: tuple[str, ...]

    @property
    def present(self) -> bool:
        return not self.missing


@functools.cache
def resolve(language: Language) -> Toolchain:
    paths, missing = {}, []
    for tool, candidates in language.tools.items():
        path = find_tool(tuple(candidates))
        if path is None:
            missing.append("/".join(candidates))
        else:
            paths[tool] = path
    return Toolchain(paths=paths, missing=tuple(missing))


def world_executable(path: str) -> bool:
    """Whether an unprivileged user can run `path`: every folder above it must be
    searchable by others (a toolchain under /root, e.g. rustup's, is not)."""
    target = Path(path).resolve()
    try:
        for folder in target.parents:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(target).st_mode & stat.S_IXOTH)
    except OSError:
        return False


@functools.cache
def version(language: Language) -> str:
    """First line of the toolchain's version output, or '' when it has none."""
    if not language.version:
        return ""
    toolchain = resolve(language)
    tool = language.version[0]
    if tool not in toolchain.paths:
        return ""
    try:
        done = subprocess.run(
            [toolchain.paths[tool], *language.version[1:]],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"(version failed: {error})"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def javatuples_jar() -> str | None:
    return next((jar for jar in JAVATUPLES_JARS if Path(jar).is_file()), None)
