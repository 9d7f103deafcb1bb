"""The engine end to end on tiny programs: every CI-tier language passes a good
program and fails a broken one; bad input gets a clear per-job error; results
keep job order; the cache serves repeats; async gives the same answers."""

import asyncio
import dataclasses

import pytest

from tests.execution.conftest import require
from xlt.execution import Case, Executor, Job, execute_async
from xlt.execution import types as T
from xlt.languages import CI_LANGUAGES, LANGUAGES

# Turning the smoke program's "1 + 1" into "1 + 2" must make every language fail.
BROKEN = {
    code: LANGUAGES[code].smoke.replace("1 + 1", "1 + 2").replace("1+1", "1+2")
    for code in CI_LANGUAGES
}


def test_every_ci_language_passes_its_smoke_program_and_fails_the_broken_one(executor):
    require(*CI_LANGUAGES)
    assert all(BROKEN[code] != LANGUAGES[code].smoke for code in CI_LANGUAGES)
    jobs = [Job(code, LANGUAGES[code].smoke, id=f"{code}+") for code in CI_LANGUAGES]
    jobs += [Job(code, BROKEN[code], id=f"{code}-") for code in CI_LANGUAGES]
    results = executor.run(jobs)
    assert [r.id for r in results] == [j.id for j in jobs]  # job order
    statuses = {r.id: r.status for r in results}
    assert {code: statuses[f"{code}+"] for code in CI_LANGUAGES} == dict.fromkeys(
        CI_LANGUAGES, T.OK
    )
    assert all(
        statuses[f"{code}-"] in (T.RUNTIME_ERROR, T.COMPILE_ERROR) for code in CI_LANGUAGES
    ), statuses


def test_compile_errors_are_reported_as_such(executor):
    require("cpp", "java")
    results = executor.run(
        [Job("cpp", "int main() { return x; }\n"), Job("java", "class Problem { int }\n")]
    )
    assert [r.status for r in results] == [T.COMPILE_ERROR, T.COMPILE_ERROR]
    assert "x" in results[0].stderr and results[1].stderr


def test_bad_jobs_get_a_clear_error_and_the_batch_still_runs(executor):
    jobs = [
        Job("cobol", "DISPLAY 'x'.", id="unknown"),
        Job("py", "   \n", id="empty"),
        Job("py", "print(1)", mode="io", id="io-without-cases"),
        Job("py", "print(1)", timeout_s=-1, id="negative-timeout"),
        "not a job",
        Job("py", "assert True\n", id="fine"),
    ]
    results = executor.run(jobs)
    assert [r.status for r in results] == [T.INVALID_JOB] * 5 + [T.OK]
    assert "unknown language 'cobol'" in results[0].stderr
    assert "empty program" in results[1].stderr
    assert "at least one case" in results[2].stderr


def test_io_mode_compares_stdout_per_case(executor):
    program = "a, b = map(float, input().split())\nprint(a / b)\n"
    cases = (Case("1 3\n", "0.333333\n"), Case("4 2\n", "2.0\n"))
    exact, tolerant = executor.run([
        Job("py", program, mode="io", cases=cases, id="exact"),
        Job("py", program, mode="io", cases=cases, float_tolerance=1e-4, id="tolerant"),
    ])  # fmt: skip
    assert (exact.status, exact.cases_passed, exact.cases_total) == (T.WRONG_ANSWER, 0, 2)
    assert (tolerant.status, tolerant.cases_passed) == (T.OK, 2)


def test_missing_toolchain_is_reported_not_failed(executor, monkeypatch):
    from xlt.execution import runner

    fake = dataclasses.replace(LANGUAGES["py"], tools={"python3": ("no-such-python-xyz",)})
    monkeypatch.setattr(runner, "LANGUAGES", {**LANGUAGES, "py": fake})
    (result,) = executor.run([Job("py", "assert True  # missing\n")])
    assert result.status == T.TOOLCHAIN_MISSING and "no-such-python-xyz" in result.stderr


def test_repeated_batch_is_served_from_the_cache(tmp_path):
    jobs = [Job("py", f"assert {i} == {i}\n", id=f"j{i}") for i in range(3)] + [
        Job("py", "assert False\n", id="bad")
    ]
    with Executor(workers=2, cache_dir=tmp_path) as ex:
        first = ex.run(jobs)
        second = ex.run([dataclasses.replace(j, id=j.id + "'") for j in jobs])
    assert [r.status for r in first] == [T.OK] * 3 + [T.RUNTIME_ERROR]
    assert [r.status for r in second] == [r.status for r in first]
    assert all(r.extra.get("cached") for r in second) and not any(
        r.extra.get("cached") for r in first
    )
    assert [r.id for r in second] == [j.id + "'" for j in jobs]


def test_identical_jobs_in_a_batch_run_once_and_keep_their_ids(tmp_path):
    with Executor(workers=2, cache_dir=tmp_path, use_cache=False) as ex:
        results = ex.run([Job("py", "print(1)\n", id=str(i)) for i in range(5)])
    assert [r.id for r in results] == ["0", "1", "2", "3", "4"]
    assert {r.stdout for r in results} == {"1\n"}


def test_async_batch_matches_sync(tmp_path):
    jobs = [Job("py", "assert 1\n", id="a"), Job("sh", "exit 3\n", id="b")]
    results = asyncio.run(execute_async(jobs, workers=2, cache_dir=tmp_path, use_cache=False))
    assert [(r.id, r.status, r.exit_code) for r in results] == [
        ("a", T.OK, 0),
        ("b", T.RUNTIME_ERROR, 3),
    ]


def test_invalid_settings_raise_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match="timeout_s"):
        Executor(timeout_s=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="network_isolation"):
        Executor(network_isolation="maybe", cache_dir=tmp_path)


def test_jobs_with_values_of_the_wrong_type_are_invalid_and_never_cached(tmp_path):
    # Through the Python API a Job can hold anything: these used to crash inside the runner,
    # and the internal error was stored in the result cache as the program's verdict.
    bad = [
        Job("py", "pass\n", timeout_s=float("inf"), id="inf"),
        Job("py", "pass\n", timeout_s="5", id="string-timeout"),
        Job("py", "print(input())\n", mode="io", cases=(Case(1, 1),), id="integer-case"),
        Job("py", "pass\n", float_tolerance=float("nan"), id="nan-tolerance"),
        Job("py", "x = '\ud800'\n", id="lone-surrogate"),
        Job("py", None, id="null-program"),
    ]
    with Executor(workers=2, cache_dir=tmp_path) as ex:
        results = ex.run([*bad, Job("py", "assert True\n", id="fine")])
    assert [r.status for r in results] == [T.INVALID_JOB] * len(bad) + [T.OK]
    assert [r.id for r in results[:-1]] == [j.id for j in bad]
    assert "timeout_s" in results[0].stderr and "cases[0]" in results[2].stderr
    assert len(list((tmp_path / "results").rglob("*.json"))) == 1  # only the passing program


def test_io_mode_compares_the_whole_output(executor):
    # Only a window of about twice the expected output used to be read back: a wrong token
    # after 10 kB of blanks passed. Blanks alone (however many) still match.
    cases = (Case("", "42\n"),)
    tail, blanks = executor.run([
        Job("py", "print('42' + ' ' * 10000 + 'junk')\n", mode="io", cases=cases, id="tail"),
        Job("py", "print('42' + ' \\n' * 300000)\n", mode="io", cases=cases, id="blanks"),
    ])  # fmt: skip
    assert (tail.status, tail.cases_passed) == (T.WRONG_ANSWER, 0)
    assert blanks.status == T.OK
