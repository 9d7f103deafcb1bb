"""The execution contract: what a job is and what running it returns.

A job never raises for the program's own failure: every outcome is one of the
closed set of statuses below. See DESIGN.md, "Execution contract".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["tests", "io"]

# The closed set of outcomes. Pass@k counts OK only; TOOLCHAIN_MISSING is
# reported as missing, never as a failure. INVALID_JOB is a malformed request
# (unknown language, empty program, ...): the batch keeps running.
OK = "ok"
COMPILE_ERROR = "compile_error"
RUNTIME_ERROR = "runtime_error"
WRONG_ANSWER = "wrong_answer"
TIMEOUT = "timeout"
MEMORY_LIMIT = "memory_limit"
OUTPUT_LIMIT = "output_limit"
TOOLCHAIN_MISSING = "toolchain_missing"
INVALID_JOB = "invalid_job"
STATUSES = (
    OK,
    COMPILE_ERROR,
    RUNTIME_ERROR,
    WRONG_ANSWER,
    TIMEOUT,
    MEMORY_LIMIT,
    OUTPUT_LIMIT,
    TOOLCHAIN_MISSING,
    INVALID_JOB,
)


@dataclass(frozen=True)
class Case:
    """One stdin/expected-stdout pair for `io` mode."""

    stdin: str
    expected: str


@dataclass(frozen=True)
class Job:
    """A program to run. `tests`: it carries its own assertions. `io`: run once per case."""

    language: str
    program: str
    mode: Mode = "tests"
    cases: tuple[Case, ...] = ()
    timeout_s: float | None = None  # None: the engine's default for the language
    id: str = ""
    float_tolerance: float | None = None  # io mode: numbers may differ by this (abs or rel)


@dataclass(frozen=True)
class Result:
    id: str
    status: str  # one of STATUSES
    exit_code: int | None = None
    stdout: str = ""  # capped
    stderr: str = ""  # capped; for INVALID_JOB / TOOLCHAIN_MISSING the reason
    compile_s: float = 0.0
    run_s: float = 0.0
    cases_passed: int = 0  # io mode: cases whose output matched; tests mode: 1 if ok else 0
    cases_total: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == OK
