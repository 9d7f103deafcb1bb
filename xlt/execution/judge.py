"""Turn what a run did into a status: the pass rules of `tests` and `io` mode.

`tests` (MultiPL-E): exit status 0 plus the language's extra rules
(`xlt.languages.Language.fail_on_stderr`, `fail_markers`). `io` (CodeForces):
exit status 0 and stdout equal to the expected output token by token
(whitespace-insensitive), numbers within `float_tolerance` (absolute or relative)
when one is given.

Markers and tokens are looked for in the whole streams (the sandbox's log files), not
in the head a `Result` keeps: 64 kB of noise used to push "Assertion failed" or V8's
heap report out of sight, and junk after the window read back passed io mode.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from xlt.execution import types as T
from xlt.execution.capture import markers_in, tokens
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
    "Array buffer allocation failed",  # Node: a Buffer/typed array past the address space
)


def _found(text: str, path: Path | None, markers: tuple[str, ...]) -> set[str]:
    """The markers in a whole stream: its file when the sandbox kept one (`text` is only
    the head kept in a Result, which 64 kB of noise used to push a marker out of)."""
    if not markers:
        return set()
    if path is None:
        return {m for m in markers if m in text}
    return markers_in(path, markers)


def limit_status(outcome: Outcome) -> str | None:
    """The status of a run stopped by a limit, or None. A runtime that reported an
    exhausted heap and then ran out the clock is a memory failure first."""
    if outcome.file_limit:
        return T.OUTPUT_LIMIT
    if outcome.memory_limit and outcome.exit_code != 0:  # the job's cgroup OOM-killed a process
        return T.MEMORY_LIMIT
    if outcome.exit_code != 0 and _found(outcome.stderr, outcome.stderr_path, MEMORY_MARKERS):
        return T.MEMORY_LIMIT
    if outcome.timed_out:
        return T.TIMEOUT
    return None


def tests_status(language: Language, outcome: Outcome) -> str:
    if _found(outcome.stdout, outcome.stdout_path, language.compile_error_markers):
        return T.COMPILE_ERROR
    limited = limit_status(outcome)
    if limited is not None:
        return limited
    failed = (
        outcome.exit_code != 0
        or (language.fail_on_stderr and outcome.stderr != "")
        or bool(_found(outcome.stdout, outcome.stdout_path, language.fail_markers))
        or bool(_found(outcome.stderr, outcome.stderr_path, language.fail_markers))
    )
    return T.RUNTIME_ERROR if failed else T.OK


def strict_status(status: str, outcome: Outcome, marker: str) -> str:
    """The strict judge (`xlt.execution.strict`): a pass by MultiPL-E's rules stands only if
    the completion marker, printed after the tests' end, is in the output (stdout, or
    stderr where the language's trailer can only print there: Go's `println`)."""
    if status != T.OK:
        return status
    seen = _found(outcome.stdout, outcome.stdout_path, (marker,)) or _found(
        outcome.stderr, outcome.stderr_path, (marker,)
    )
    return T.OK if seen else T.RUNTIME_ERROR


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _token_matches(got: str, want: str, float_tolerance: float | None) -> bool:
    if got == want:
        return True
    if float_tolerance is None:
        return False
    x, y = _number(got), _number(want)
    return x is not None and y is not None and abs(x - y) <= float_tolerance * max(1.0, abs(y))


def tokens_match(got: Iterable[str], want: list[str], float_tolerance: float | None = None) -> bool:
    """Every token of `got` against `want`, stopping at the first difference (so a flood
    of output is not read to its end once it has too many tokens)."""
    count = 0
    for token in got:
        if count == len(want) or not _token_matches(token, want[count], float_tolerance):
            return False
        count += 1
    return count == len(want)


def outputs_match(actual: str, expected: str, float_tolerance: float | None = None) -> bool:
    return tokens_match(actual.split(), expected.split(), float_tolerance)


def io_status(outcome: Outcome, case: T.Case, float_tolerance: float | None) -> str:
    """Compares the whole stdout: its file when the sandbox kept one (a program used to
    pass with junk after the window that was read back), else `outcome.stdout`."""
    limited = limit_status(outcome)
    if limited is not None:
        return limited
    if outcome.exit_code != 0:
        return T.RUNTIME_ERROR
    got = outcome.stdout.split() if outcome.stdout_path is None else tokens(outcome.stdout_path)
    return T.OK if tokens_match(got, case.expected.split(), float_tolerance) else T.WRONG_ANSWER
