"""Benchmark loaders read the real files in shared/benchmarks and build runnable programs."""

import gzip
import json
import re
import subprocess
import sys

import pytest

from xlt.data import benchmarks
from xlt.data.benchmarks import (
    BENCHMARKS,
    load_benchmark,
    load_humaneval_x,
    load_mbxp,
    load_multipl_e,
    multipl_e_languages,
)
from xlt.data.records import Problem
from xlt.paths import BENCHMARKS_DIR

MULTIPL_E_DIR = BENCHMARKS_DIR / "multipl-e-humaneval"


def test_multipl_e_local_folder_matches_file_and_tasks_are_language_independent():
    py = load_multipl_e(MULTIPL_E_DIR, "py")
    lua = load_multipl_e(None, "lua")  # None: the local copy under BENCHMARKS_DIR
    assert len(py) == 161 and len(lua) == 161
    assert py[0].name == "HumanEval_0_has_close_elements" and py[0].task == "HumanEval/0"
    assert {p.task for p in py} == {p.task for p in lua}
    assert py[0].stop_tokens == ("\ndef", "\n#", "\nif", "\nclass")
    assert all(p.language == "py" and p.solution is None for p in py)
    # The Go file's own `language` field says "go_test.go": the record carries the code.
    assert {p.language for p in load_multipl_e(MULTIPL_E_DIR, "go")} == {"go"}


def test_multipl_e_program_is_prompt_completion_tests():
    problem = load_multipl_e(MULTIPL_E_DIR, "rs")[0]
    program = problem.program("    true")
    assert program.startswith(problem.prompt + "    true\n")
    assert program.endswith(problem.tests) and problem.tests.startswith("}")


def test_multipl_e_single_file_and_languages_listing(tmp_path):
    path = tmp_path / "humaneval-lua-reworded.jsonl"
    with gzip.open(MULTIPL_E_DIR / "humaneval-lua-reworded.jsonl.gz", "rt") as src:
        path.write_text("".join(src.readlines()[:3]))
    assert [p.name for p in load_multipl_e(path, "lua")] == [
        p.name for p in load_multipl_e(MULTIPL_E_DIR, "lua")[:3]
    ]
    assert multipl_e_languages(tmp_path) == ("lua",)
    assert len(multipl_e_languages(MULTIPL_E_DIR)) == 22


def test_multipl_e_known_defects_are_marked():
    go = {p.name: p for p in load_multipl_e(MULTIPL_E_DIR, "go")}
    assert "tests do not compile" in go["HumanEval_87_get_row"].meta["defect"]
    assert "defect" not in go["HumanEval_0_has_close_elements"].meta


def test_multipl_e_hub_needs_a_pinned_revision():
    with pytest.raises(ValueError, match="pinned revision"):
        load_multipl_e("nuprl/MultiPL-E", "lua")
    with pytest.raises(ValueError, match="neither a local folder"):
        load_multipl_e("no such folder here", "lua")


def test_multipl_e_hub_passes_config_and_revision(monkeypatch):
    import datasets

    calls = []
    with gzip.open(MULTIPL_E_DIR / "humaneval-lua-reworded.jsonl.gz", "rt") as src:
        rows = [json.loads(line) for line in src.readlines()[:2]]

    def fake_load_dataset(path, name, revision, split):
        calls.append((path, name, revision, split))
        return rows

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    problems = load_multipl_e("nuprl/MultiPL-E", "lua", revision="abc123")
    assert calls == [("nuprl/MultiPL-E", "humaneval-lua", "abc123", "test")]
    assert [p.name for p in problems] == [row["name"] for row in rows]
    assert problems[0].task == "HumanEval/0"


@pytest.mark.parametrize("language", ["cpp", "go", "java", "js", "py", "rs"])
def test_humaneval_x_has_164_problems_with_solutions(language):
    problems = load_humaneval_x(language)
    assert len(problems) == 164
    assert all(p.solution for p in problems)
    assert [p.task for p in problems] == [f"HumanEval/{i}" for i in range(164)]
    assert len({p.name for p in problems}) == 164


def test_humaneval_x_go_merges_imports_into_one_block():
    go = {p.name: p for p in load_humaneval_x("go")}
    # Go/32: the harness's test_setup and the prompt both import "math".
    program = go["Go/32"].program(go["Go/32"].solution)
    assert program.startswith("package main\n")
    assert program.count("package ") == 1
    imported = re.findall(r'^\s+"([\w/.]+)"$', program, flags=re.M)
    assert len(imported) == len(set(imported)) and "math" in imported and "testing" in imported
    # Go/65: its import is not in the prompt text but the solution needs it.
    assert '"strconv"' in go["Go/65"].prompt
    assert "var _ = strconv.Itoa" in go["Go/65"].tests
    # Go/20: the solution uses math and sort, which its prompt does not import.
    assert '"math"' in go["Go/20"].prompt and '"sort"' in go["Go/20"].prompt


