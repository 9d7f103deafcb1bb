"""The scoring CLI: completions made elsewhere -> per-problem results and pass@k."""

import json

import pytest

from tests.eval.conftest import run_as_python
from xlt.data.benchmarks import load_humaneval_x, load_multipl_e
from xlt.eval import score as score_cli
from xlt.eval.scoring import program_for

# One wrong-but-well-formed body per language: it closes the function and returns a default.
WRONG = {
    "py": "    return None\n",
    "cpp": "    return {};\n}\n",
    "go": '    panic("wrong")\n}\n',
    "java": "        return null;\n    }\n}\n",
    "js": "  return undefined;\n}\n",
    "rs": "    unimplemented!()\n}\n",
}


def _write_completions(path, pairs):
    path.write_text("".join(json.dumps({"name": n, "completion": c}) + "\n" for n, c in pairs))
    return path


@pytest.fixture
def python_engine(monkeypatch):
    """Run the CLI's programs with this Python (the engine's own tests cover every language)."""
    monkeypatch.setattr("xlt.eval.scoring.default_execute", lambda: run_as_python)


def _cli(tmp_path, completions, language="py", benchmark="humaneval-x", fmt="completion"):
    # A private result cache: verdicts cached by other runs on this machine cannot leak in.
    return score_cli.main(
        ["--benchmark", benchmark, "--language", language, "--completions", str(completions),
         "--format", fmt, "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    )  # fmt: skip


def test_canonical_solutions_pass_and_wrong_ones_fail(tmp_path, python_engine, capsys):
    problems = load_humaneval_x("py")[:6]
    good = _write_completions(tmp_path / "good.jsonl", [(p.name, p.solution) for p in problems])
    assert _cli(tmp_path, good) == 0
    assert "pass@1 = 1.0000" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "score.json").read_text())
    assert summary["num_problems"] == 6 and summary["pass@1"] == 1.0
    lines = (tmp_path / "out" / "results" / "py.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == [p.name for p in problems]

    bad = _write_completions(tmp_path / "bad.jsonl", [(p.name, WRONG["py"]) for p in problems])
    assert _cli(tmp_path, bad) == 0
    assert "pass@1 = 0.0000" in capsys.readouterr().out
    # A rerun replaced the earlier results instead of appending to them.
    assert len((tmp_path / "out" / "results" / "py.jsonl").read_text().splitlines()) == 6


def test_several_samples_per_name_give_pass_at_k(tmp_path, python_engine, capsys):
    problem = load_humaneval_x("py")[0]
    pairs = [(problem.name, problem.solution)] * 3 + [(problem.name, WRONG["py"])] * 7
    assert _cli(tmp_path, _write_completions(tmp_path / "c.jsonl", pairs)) == 0
    out = capsys.readouterr().out
    assert "pass@1 = 0.3000" in out and "pass@10 = 1.0000" in out and "pass@100" not in out


def test_chat_format_extracts_the_code_block(tmp_path, python_engine, capsys):
    problem = load_multipl_e(None, "py")[0]  # MultiPL-E: tests call `candidate`, stop tokens cut
    answer = (
        "Here is the function:\n```python\n" + problem.prompt
        + "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
        + " for b in numbers[i + 1:])\n\nif __name__ == '__main__':\n    print('demo')\n```\nDone."
    )  # fmt: skip
    program = program_for(problem, answer, "chat")
    assert "return any(" in program and "__main__" not in program and "Done." not in program
    assert program.endswith(problem.tests)  # the tests are appended untouched
    path = _write_completions(tmp_path / "chat.jsonl", [(problem.name, answer)])
    assert _cli(tmp_path, path, benchmark="multipl-e", fmt="chat") == 0
    assert "pass@1 = 1.0000" in capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "results" / "py.jsonl").read_text())
    assert result["samples"][0]["extracted_program"] == program  # the user sees what ran


