"""`python -m xlt.execution run`: JSONL in, JSONL out; a bad line gets its own error."""

import json
import subprocess
import sys

from xlt.execution.__main__ import parse_job
from xlt.execution.types import Job


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
