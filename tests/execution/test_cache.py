"""The result cache's key: every part of a job that can change a verdict is in it, and
nothing else is (ids); the cache answers misses as well as hits."""

from __future__ import annotations

import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from xlt.execution import types as T
from xlt.execution.cache import ResultCache, cache_key

IO_JOB = T.Job(
    language="py",
    program="print(int(input()) * 2)\n",
    mode="io",
    cases=(T.Case(stdin="2\n", expected="4\n"), T.Case(stdin="5\n", expected="10\n")),
    timeout_s=2.0,
    id="a",
    float_tolerance=None,
)
LIMITS = {"memory_mb": 512, "output_bytes": 1 << 20}


@pytest.mark.parametrize(
    "changed",
    [
        # another problem's expected output: an `io` verdict must not be reused for it
        replace(IO_JOB, cases=(T.Case("2\n", "5\n"), T.Case("5\n", "10\n"))),
        replace(IO_JOB, cases=(T.Case("3\n", "4\n"), T.Case("5\n", "10\n"))),  # stdin
        replace(IO_JOB, cases=IO_JOB.cases[:1]),  # fewer cases
        replace(IO_JOB, cases=IO_JOB.cases[::-1]),  # same cases, another order
        replace(IO_JOB, timeout_s=4.0),
        replace(IO_JOB, float_tolerance=1e-6),
        replace(IO_JOB, mode="tests"),
        replace(IO_JOB, language="js"),
        replace(IO_JOB, language="rb"),
        replace(IO_JOB, program="print(int(input()) * 3)\n"),
    ],
)
def test_keys_differ_when_anything_that_decides_the_verdict_differs(changed):
    assert cache_key(changed, LIMITS) != cache_key(IO_JOB, LIMITS)


def test_keys_differ_with_the_limits_and_match_across_ids():
    assert cache_key(IO_JOB, {**LIMITS, "memory_mb": 256}) != cache_key(IO_JOB, LIMITS)
    assert cache_key(IO_JOB, {**LIMITS, "output_bytes": 10}) != cache_key(IO_JOB, LIMITS)
    # Equal jobs built apart (another id, equal but distinct objects) share one entry.
    twin = T.Job("py", "print(int(input()) * 2)\n", "io",
                 (T.Case("2\n", "4\n"), T.Case("5\n", "10\n")), 2.0, id="b")  # fmt: skip
    assert cache_key(twin, dict(LIMITS)) == cache_key(IO_JOB, LIMITS)


def test_cache_misses_stores_and_serves_under_the_asking_id(tmp_path):
    cache = ResultCache(tmp_path)
    key, other = cache_key(IO_JOB, LIMITS), cache_key(replace(IO_JOB, timeout_s=9.0), LIMITS)
    assert cache.get(key, "a") is None  # empty: a miss
    cache.put(key, T.Result("a", T.WRONG_ANSWER, exit_code=0, cases_passed=1))
    hit = cache.get(key, "b")
    assert (hit.id, hit.status, hit.cases_passed, hit.extra) == (
        "b",
        T.WRONG_ANSWER,
        1,
        {"cached": True},
    )
    assert cache.get(other, "a") is None  # another key still misses


@pytest.mark.parametrize("status", [T.TIMEOUT, T.TOOLCHAIN_MISSING, T.INVALID_JOB])
def test_verdicts_that_depend_on_the_machine_are_not_stored(tmp_path, status):
    cache = ResultCache(tmp_path)
    key = cache_key(IO_JOB, LIMITS)
    cache.put(key, T.Result("a", status))
    assert cache.get(key, "a") is None
    assert not any(tmp_path.rglob("*.json"))


def test_keys_follow_the_language_table_entry(monkeypatch):
    # A changed run command or pass rule can change a verdict: old entries must stop matching.
    from xlt.execution import cache

    before = cache_key(IO_JOB, LIMITS)
    py = cache.LANGUAGES["py"]
    for changed in (replace(py, fail_on_stderr=not py.fail_on_stderr), replace(py, run=(*py.run, "-X")),
                    replace(py, fail_markers=(*py.fail_markers, "FAIL"))):  # fmt: skip
        monkeypatch.setattr(cache, "LANGUAGES", {**cache.LANGUAGES, "py": changed})
        assert cache_key(IO_JOB, LIMITS) != before