def test_auto_format_tells_a_completion_from_a_chat_answer(tmp_path, python_engine, capsys):
    problem = load_multipl_e(None, "py")[0]
    body = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    chat = f"Sure:\n```python\n{problem.prompt}{body}\nprint(has_close_elements([1.0], 0.5))\n```\n"
    bare = problem.prompt.split("def ")[0] + "def " + problem.prompt.split("def ", 1)[1] + body
    # A continuation of the prompt, a fenced answer, and bare code that defines the function.
    assert program_for(problem, body, "auto") == program_for(problem, body, "completion")
    assert program_for(problem, chat, "auto") == program_for(problem, chat, "chat")
    assert program_for(problem, bare, "auto") == program_for(problem, bare, "chat")
    assert "print(" not in program_for(problem, chat, "auto")  # the example call is dropped
    lines = [(problem.name, body), (problem.name, chat), (problem.name, bare)]
    path = _write_completions(tmp_path / "auto.jsonl", lines)
    assert _cli(tmp_path, path, benchmark="multipl-e", fmt="auto") == 0
    assert "pass@1 = 1.0000" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not one of"):
        program_for(problem, body, "bare")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmark", "humaneval-y", "--language", "py"], "unknown benchmark 'humaneval-y'"),
        (["--benchmark", "humaneval-x", "--language", "lua"], "'lua' is not in this benchmark"),
        (["--benchmark", "humaneval-x", "--language", "python"], "did you mean 'py'"),
    ],
)
def test_bad_benchmark_or_language_is_named(tmp_path, capsys, args, message):
    path = _write_completions(tmp_path / "c.jsonl", [("Python/0", "x")])
    argv = [*args, "--completions", str(path), "--out", str(tmp_path / "o")]
    assert score_cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_problem_names_are_named(tmp_path, capsys):
    path = _write_completions(tmp_path / "c.jsonl", [("Python/0", "x"), ("HumanEval/0", "y")])
    assert _cli(tmp_path, path) == 2
    err = capsys.readouterr().err
    assert "'HumanEval/0'" in err and "not in the benchmark" in err and "Python/0'" in err


def test_malformed_line_is_named(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    path.write_text('{"name": "Python/0", "completion": "x"}\n{"nom": 1}\n')
    assert _cli(tmp_path, path) == 2
    assert "c.jsonl:2" in capsys.readouterr().err


# --- with the real execution engine ------------------------------------------------------


@pytest.mark.parametrize(
    "language",
    # Go builds its test dependencies into the fresh cache first (about a minute): slow tier.
    ["cpp", pytest.param("go", marks=pytest.mark.slow), "java", "js", "py", "rs"],
)
def test_engine_scores_a_sample_of_humaneval_x(tmp_path, capsys, language):
    problems = load_humaneval_x(language)[:3]  # three real programs per language: fast
    good = _write_completions(tmp_path / "g.jsonl", [(p.name, p.solution) for p in problems])
    assert _cli(tmp_path, good, language=language) == 0
    assert "pass@1 = 1.0000" in capsys.readouterr().out
    bad = _write_completions(tmp_path / "b.jsonl", [(p.name, WRONG[language]) for p in problems])
    assert _cli(tmp_path, bad, language=language) == 0
    assert "pass@1 = 0.0000" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("language", ["cpp", "go", "java", "js", "py", "rs"])
def test_engine_humaneval_x_acceptance(tmp_path, language):
    """Issue acceptance: canonical solutions score >= 0.97; wrong completions score 0."""
    problems = load_humaneval_x(language)
    good = _write_completions(tmp_path / "g.jsonl", [(p.name, p.solution) for p in problems])
    assert _cli(tmp_path, good, language=language) == 0
    summary = json.loads((tmp_path / "out" / "score.json").read_text())
    assert summary["pass@1"] >= 0.97, summary["status_counts"]
    bad = _write_completions(tmp_path / "b.jsonl", [(p.name, WRONG[language]) for p in problems])
    assert _cli(tmp_path, bad, language=language) == 0
    assert json.loads((tmp_path / "out" / "score.json").read_text())["pass@1"] == 0.0
