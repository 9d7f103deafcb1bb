"""Parallel programs: reading the artifact, benchmark solutions, selection of shared problems."""

from __future__ import annotations

import json

import pytest

from xlt.analysis.programs import (
    ParallelProgram,
    benchmark_programs,
    programs_from_problems,
    read_parallel_jsonl,
    select_programs,
)
from xlt.data.records import Problem


def test_read_parallel_jsonl_round_trips_and_names_bad_lines(tmp_path):
    path = tmp_path / "parallel.jsonl"
    rows = [
        {"task": "t1", "language": "py", "program": "x = 1\n"},
        {"task": 7, "language": "go", "program": "y"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    programs = read_parallel_jsonl(path)
    assert programs == [ParallelProgram("t1", "py", "x = 1\n"), ParallelProgram("7", "go", "y")]
    path.write_text(json.dumps({"task": "t", "language": "py"}) + "\n")
    with pytest.raises(ValueError, match=r"parallel.jsonl:1: record lacks \['program'\]"):
        read_parallel_jsonl(path)
    with pytest.raises(FileNotFoundError, match="parallel.jsonl"):
        read_parallel_jsonl(tmp_path / "missing" / "parallel.jsonl")


def test_programs_from_problems_texts_and_missing_solutions():
    problem = Problem(
        name="p",
        task="T/1",
        language="py",
        prompt="def f():\n",
        tests="assert f() == 1",
        solution="    return 1\n",
    )
    unsolved = Problem(name="q", task="T/2", language="py", prompt="def g():\n")
    assert programs_from_problems([problem, unsolved]) == [
        ParallelProgram("T/1", "py", "    return 1\n")
    ]
    (with_prompt,) = programs_from_problems([problem], text="prompt_solution")
    assert with_prompt.program == "def f():\n    return 1\n"
    (whole,) = programs_from_problems([problem], text="program")
    assert whole.program == problem.program(problem.solution)
    with pytest.raises(ValueError, match="text="):
        programs_from_problems([problem], text="tests")


def test_humaneval_x_gives_164_parallel_solutions_per_language():
    programs = benchmark_programs("humaneval-x", ["py", "go"])
    assert len(programs) == 2 * 164
    by_key = {(p.task, p.language): p.program for p in programs}
    assert "for idx, elem in enumerate(numbers)" in by_key[("HumanEval/0", "py")]
    assert "math.Abs" in by_key[("HumanEval/0", "go")]


def test_mbxp_language_without_solutions_is_refused_by_name():
    with pytest.raises(ValueError, match="no canonical solutions in 'go'"):
        benchmark_programs("mbxp", ["go"])


def test_select_keeps_shared_problems_in_order_and_limits_them():
    programs = [
        ParallelProgram("a", "py", "1"), ParallelProgram("a", "go", "2"),
        ParallelProgram("only_py", "py", "3"),
        ParallelProgram("b", "go", "4"), ParallelProgram("b", "lua", "5"),
        ParallelProgram("c", "py", "6"), ParallelProgram("c", "lua", "7"),
    ]  # fmt: skip
    assert {p.task for p in select_programs(programs)} == {"a", "b", "c"}
    assert [p.task for p in select_programs(programs, max_tasks=2)] == ["a", "a", "b", "b"]
    assert [p.program for p in select_programs(programs, languages=["py", "lua"])] == ["6", "7"]
    with pytest.raises(ValueError, match=r"no programs in \['rb'\]"):
        select_programs(programs, languages=["py", "rb"])
    with pytest.raises(ValueError, match="at least two languages"):
        select_programs(programs, languages=["py"])
