"""Turn what a run did into a status: the pass rules of `tests` and `io` mode.

`tests` (MultiPL-E): exit status 0 plus the language's extra rules
(`xlt.languages.Language.fail_on_stderr`, `fail_markers`). `io` (CodeForces):
exit status 0 and stdout equal to the expected output token by token
(whitespace-insensitive), numbers within `float_tolerance` (absolute or relative)
when one is given.
"""

from __future__ import annotations

import math

from xlt.execution import types as T
from xlt.execution.sandbox import Outcome
from xlt.languages import Language

# Messages runtimes print when an allocation fails under the address-space limit.
MEMORY_MARKERS = (
    "MemoryError",
    "std::bad_alloc",
    "java.lang.OutOfMemoryError",
    "JavaScript heap out of memory",
    "Allowed memory size of",
    "failed to allocate memory",
    "memory allocation of",
    "Cannot allocate memory",
    "NoMemoryError",
    "failed to map segment from shared object",
    "runtime: out of memory",
    "not enough memory",
    "Out of memory",
    "out of memory",
    "<--- Last few GCs --->",  # V8 prints this only when its heap is exhausted
    "Allocation failed",
)


def limit_status(outcome: Outcome) -> str | None:
    """The status of a run stopped by a limit, or None. A runtime that reported an
    exhausted heap and then ran out the clock is a memory failure first."""
    if outcome.file_limit:
        return T.OUTPUT_LIMIT
    if outcome.exit_code != 0 and any(m in outcome.stderr for m in MEMORY_MARKERS):
        return T.MEMORY_LIMIT
    if outcome.timed_out:
        return T.TIMEOUT
    return None


def tests_status(language: Language, outcome: Outcome) -> str:
    if any(m in outcome.stdout for m in language.compile_error_markers):
        return T.COMPILE_ERROR
    limited = limit_status(outcome)
    if limited is not None:
        return limited
    failed = (
        outcome.exit_code != 0
        or (language.fail_on_stderr and outcome.stderr != "")
        or any(m in outcome.stdout or m in outcome.stderr for m in language.fail_markers)
    )
    return T.RUNTIME_ERROR if failed else T.OK


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def outputs_match(actual: str, expected: str, float_tolerance: float | None = None) -> bool:
    got, want = actual.split(), expected.split()
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if a == b:
            continue
        if float_tolerance is None:
            return False
        x, y = _number(a), _number(b)
        if x is None or y is None:
            return False
        if abs(x - y) > float_tolerance * max(1.0, abs(y)):
            return False
    return True


def io_status(
    outcome: Outcome, full_stdout: str, case: T.Case, float_tolerance: float | None
) -> str:
    limited = limit_status(outcome)
    if limited is not None:
        return limited
    if outcome.exit_code != 0:
        return T.RUNTIME_ERROR
    return T.OK if outputs_match(full_stdout, case.expected, float_tolerance) else T.WRONG_ANSWER
