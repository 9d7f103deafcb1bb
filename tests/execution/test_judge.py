"""Pass rules as MultiPL-E states them, on constructed outcomes (no processes)."""

import pytest

from xlt.execution import judge
from xlt.execution import types as T
from xlt.execution.judge import io_status, outputs_match
from xlt.execution.sandbox import Outcome
from xlt.languages import LANGUAGES


def outcome(code=0, stdout="", stderr="", *, timed_out=False, file_limit=False, sig=None):
    return Outcome(code, sig, timed_out, file_limit, 0.1, stdout, stderr, len(stdout))


@pytest.mark.parametrize(
    ("language", "run", "status"),
    [
        ("py", outcome(0), T.OK),
        ("py", outcome(1, stderr="AssertionError"), T.RUNTIME_ERROR),
        ("py", outcome(1, stderr="MemoryError"), T.MEMORY_LIMIT),
        ("py", outcome(None, sig=9, timed_out=True), T.TIMEOUT),
        ("py", outcome(1, file_limit=True), T.OUTPUT_LIMIT),
        # HumanEval-X JS: console.assert prints and exits 0.
        ("js", outcome(0, stderr="Assertion failed"), T.RUNTIME_ERROR),
        ("js", outcome(0, stdout="debug print"), T.OK),
        # MultiPL-E Perl: "ERROR" anywhere fails even with exit 0.
        ("pl", outcome(0, stdout="ok!ok!ERROR"), T.RUNTIME_ERROR),
        # MultiPL-E Go: build failures are compile errors; FAIL fails.
        ("go", outcome(1, stdout="FAIL\tcommand-line-arguments [build failed]"), T.COMPILE_ERROR),
        ("go", outcome(0, stdout="--- FAIL: TestX"), T.RUNTIME_ERROR),
        ("go", outcome(0, stdout="ok  \tcommand-line-arguments\t0.01s"), T.OK),
        # Racket, Scala and mono: any stderr fails, exit status 0 or not.
        ("rkt", outcome(0, stderr="FAILURE\nactual: 1"), T.RUNTIME_ERROR),
        ("scala", outcome(0, stderr="warning"), T.RUNTIME_ERROR),
        ("cs", outcome(0, stderr="Assertion failed"), T.RUNTIME_ERROR),
        ("rkt", outcome(0), T.OK),
    ],
)
def test_tests_mode_pass_rules(language, run, status):
    assert judge.tests_status(LANGUAGES[language], run) == status


def test_outputs_match_is_token_wise_with_optional_float_tolerance():
    assert outputs_match("1 2\n3\n", "1  2 3")
    assert not outputs_match("1 2", "1 2 3")
    assert not outputs_match("0.3333", "0.33333333")
    assert outputs_match("0.3333", "0.33333333", float_tolerance=1e-3)
    assert not outputs_match("0.30", "0.33", float_tolerance=1e-3)
    assert outputs_match("1e6", "1000000.5", float_tolerance=1e-6)  # relative for large values
    assert not outputs_match("abc", "abd", float_tolerance=1.0)


def test_io_status_needs_exit_zero_and_matching_output():
    case = T.Case(stdin="", expected="3\n")
    assert io_status(outcome(0, "3"), "3", case, None) == T.OK
    assert io_status(outcome(0, "4"), "4", case, None) == T.WRONG_ANSWER
    assert io_status(outcome(1, "3"), "3", case, None) == T.RUNTIME_ERROR
