"""Pass rules as MultiPL-E states them, on constructed outcomes (no processes)."""

import dataclasses

import pytest

from xlt.execution import judge
from xlt.execution import types as T
from xlt.execution.judge import io_status, outputs_match
from xlt.execution.sandbox import Outcome
from xlt.languages import LANGUAGES


def outcome(
    code=0, stdout="", stderr="", *, timed_out=False, file_limit=False, sig=None, oom=False
):
    return Outcome(code, sig, timed_out, file_limit, 0.1, stdout, stderr, len(stdout),
                   memory_limit=oom)  # fmt: skip


@pytest.mark.parametrize(
    ("language", "run", "status"),
    [
        ("py", outcome(0), T.OK),
        ("py", outcome(1, stderr="AssertionError"), T.RUNTIME_ERROR),
        ("py", outcome(1, stderr="MemoryError"), T.MEMORY_LIMIT),
        ("py", outcome(None, sig=9, timed_out=True), T.TIMEOUT),
        ("py", outcome(1, file_limit=True), T.OUTPUT_LIMIT),
        # The job's cgroup OOM-killed a process (no marker: SIGKILL prints nothing).
        ("py", outcome(None, sig=9, oom=True), T.MEMORY_LIMIT),
        ("py", outcome(1, oom=True), T.MEMORY_LIMIT),
        ("py", outcome(0, oom=True), T.OK),  # a child was killed, the program still passed
        # HumanEval-X JS: console.assert prints and exits 0.
        ("js", outcome(0, stderr="Assertion failed"), T.RUNTIME_ERROR),
        ("js", outcome(0, stdout="debug print"), T.OK),
        # MultiPL-E Perl: "ERROR" anywhere fails even with exit 0.
        ("pl", outcome(0, stdout="ok!ok!ERROR"), T.RUNTIME_ERROR),
        # Go's test binary (built by `go test -c`: a failed build never gets here): a
        # failed test exits 1; a passing one's output, which `go test FILE` hid, may say FAIL.
        ("go", outcome(1, stdout="--- FAIL: TestX\nFAIL"), T.RUNTIME_ERROR),
        ("go", outcome(0, stdout="FAIL is a word\nPASS"), T.OK),
        ("go", outcome(0, stdout="PASS"), T.OK),
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
    assert io_status(outcome(0, "3"), case, None) == T.OK
    assert io_status(outcome(0, "4"), case, None) == T.WRONG_ANSWER
    assert io_status(outcome(1, "3"), case, None) == T.RUNTIME_ERROR


# --- two signals at once: which one decides -----------------------------------------------


@pytest.mark.parametrize(
    ("run", "status"),
    [
        # Past the file-size limit, nothing else the run did counts.
        (outcome(1, stderr="MemoryError", timed_out=True, file_limit=True), T.OUTPUT_LIMIT),
        # A heap reported exhausted, then the clock ran out: the memory failure came first.
        (outcome(1, stderr="MemoryError", timed_out=True), T.MEMORY_LIMIT),
        (outcome(None, stderr="<--- Last few GCs --->", timed_out=True, sig=9), T.MEMORY_LIMIT),
        # A marker on a run that exited 0 is the program's own text, not an allocation failure.
        (outcome(0, stderr="MemoryError"), None),
        (outcome(0, stderr="out of memory", timed_out=True), T.TIMEOUT),
        (outcome(None, timed_out=True, sig=9), T.TIMEOUT),
        (outcome(1, stderr="AssertionError"), None),
    ],
)
def test_limit_status_precedence_with_combined_signals(run, status):
    assert judge.limit_status(run) == status


def test_a_memory_marker_printed_by_a_passing_program_is_not_a_memory_failure():
    # The program printed the word and exited 0: tests mode passes, io mode judges the output.
    assert judge.tests_status(LANGUAGES["py"], outcome(0, stdout="MemoryError")) == T.OK
    case = T.Case(stdin="", expected="ok\n")
    run = outcome(0, "ok", stderr="Cannot allocate memory")
    assert io_status(run, case, None) == T.OK
    assert io_status(outcome(1, "ok", stderr="MemoryError"), case, None) == T.MEMORY_LIMIT
    assert io_status(outcome(None, "ok", timed_out=True), case, None) == T.TIMEOUT


@pytest.mark.parametrize(
    ("actual", "expected", "tolerance", "match"),
    [
        # Near zero the tolerance is absolute: |1e-7 - 0| <= 1e-6 (a relative-only rule fails).
        ("0.0000001", "0", 1e-6, True),
        ("-0.0000005", "0.0000005", 1e-6, True),
        ("0.000002", "0", 1e-6, False),
        # For large values it is relative to the expected value: 0.5 <= 1e-6 * 1e6.
        ("1000000.5", "1000000", 1e-6, True),
        ("1000002", "1000000", 1e-6, False),
        # Relative to the expected value, not the actual one: |3 - 2| = 1 > 0.4 * 2 (0.4 * 3 = 1.2
        # would pass it).
        ("3", "2", 0.4, False),
        ("2", "3", 0.4, True),  # 1 <= 0.4 * 3
        # The bound itself passes (all in binary fractions, so exact): |0.75 - 0.5| = 0.25.
        ("0.75", "0.5", 0.25, True),
        ("0.5", "0.75", 0.25, True),
        # Non-finite or non-numeric tokens must match exactly.
        ("inf", "inf", 1.0, True),
        ("inf", "1e308", 1.0, False),
        ("nan", "0", 1e9, False),
    ],
)
def test_float_tolerance_absolute_near_zero_relative_when_large(actual, expected, tolerance, match):
    assert outputs_match(actual, expected, float_tolerance=tolerance) is match


def test_every_token_is_compared_and_io_status_applies_the_tolerance():
    assert not outputs_match("1 2", "1 3")  # equal first tokens do not settle the rest
    assert not outputs_match("1 2.5", "1 2.6", float_tolerance=0.01)
    case = T.Case(stdin="", expected="0.5\n")
    assert io_status(outcome(0, "0.50001"), case, 1e-3) == T.OK
    assert io_status(outcome(0, "0.50001"), case, None) == T.WRONG_ANSWER


def test_markers_and_tokens_are_judged_on_the_whole_stream_files(tmp_path):
    # The Outcome's text is only the head a Result keeps; the files hold everything.
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    noise = "w" * 100_000

    def run(code, stdout, stderr):
        out.write_text(stdout)
        err.write_text(stderr)
        return Outcome(code, None, False, False, 0.1, stdout[:100], stderr[:100], len(stdout),
                       stdout_path=out, stderr_path=err)  # fmt: skip

    js, pl, go = LANGUAGES["js"], LANGUAGES["pl"], LANGUAGES["go"]
    assert judge.tests_status(js, run(0, "", noise + "Assertion failed")) == T.RUNTIME_ERROR
    assert judge.tests_status(js, run(0, "", noise)) == T.OK
    assert judge.tests_status(pl, run(0, noise + "ERROR", "")) == T.RUNTIME_ERROR
    # No CI language has build-failure markers since Go builds in a step of its own.
    built_in_run = dataclasses.replace(go, compile_error_markers=("[build failed]",))
    assert judge.tests_status(built_in_run, run(1, noise + "[build failed]", "")) == T.COMPILE_ERROR
    assert judge.limit_status(run(1, "", noise + "JavaScript heap out of memory")) == T.MEMORY_LIMIT
    case = T.Case(stdin="", expected="42\n")
    assert io_status(run(0, "42" + " " * 100_000 + "junk", ""), case, None) == T.WRONG_ANSWER
    assert io_status(run(0, "42" + "\n" * 100_000, ""), case, None) == T.OK
    assert io_status(run(0, "4" * 100_000, ""), case, None) == T.WRONG_ANSWER
