"""Find the executables a language needs, with their versions.

Tools are looked up in the system directories first, then the caller's PATH,
then `~/.cargo/bin`: a shim that depends on the caller's environment (pyenv,
rustup) must not be picked when a plain binary exists, because programs run with
a scrubbed environment. A rustup proxy is replaced by the real `rustc` of the
active toolchain (rustup proxies break when HOME changes).

A toolchain that the sandbox uids cannot reach (rustup's, under /root, mode 0700)
is not run as root: `reachable` gives a copy of its installation that they can run,
made of hard links (no bytes copied) where the file system allows.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from xlt.execution.folders import own_folder
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


# What a relocated installation needs: the tool and its sysroot (rustc finds its
# standard library and librustc_driver relative to its own path, `../lib`).
INSTALL_PARTS = ("bin", "lib")


def _link_tree(source: Path, dest: Path) -> None:
    """`dest` as a copy of `source` made of hard links (a real copy across file systems).
    Files keep their owner (root) and mode: a sandbox uid can read and run, not change them."""
    for folder, subfolders, files in os.walk(source):
        here, target = Path(folder), dest / Path(folder).relative_to(source)
        target.mkdir(mode=0o755, exist_ok=True)
        links = [name for name in subfolders if (here / name).is_symlink()]
        subfolders[:] = [name for name in subfolders if name not in links]
        for name in links + [name for name in files if (here / name).is_symlink()]:
            (target / name).symlink_to(os.readlink(here / name))
        for name in files:
            if (here / name).is_symlink():
                continue
            try:
                os.link(here / name, target / name)
            except OSError:  # another file system
                shutil.copy2(here / name, target / name)


def reachable_copy(path: str, shared_dir: Path) -> str | None:
    """A path to the same tool that a sandbox uid can run: its installation prefix
    (`<prefix>/bin/<tool>`: bin/ and lib/) linked under `shared_dir/toolchains`, named by
    the prefix and the tool's inode and mtime (an upgraded toolchain gets a new copy).
    None when the tool does not sit in such a prefix."""
    real = Path(path).resolve()
    prefix = real.parent.parent
    if real.parent.name != "bin":
        return None
    info = real.stat()
    tag = hashlib.sha256(f"{prefix}|{info.st_ino}|{info.st_mtime_ns}".encode()).hexdigest()[:16]
    root = own_folder(shared_dir / "toolchains", 0o755)  # tools run from here: ours only
    dest = root / f"{prefix.name}-{tag}"
    with FileLock(str(dest) + ".lock"):
        if not (dest / "complete").is_file():
            if dest.exists():
                shutil.rmtree(dest)
            own_folder(dest, 0o755)
            for part in INSTALL_PARTS:
                if (prefix / part).is_dir():
                    _link_tree(prefix / part, dest / part)
            (dest / "complete").touch()
    copy = dest / real.relative_to(prefix)
    return str(copy) if world_executable(str(copy)) else None


def reachable(toolchain: Toolchain, shared_dir: Path) -> Toolchain:
    """`toolchain` with every tool a sandbox uid cannot run replaced by `reachable_copy`
    (kept as it is when no copy can be made: the runner then runs it as the caller)."""
    paths = {}
    for tool, path in toolchain.paths.items():
        paths[tool] = path if world_executable(path) else (reachable_copy(path, shared_dir) or path)
    return Toolchain(paths=paths, missing=toolchain.missing)
