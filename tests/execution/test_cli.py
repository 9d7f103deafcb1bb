"""`python -m xlt.execution run`: JSONL in, JSONL out; a bad line gets its own error."""

import json
import subprocess
import sys

import pytest

from xlt.execution.__main__ import parse_job
from xlt.execution.types import Job
from xlt.execution.validate import MAX_TIMEOUT_S, invalid_reason


def test_parse_job_names_what_is_wrong():
    assert isinstance(parse_job('{"id": "a", "language": "py", "program": "x"}', 1), Job)
    assert "not JSON" in parse_job("{oops", 2)
    assert "unknown fields ['langauge']" in parse_job('{"langauge": "py", "program": "x"}', 3)
    assert "missing or bad field 'language'" in parse_job('{"program": "x"}', 4)


def test_run_command_writes_one_result_per_line(tmp_path):
    lines = [
        {"id": "ok", "language": "py", "program": "assert 1 + 1 == 2\n"},
        "{not json",
        {
            "id": "io",
            "language": "py",
            "program": "print(int(input()) * 2)\n",
            "mode": "io",
            "cases": [{"stdin": "21\n", "expected": "42\n"}],
        },  # fmt: skip
        {"id": "unknown", "language": "brainfuck", "program": "+"},
        {"id": "fails", "language": "sh", "program": "exit 4\n", "timeout_s": 5},
    ]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    out = tmp_path / "results.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "xlt.execution", "run", "--input", str(jobs), "--output", str(out),
         "--workers", "2", "--cache-dir", str(tmp_path / "cache")],  # fmt: skip
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["status"]) for r in results] == [
        ("ok", "ok"), ("line2", "invalid_job"), ("io", "ok"), ("unknown", "invalid_job"), ("fails", "runtime_error"),
    ]  # fmt: skip
    assert results[4]["exit_code"] == 4
    assert set(results[0]) >= {
        "id",
        "status",
        "exit_code",
        "stdout",
        "stderr",
        "compile_s",
        "run_s",
    }


# --- malformed input: every bad line is an invalid_job naming the problem ------------------

GOOD = {"language": "py", "program": "assert 1 + 1 == 2\n"}
IO = {"language": "py", "program": "print(input())\n", "mode": "io"}
# A line, and what the reason must name. Each used to run (and pass, or crash the engine and
# leave an internal error in the result cache) instead of being refused.
MALFORMED = {
    "null-program": ({**GOOD, "program": None}, "program"),  # ran as the Python program `None`
    "number-program": ({**GOOD, "program": 7}, "program"),
    "overflowing-timeout": (
        '{"language": "py", "program": "pass", "timeout_s": 1e999}',
        "timeout_s",
    ),
    "infinity-timeout": (
        '{"language": "py", "program": "pass", "timeout_s": Infinity}',
        "Infinity",
    ),
    "string-timeout": ({**GOOD, "timeout_s": "5"}, "timeout_s"),
    "bool-timeout": ({**GOOD, "timeout_s": True}, "timeout_s"),
    "huge-timeout": ({**GOOD, "timeout_s": 1e300}, "timeout_s"),
    "integer-case": ({**IO, "cases": [{"stdin": 1, "expected": 1}]}, "cases[0]"),
    "bare-case": ({**IO, "cases": [3]}, "cases[0]"),
    "case-extra-field": ({**IO, "cases": [{"stdin": "", "expected": "", "x": 1}]}, "cases[0]"),
    "nan-tolerance": ('{"language": "py", "program": "pass", "float_tolerance": NaN}', "NaN"),
    "negative-tolerance": ({**GOOD, "float_tolerance": -1}, "float_tolerance"),
    "list-id": ({**GOOD, "id": ["a"]}, "id"),
    "list-language": ({**GOOD, "language": ["py"]}, "language"),
    "lone-surrogate": ('{"language": "py", "program": "x = \\"\\ud800\\"\\n"}', "program"),
}


def _line(spec) -> str:
    return spec if isinstance(spec, str) else json.dumps(spec)


def _reason(line: str) -> str | None:
    """What the CLI reports for a line: the parser's reason, else the engine's check."""
    parsed = parse_job(line, 1)
    return parsed if isinstance(parsed, str) else invalid_reason(parsed)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_lines_are_refused_with_the_reason(name):
    spec, named = MALFORMED[name]
    reason = _reason(_line(spec))
    assert reason is not None and named in reason, reason


def test_well_formed_lines_are_accepted():
    # The check must not refuse what the contract allows: integer ids and timeouts, a zero
    # tolerance, a timeout of exactly the maximum.
    for spec in ({**GOOD, "id": 7, "timeout_s": 3}, {**IO, "cases": [{"stdin": "1", "expected": "1"}],
                 "float_tolerance": 0, "timeout_s": MAX_TIMEOUT_S}):  # fmt: skip
        assert _reason(json.dumps(spec)) is None, spec


def test_malformed_bytes_and_values_do_not_stop_the_batch_nor_enter_the_cache(tmp_path):
    # One byte that is not UTF-8 used to make the command exit 1 with no output at all. A raw
    # U+2028 inside a JSON string is valid JSON and must not split its line in two.
    lines = [json.dumps({**GOOD, "id": "first"}).encode()]
    lines += [_line(spec).encode() for spec, _ in MALFORMED.values()]
    lines.append(b'{"id": "bad-byte", "language": "py", "program": "pass  # \xff"}')
    separator = json.dumps({"id": "u2028", "language": "py", "program": "s = '\u2028'\nassert len(s) == 1\n"},
                           ensure_ascii=False)  # fmt: skip
    lines.append(separator.encode())
    lines.append(json.dumps({**GOOD, "id": "last"}).encode())
    jobs, out, cache = tmp_path / "jobs.jsonl", tmp_path / "results.jsonl", tmp_path / "cache"
    jobs.write_bytes(b"\n".join(lines) + b"\n")
    command = [sys.executable, "-m", "xlt.execution", "run", "--input", str(jobs), "--output", str(out),
               "--workers", "2", "--cache-dir", str(cache)]  # fmt: skip
    for attempt in range(2):  # the second run must not be served anything invalid from the cache
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        results = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(results) == len(lines), attempt
        refused = ["invalid_job"] * (len(MALFORMED) + 1)
        assert [r["status"] for r in results] == ["ok", *refused, "ok", "ok"]
        for result, (_, named) in zip(results[1:], MALFORMED.values(), strict=False):
            assert named in result["stderr"], result
        assert "UTF-8" in results[-3]["stderr"]
        assert [r["id"] for r in results[-2:]] == ["u2028", "last"]
    # Only the two distinct passing programs were stored.
    assert len(list((cache / "results").rglob("*.json"))) == 2
