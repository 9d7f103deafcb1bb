"""The evaluation routine: generate, execute, pass@k per language, resume, common subset."""

import dataclasses

import pytest

from tests.eval.conftest import ScriptedGenerator, run_as_python
from xlt.data.benchmarks import load_humaneval_x
from xlt.eval.evaluate import evaluate_problems, metrics_of
from xlt.eval.results import read_results, results_path
from xlt.generation.types import SamplingParams

WRONG = "    return None\n"


@pytest.fixture(scope="module")
def problems():
    """Six real HumanEval-X Python problems, plus a 'rb' copy of the first four (a second column)."""
    py = load_humaneval_x("py")[:6]
    rb = [dataclasses.replace(p, language="rb", name=p.name + "-rb") for p in py[:4]]
    return py + rb


def _answers(problems, n):
    """Problem i gets i % (n + 1) correct samples out of n."""
    answers = {}
    for index, problem in enumerate(problems):
        correct = index % (n + 1)
        answers[problem.prompt] = [problem.solution] * correct + [WRONG] * (n - correct)
    return answers


def test_pass_at_k_per_language_and_common_subset(tmp_path, problems):
    generator = ScriptedGenerator(_answers(problems, n=2))
    params = SamplingParams(n=2, temperature=1.0)
    summary = evaluate_problems(
        problems, generator, params, tmp_path, ks=[1, 2], batch_size=4, execute_fn=run_as_python
    )
    # py: problems 0..5 have 0,1,2,0,1,2 correct of 2 -> pass@1 = mean(0, .5, 1, 0, .5, 1) = 0.5
    py = summary["languages"]["py"]
    assert py["pass@1"] == pytest.approx(0.5) and py["num_problems"] == 6
    assert py["pass@2"] == pytest.approx(4 / 6)
    # rb: its 4 problems (indices 6..9) have 0,1,2,0 correct -> pass@1 = 1.5 / 4
    assert summary["languages"]["rb"]["pass@1"] == pytest.approx(1.5 / 4)
    # Common subset: the 4 tasks both have.
    assert summary["common"]["num_tasks"] == 4
    assert summary["common"]["languages"]["py"]["pass@1"] == pytest.approx(1.5 / 4)
    metrics = metrics_of(summary, "humaneval-x")
    assert metrics["eval/humaneval-x/py/pass@1"] == pytest.approx(0.5)
    assert metrics["eval/humaneval-x/common/py/pass@1"] == pytest.approx(1.5 / 4)
    records = read_results(results_path(tmp_path, "py"))
    assert [r.c for r in records] == [0, 1, 2, 0, 1, 2]
    assert records[1].samples[1].status == "runtime_error" and records[1].samples[1].stderr


def test_resume_skips_finished_problems_and_matches_uninterrupted(tmp_path, problems):
    params = SamplingParams(n=1, temperature=1.0)
    answers = _answers(problems, n=1)
    full = evaluate_problems(
        problems, ScriptedGenerator(answers), params, tmp_path / "full", batch_size=2,
        execute_fn=run_as_python,
    )  # fmt: skip
    killed = ScriptedGenerator(answers, fail_after_calls=2)  # dies during its third batch
    with pytest.raises(KeyboardInterrupt):
        evaluate_problems(
            problems, killed, params, tmp_path / "resumed", batch_size=2, execute_fn=run_as_python
        )
    assert len(read_results(results_path(tmp_path / "resumed", "py"))) == 4
    again = ScriptedGenerator(answers)
    resumed = evaluate_problems(
        problems, again, params, tmp_path / "resumed", batch_size=2, execute_fn=run_as_python
    )
    assert len(again.prompts_seen) == len(problems) - 4  # only the unfinished ones
    assert resumed == full


def test_prompt_rendering_and_extra_stops_reach_the_generator(tmp_path, problems):
    seen = {}

    class Recorder:
        def generate(self, prompts, params):
            seen["prompts"], seen["stop"] = prompts, params.stop
            from xlt.generation.types import Completion

            return [[Completion("    pass\n```\njunk", (), None, "stop")] for _ in prompts]

    summary = evaluate_problems(
        problems[:1], Recorder(), SamplingParams(), tmp_path, render_prompt=lambda p: "CHAT:" + p.prompt,
        extra_stops=("```",), execute_fn=run_as_python,
    )  # fmt: skip
    assert seen["prompts"][0].startswith("CHAT:") and seen["stop"] == ("```",)
    sample = read_results(results_path(tmp_path, "py"))[0].samples[0]
    assert sample.completion == "    pass\n"  # cut at the fence
    assert summary["languages"]["py"]["pass@1"] == 0.0


def test_with_a_real_tiny_model(tmp_path):
    """HFGenerator end to end: a random tiny model writes garbage, which fails, and is recorded."""
    from xlt.data.records import Problem
    from xlt.generation import HFGenerator
    from xlt.models import build_tiny_model, build_tokenizer

    # Short prompts keep the byte-level-ish tiny model fast; the path under test is the same.
    problems = [
        Problem(f"p{i}", f"T/{i}", "py", f"def f{i}():\n", tests=f"assert f{i}() == {i}")
        for i in range(2)
    ]
    tokenizer = build_tokenizer(["def f():\n    return 1\n"] * 20, vocab_size=300)
    model = build_tiny_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2,
                             intermediate_size=64, max_seq_len=64, seed=0)  # fmt: skip
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=8, seed=1)
    summary = evaluate_problems(
        problems, HFGenerator(model, tokenizer), params, tmp_path, execute_fn=run_as_python
    )
    records = read_results(results_path(tmp_path, "py"))
    assert [r.n for r in records] == [2, 2]
    assert summary["languages"]["py"]["num_samples"] == 4
    assert summary["languages"]["py"]["pass@1"] == 0.0


def test_free_chat_answers_are_scored_by_the_chat_rule_uncut(tmp_path):
    """answer_format="chat": no stop tokens reach the generator, and the answer (a blank line
    in the body, an example call after it) becomes the program by the chat rule."""
    problems = load_humaneval_x("py")[:2]
    answers = {}
    for problem in problems:
        body = problem.solution.replace("\n", "\n\n", 1)  # a blank line inside the body
        answers[problem.prompt] = [
            f"Sure!\n```python\n{problem.prompt}{body}\n\nprint('example')\n```\nDone."
        ]
    generator = ScriptedGenerator(answers)
    seen = []
    generate = generator.generate
    generator.generate = lambda prompts, params: (
        seen.append(params.stop) or generate(prompts, params)
    )
    summary = evaluate_problems(problems, generator, SamplingParams(n=1), tmp_path,
                                answer_format="chat", extra_stops=("```",),
                                execute_fn=run_as_python)  # fmt: skip
    assert seen == [()]  # a free answer is never cut
    assert summary["languages"]["py"]["pass@1"] == 1.0
    program = read_results(results_path(tmp_path, "py"))[0].samples[0].extracted_program
    assert "print('example')" not in program and program.endswith(problems[0].tests)
    with pytest.raises(ValueError, match="answer_format"):
        evaluate_problems(problems, generator, SamplingParams(n=1), tmp_path, answer_format="free")