def test_humaneval_x_rust_tests_run_from_main_and_unused_crates_dropped():
    rs = {p.name: p for p in load_humaneval_x("rs")}
    program = rs["Rust/0"].program(rs["Rust/0"].solution)
    assert "#[cfg(test)]" not in program and "#[test]" not in program
    assert "pub fn test_has_close_elements()" in program
    assert program.rstrip().endswith("fn main() {\n    tests::test_has_close_elements();\n}")
    assert "use rand::Rng;" not in program and "use regex::Regex;" not in program
    assert "use regex::Regex;" in rs["Rust/91"].prompt  # its solution uses the crate
    # Rust/50 has a comment between #[test] and fn.
    assert "tests::test_decode_encode();" in rs["Rust/50"].tests
    assert rs["Rust/50"].meta["defect"]


def test_humaneval_x_js_failed_console_assert_throws():
    js = load_humaneval_x("js")[0]
    assert js.tests.startswith("console.assert = ")


def test_humaneval_x_cpp_adds_headers_from_declaration():
    cpp = load_humaneval_x("cpp")[0]
    assert cpp.prompt.startswith("#include<algorithm>\n#include<stdlib.h>\n")


def test_mbxp_python_calls_check_and_solution_none_where_missing():
    py = load_mbxp("py")
    assert len(py) == 974 and py[0].task == "MBPP/1"
    assert py[0].tests.rstrip().endswith("check(min_cost)")
    go = load_mbxp("go")
    assert all(p.solution is None for p in go)
    assert "func TestMBXP(t *testing.T) { main() }" in go[0].tests
    assert go[0].prompt.startswith('package main\n\nimport "testing"\n')
    cpp = load_mbxp("cpp")
    assert sum(p.solution is not None for p in cpp) == 773


def _run_python(program: str) -> int:
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, timeout=60
    ).returncode


@pytest.mark.parametrize("loader", [load_humaneval_x, load_mbxp])
def test_python_canonical_solutions_pass_and_broken_ones_fail(loader):
    # A handful of real programs (the execution engine runs them all in its own tests).
    for problem in loader("py")[:4]:
        assert _run_python(problem.program(problem.solution)) == 0, problem.name
        assert _run_python(problem.program("    return None\n")) != 0, problem.name


def test_registry_names_every_benchmark_and_round_trips_problem():
    assert set(BENCHMARKS) == {"multipl-e", "humaneval-x", "mbxp", "micro"}
    problem = load_benchmark("humaneval-x", "go")[5]
    assert Problem.from_dict(json.loads(json.dumps(problem.to_dict()))) == problem
    assert BENCHMARKS["humaneval-x"].languages(None) == ("cpp", "go", "java", "js", "py", "rs")


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="unknown benchmark 'humaneval-y'.*multipl-e"):
        load_benchmark("humaneval-y", "py")
    with pytest.raises(ValueError, match="'python'.*did you mean 'py'"):
        load_benchmark("humaneval-x", "python")
    with pytest.raises(ValueError, match="'kt' is not in this benchmark"):
        load_mbxp("kt")
    with pytest.raises(ValueError, match="'swift'.*Available: cpp"):
        load_humaneval_x("swift")
    with pytest.raises(ValueError, match="'zz' is not in this benchmark.*lua"):
        load_multipl_e(MULTIPL_E_DIR, "zz")


def test_known_defects_refer_to_real_problems():
    for (benchmark, language, name), _reason in benchmarks.KNOWN_DEFECTS.items():
        names = {p.name for p in load_benchmark(benchmark, language)}
        assert name in names, (benchmark, language, name)


def test_micro_reads_a_data_stage_folder(tmp_path):
    problems = [
        Problem(f"p{i}", f"T/{i}", lang, "def f():\n") for lang in ("py", "lua") for i in range(2)
    ]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(p.to_dict()) + "\n" for p in problems))
    assert load_benchmark("micro", "lua", root=tmp_path) == problems[2:]
    assert BENCHMARKS["micro"].languages(tmp_path) == ("lua", "py")
    with pytest.raises(ValueError, match="'rb' is not in this benchmark.*Available: lua, py"):
        load_benchmark("micro", "rb", root=tmp_path)
    with pytest.raises(ValueError, match="data stage's folder"):
        load_benchmark("micro", "py")
