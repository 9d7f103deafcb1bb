"""Whether a job can run at all: `invalid_reason(job)` names what is wrong, or None.

A `Job` is a plain dataclass, so through the Python API (or a JSONL line) any field can
hold any value. Every value is checked here, before a cache key is computed or a
process started: a value of the wrong type used to crash the runner, and that internal
error was then stored in the result cache as the program's verdict.
"""

from __future__ import annotations

import math

from xlt.execution import types as T
from xlt.languages import LANGUAGES

# Longer than any judge's limit; it keeps `prlimit --cpu` and the wall clock finite.
MAX_TIMEOUT_S = 3600.0


def _text_problem(value: object, name: str) -> str | None:
    """A field that must be text the program's files can hold (UTF-8)."""
    if not isinstance(value, str):
        return f"{name} must be a string, got {type(value).__name__}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate, e.g. from JSON "\ud800"
        return f"{name} is not valid Unicode text ({error.reason} at index {error.start})"
    return None


def _number_problem(
    value: object, name: str, low: float, high: float, low_open: bool
) -> str | None:
    """An optional finite number within (low or [low, high]; bools are not numbers here."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number, got {type(value).__name__} {value!r}"
    too_low = value <= low if low_open else value < low
    # Compared before isfinite, which overflows on a huge int (JSON allows 1 followed by 400 zeros).
    if too_low or value > high or not math.isfinite(value):
        bound = "(" if low_open else "["
        return f"{name} must be finite and in {bound}{low:g}, {high:g}], got {value!r}"
    return None


def _cases_problem(cases: object) -> str | None:
    if not isinstance(cases, tuple | list):
        return f"cases must be a sequence of Case, got {type(cases).__name__}"
    for index, case in enumerate(cases):
        if not isinstance(case, T.Case):
            return f"cases[{index}] must be a Case (stdin, expected), got {type(case).__name__}"
        for field in ("stdin", "expected"):
            problem = _text_problem(getattr(case, field), f"cases[{index}].{field}")
            if problem:
                return problem
    return None


def invalid_reason(job: object) -> str | None:
    """Why a job cannot run at all, or None."""
    if not isinstance(job, T.Job):
        return f"not a Job: {type(job).__name__}"
    for name in ("id", "language"):
        if not isinstance(getattr(job, name), str):
            return f"{name} must be a string, got {type(getattr(job, name)).__name__}"
    if job.language not in LANGUAGES:
        return f"unknown language {job.language!r}; use one of: {', '.join(LANGUAGES)}"
    problem = _text_problem(job.program, "program")
    if problem:
        return problem
    if not job.program.strip():
        return "empty program"
    if job.mode not in ("tests", "io"):
        return f"unknown mode {job.mode!r}; use 'tests' or 'io'"
    problem = (
        _cases_problem(job.cases)
        or _number_problem(job.timeout_s, "timeout_s", 0.0, MAX_TIMEOUT_S, low_open=True)
        or _number_problem(job.float_tolerance, "float_tolerance", 0.0, math.inf, low_open=False)
    )
    if problem:
        return problem
    if job.mode == "io" and not job.cases:
        return "io mode needs at least one case"
    return None
