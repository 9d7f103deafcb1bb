"""Per-problem result files and their summaries."""

import json

import pytest

from xlt.eval.results import (
    ProblemResult,
    SampleResult,
    append_results,
    read_results,
    read_row,
    summarize,
    write_row,
)


def _result(name, task, language, statuses):
    return ProblemResult(name, task, language, [SampleResult("x", s) for s in statuses])


def test_round_trip_and_torn_last_line(tmp_path):
    path = tmp_path / "results" / "py.jsonl"
    append_results(path, [_result("a", "T/0", "py", ["ok", "wrong_answer"])])
    append_results(path, [_result("b", "T/1", "py", ["timeout"])])
    with path.open("a") as handle:
        handle.write('{"name": "c", "task"')  # a writer killed mid-line
    results = read_results(path)
    assert [r.name for r in results] == ["a", "b"]
    assert (results[0].n, results[0].c) == (2, 1)
    line = json.loads(path.read_text().splitlines()[0])
    assert line["statuses"] == {"ok": 1, "wrong_answer": 1} and line["c"] == 1


def test_summary_full_and_common_sets():
    results = {
        "py": [_result("a", "T/0", "py", ["ok"]), _result("b", "T/1", "py", ["runtime_error"])],
        "lua": [_result("a", "T/0", "lua", ["ok"])],  # T/1 has no Lua version
    }
    summary = summarize(results, ks=[1])
    assert summary["languages"]["py"]["pass@1"] == 0.5
    assert summary["languages"]["lua"]["pass@1"] == 1.0
    assert summary["common"]["num_tasks"] == 1
    assert summary["common"]["languages"]["py"]["pass@1"] == 1.0


def test_missing_toolchain_and_partial_results_are_missing_not_zero():
    results = {
        "go": [_result("a", "T/0", "go", ["toolchain_missing"])],
        "py": [_result("a", "T/0", "py", ["ok"])],
    }
    summary = summarize(results, ks=[1], num_expected={"py": 3})
    assert summary["languages"]["go"]["missing"] == "toolchain_missing"
    assert summary["languages"]["go"]["pass@1"] is None
    assert summary["languages"]["py"]["missing"] == "partial: 1 of 3 problems"
    assert summary["languages"]["py"]["pass@1"] is None
    assert summary["common"]["num_tasks"] == 0


def test_k_larger_than_samples_is_none():
    summary = summarize({"py": [_result("a", "T/0", "py", ["ok", "ok"])]}, ks=[1, 10])
    assert summary["languages"]["py"]["pass@1"] == 1.0
    assert summary["languages"]["py"]["pass@10"] is None


def test_row_file_schema(tmp_path):
    summary = summarize({"py": [_result("a", "T/0", "py", ["ok"])]}, ks=[1])
    path = write_row(tmp_path, {"stage": "pre_rl"}, "SFT parallel", summary, benchmark="micro")
    row = read_row(path)
    assert row["label"] == "SFT parallel" and row["results_dir"] == "results"
    assert row["languages"]["py"]["pass@1"] == 1.0
    path.write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError, match="schema"):
        read_row(path)