def test_a_fresh_nested_folder_repeated_puts_and_stored_extras(tmp_path):
    # The cache folder may not exist yet (first run), and the same key is written again by
    # a second executor: neither may raise. Extras written with the verdict come back.
    cache = ResultCache(tmp_path / "not" / "yet")
    key = cache_key(IO_JOB, LIMITS)
    stored = T.Result("a", T.OK, stderr="é", cases_passed=2, cases_total=2, extra={"peak_mb": 12})
    cache.put(key, stored)
    cache.put(key, stored)
    hit = cache.get(key, "a")
    assert hit.extra == {"peak_mb": 12, "cached": True}
    assert (hit.stderr, hit.cases_passed, hit.cases_total) == ("é", 2, 2)


def test_entries_of_an_earlier_run_stay_readable(tmp_path):
    # The layout (<folder>/<key[:2]>/<key>.json) and the record format are a contract with
    # caches already on disk: a record written by hand in that place must be found, even
    # one without the newer `extra` field.
    key = cache_key(IO_JOB, LIMITS)
    path = tmp_path / key[:2] / f"{key}.json"
    path.parent.mkdir()
    path.write_text('{"id": "old", "status": "ok", "exit_code": 0}', encoding="utf-8")
    hit = ResultCache(tmp_path).get(key, "new")
    assert (hit.id, hit.status, hit.extra) == ("new", T.OK, {"cached": True})


def test_an_engine_failure_is_not_stored_as_the_programs_verdict(tmp_path):
    # The pool turns an exception inside the engine into a runtime_error marked internal:
    # it describes the engine, not the program, and must not be served for it again.
    cache = ResultCache(tmp_path)
    key = cache_key(IO_JOB, LIMITS)
    cache.put(key, T.Result("a", T.RUNTIME_ERROR, stderr="xlt internal error: boom",
                            extra={"internal_error": True}))  # fmt: skip
    assert cache.get(key, "a") is None


# --- what the machine contributes to a verdict --------------------------------------------


def test_keys_follow_the_toolchain_binary(monkeypatch, tmp_path):
    # Another interpreter (or the same path after an upgrade) can change a verdict.
    from xlt.execution import cache

    python = tmp_path / "python3"
    python.write_bytes(Path(sys.executable).read_bytes()[:64])
    python.chmod(0o755)
    before = cache_key(IO_JOB, LIMITS)
    fake = replace(cache.LANGUAGES["py"], tools={"python3": (str(python),)})
    monkeypatch.setattr(cache, "LANGUAGES", {**cache.LANGUAGES, "py": fake})
    assert cache_key(IO_JOB, LIMITS) != before
    # The binary's identity is its resolved path, size and mtime (computed once per process).
    first = cache.tool_identity.__wrapped__(str(python))
    python.write_bytes(b"#!/bin/sh\n")
    assert cache.tool_identity.__wrapped__(str(python)) != first


@pytest.mark.parametrize("setting", ["network", "run_as"])
def test_the_executor_keys_its_isolation_and_run_as_user(tmp_path, setting):
    from xlt.execution import Executor

    with Executor(workers=1, cache_dir=tmp_path, network_isolation="off") as ex:
        assert setting in ex.cache_settings
        assert cache_key(IO_JOB, {**ex.cache_settings, setting: "other"}) != cache_key(
            IO_JOB, ex.cache_settings
        )


def test_an_ok_earned_without_network_isolation_is_not_served_with_it(tmp_path):
    # The program passes only if it reaches a socket on the host's loopback: it can with
    # isolation off, and must not be handed that `ok` from the cache once isolation is on.
    from xlt.execution import Executor
    from xlt.execution.sandbox import network_prefix

    try:
        network_prefix("on")
    except ValueError:
        pytest.skip("`unshare --net` is not permitted here")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    job = T.Job(
        "py", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    )
    try:
        with Executor(workers=1, cache_dir=tmp_path, network_isolation="off") as open_net:
            (opened,) = open_net.run([job])
        with Executor(workers=1, cache_dir=tmp_path, network_isolation="on") as cut:
            (isolated,) = cut.run([job])
    finally:
        server.close()
    assert opened.status == T.OK, opened.stderr
    assert isolated.status == T.RUNTIME_ERROR and not isolated.extra.get("cached"), isolated
