"""On-disk result cache: one JSON file per (runner version, language entry and toolchain
binaries, program, inputs, limits, network isolation, run-as user).

Timeouts, missing toolchains and invalid jobs are not stored: the first depends
on the machine's load, the others are cheap and may change when the machine does.
Writes are atomic (write, then rename), so concurrent executors can share a folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from xlt.execution import types as T
from xlt.execution.toolchains import resolve
from xlt.languages import LANGUAGES, Language

# Bump when a change to the runners can change a verdict: old entries stop matching.
RUNNER_VERSION = "xlt-exec-4"  # 4: Java starts the tests' main; tsc writes in its folder only
_NOT_CACHED = (T.TIMEOUT, T.TOOLCHAIN_MISSING, T.INVALID_JOB)


@functools.cache
def tool_identity(path: str) -> tuple[str, int, int]:
    """(resolved path, size, mtime) of a toolchain binary: an upgrade or another
    interpreter changes it. Stat calls only, once per path per process (a toolchain
    upgraded while a process runs is seen by the next process)."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return real, -1, -1
    return real, info.st_size, info.st_mtime_ns


def _toolchain(language: Language) -> list:
    return sorted([tool, *tool_identity(path)] for tool, path in resolve(language).paths.items())


def cache_key(job: T.Job, settings: dict) -> str:
    """`settings`: the executor's limits, network isolation and run-as user, which a
    verdict depends on as much as the program does (`Executor.cache_settings`)."""
    language = LANGUAGES.get(job.language)
    entry = None
    if language is not None:  # the parts of the table entry that decide a verdict
        entry = [language.compile, language.run, sorted(language.env.items()), language.fail_on_stderr,
                 language.fail_markers, language.compile_error_markers, _toolchain(language)]  # fmt: skip
    payload = json.dumps(
        [RUNNER_VERSION, job.language, entry, job.mode, job.program,
         [[c.stdin, c.expected] for c in job.cases], job.timeout_s, job.float_tolerance, settings],
        default=str,
    )  # fmt: skip
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResultCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, job_id: str) -> T.Result | None:
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        record["id"] = job_id  # the same program under another id
        record["extra"] = {**record.get("extra", {}), "cached": True}
        return T.Result(**record)

    def put(self, key: str, result: T.Result) -> None:
        # An engine failure says nothing about the program: never serve it again as a verdict.
        if result.status in _NOT_CACHED or result.extra.get("internal_error"):
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.{id(result)}")
        tmp.write_text(json.dumps(asdict(result)), encoding="utf-8")
        tmp.replace(path)
