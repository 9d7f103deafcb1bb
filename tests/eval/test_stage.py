"""The evaluate stage on a saved tiny checkpoint, then the report on the artifacts it wrote."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xlt.data.records import Problem
from xlt.eval.results import read_row
from xlt.pipeline import StageContext
from xlt.run import build_config
from xlt.study import eval_spec, row_ids
from xlt.tracking import JsonlTracker, read_jsonl_log

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        dict_cfg = compose(config_name="config", overrides=["+experiment=parallel_sft", *overrides])
    return build_config(dict_cfg)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The pipeline's layout: <artifacts>/<stage>/<key>/model, and a data folder with eval.jsonl."""
    from xlt.models import build_tiny_model, build_tokenizer, save_model

    root = tmp_path_factory.mktemp("artifacts")
    tokenizer = build_tokenizer(["def f():\n    return 1\n"] * 20, vocab_size=300)
    # One narrow layer: the stage's plumbing is under test, not the model.
    model = build_tiny_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2,
                             intermediate_size=64, max_seq_len=64, seed=0)  # fmt: skip
    for stage in ("sft", "rl"):
        save_model(model, tokenizer, root / stage / f"{stage}-key" / "model")
    data = root / "data" / "data-key"
    data.mkdir(parents=True)
    problems = [
        Problem(f"{lang}-{i}", f"T/{i}", lang, f"def f{i}():\n", tests=f"assert f{i}() == {i}")
        for lang in ("py", "js")
        for i in range(3)
    ]
    (data / "eval.jsonl").write_text("".join(json.dumps(p.to_dict()) + "\n" for p in problems))
    return root


def _run_stage(cfg, artifacts, producer, out):
    from xlt.stages.evaluate import run

    out.mkdir(parents=True)
    tracker = JsonlTracker(out.parent / f"{out.name}.metrics.jsonl")
    inputs = {
        "model": artifacts / producer / f"{producer}-key",
        "data": artifacts / "data" / "data-key",
    }
    row = row_ids(cfg)["post_rl" if producer == "rl" else "pre_rl"]
    ctx = StageContext(spec=eval_spec(cfg, row), inputs=inputs, out=out, tracker=tracker, seed=0)
    try:
        run(ctx)
    finally:
        tracker.close()
    return read_row(out / "row.json"), read_jsonl_log(tracker.path)


def test_stage_writes_a_reportable_row(artifacts, tmp_path):
    # Greedy, 8 new tokens, only py: keeps the stage to a few seconds.
    cfg = _cfg("eval.languages=[py]", "eval.max_new_tokens=8", "rl.source_language=py")
    evaluations = tmp_path / "evaluate"
    pre, _ = _run_stage(cfg, artifacts, "sft", evaluations / "pre")
    post, log = _run_stage(cfg, artifacts, "rl", evaluations / "post")

    assert pre["row"]["stage"] == "pre_rl" and pre["label"] == "SFT parallel"
    assert post["row"]["stage"] == "post_rl" and post["row"]["rl_source"] == "py"
    assert post["label"] == "SFT parallel + GRPO py"
    assert list(post["languages"]) == ["py"]  # eval.languages filtered the data's js problems
    assert post["languages"]["py"]["num_problems"] == 3
    assert post["languages"]["py"]["pass@1"] == 0.0  # a random model passes nothing
    lines = (evaluations / "post" / "results" / "py.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["n"] == 1 for line in lines)
    scalars = [r["metrics"] for r in log if r["kind"] == "metrics"]
    assert scalars == [{"eval/micro/py/pass@1": 0.0, "eval/micro/common/py/pass@1": 0.0}]
    (table,) = [r for r in log if r["kind"] == "table"]
    assert table["key"] == "eval/micro/post_rl" and table["rows"][0][:3] == [
        post["label"],
        "py",
        0.0,
    ]

    from xlt import report

    paths = report.make_report(evaluations, num_bootstrap=50)
    markdown = paths["markdown"].read_text()
    assert "| SFT parallel + GRPO py | **0.0 [0.0, 0.0]<br>Δ +0.0 [+0.0, +0.0]** |" in markdown


def test_unknown_language_for_the_data_is_named(artifacts, tmp_path):
    cfg = _cfg("eval.languages=[rb]")
    with pytest.raises(ValueError, match=r"eval.languages has \['rb'\], not in .*eval.jsonl"):
        _run_stage(cfg, artifacts, "sft", tmp_path / "x")


def test_chat_models_get_the_prompt_prefilled_after_a_fence():
    from xlt.generation.text import chat_problem_prompt
    from xlt.models import build_tokenizer
    from xlt.stages.evaluate import _chat_renderer

    tokenizer = build_tokenizer(["def f():\n    return 1\n"] * 5, vocab_size=300)
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"
    )
    problem = Problem("p", "T/0", "py", "def f():\n", tests="assert f() == 1")
    rendered = _chat_renderer(tokenizer, chat_problem_prompt)(problem)
    assert rendered.startswith("<|user|>") and "def f():" in rendered.split("<|assistant|>")[0]
    assert rendered.endswith("<|assistant|>```python\ndef f():\n")


# --- two models that differ: per-language pass@k and the RL delta, computed here -------------

NUM_TASKS, NUM_SAMPLES = 4, 4
# Passing samples (of 4) per task: the "SFT" and "RL" models disagree task by task, and RL
# helps py (its source) more than js, so a swapped pairing or sign shows in the numbers.
PASSES = {
    ("sft", "py"): [0, 1, 2, 4],
    ("sft", "js"): [1, 0, 3, 2],
    ("rl", "py"): [2, 3, 4, 4],
    ("rl", "js"): [1, 1, 3, 0],
}


def _two_language_problems():
    """py and js problems of the same four tasks; task i must return i."""
    js_assert = "const assert = require('node:assert');\n"
    py = [Problem(f"py-{i}", f"T/{i}", "py", f"def f{i}():\n", tests=f"assert f{i}() == {i}\n")
          for i in range(NUM_TASKS)]  # fmt: skip
    js = [Problem(f"js-{i}", f"T/{i}", "js", f"function f{i}() {{\n",
                  tests=f"{js_assert}assert.strictEqual(f{i}(), {i});\n") for i in range(NUM_TASKS)]  # fmt: skip
    return py + js


def _answer(language, task, right):
    value = task if right else task + 1
    return f"    return {value}\n" if language == "py" else f"  return {value};\n}}\n"


def _scripted_answers(producer):
    """prompt -> NUM_SAMPLES completions, the first PASSES[...] of them right."""
    answers = {}
    for problem in _two_language_problems():
        task = int(problem.task.split("/")[1])
        right = PASSES[(producer, problem.language)][task]
        answers[problem.prompt] = [
            _answer(problem.language, task, s < right) for s in range(NUM_SAMPLES)
        ]
    return answers


def _closed_pass_at_k(c, k):
    return 1 - math.comb(NUM_SAMPLES - c, k) / math.comb(NUM_SAMPLES, k)


def test_stage_scores_two_different_models_and_the_report_pairs_them(tmp_path, monkeypatch):
    """The stage with a scripted generator per checkpoint (the real engine runs py and js):
    every number below is computed here from PASSES, none from xlt's code."""
    from tests.eval.conftest import ScriptedGenerator
    from xlt import report
    from xlt.stages import evaluate

    root = tmp_path / "artifacts"
    data = root / "data" / "data-key"
    data.mkdir(parents=True)
    problems = _two_language_problems()
    (data / "eval.jsonl").write_text("".join(json.dumps(p.to_dict()) + "\n" for p in problems))
    for producer in ("sft", "rl"):
        (root / producer / f"{producer}-key").mkdir(parents=True)

    def scripted_generator(ctx):  # which checkpoint the stage was given decides the answers
        producer = ctx.inputs["model"].parent.name
        return ScriptedGenerator(_scripted_answers(producer)), None

    monkeypatch.setattr(evaluate, "_generator", scripted_generator)
    cfg = _cfg("eval.languages=[py,js]", f"eval.num_samples={NUM_SAMPLES}",
               "eval.temperature=1.0", "eval.k=[1,2]", "rl.source_language=py")  # fmt: skip
    evaluations = tmp_path / "evaluate"
    rows = {"sft": _run_stage(cfg, root, "sft", evaluations / "pre")[0],
            "rl": _run_stage(cfg, root, "rl", evaluations / "post")[0]}  # fmt: skip

    for (producer, language), passes in PASSES.items():
        summary = rows[producer]["languages"][language]
        for k in (1, 2):
            expected = sum(_closed_pass_at_k(c, k) for c in passes) / NUM_TASKS
            assert summary[f"pass@{k}"] == pytest.approx(expected), (producer, language, k)

    cells = {}
    for k in (1, 2):
        matrix_csv = report.make_report(evaluations, tmp_path / f"report{k}", k=k, num_bootstrap=50)
        with open(matrix_csv["csv"]) as handle:
            cells[k] = {(r["row"], r["language"]): r for r in csv.DictReader(handle)
                        if r["subset"] == "common"}  # fmt: skip
    for k in (1, 2):
        for language in ("py", "js"):
            pre = [_closed_pass_at_k(c, k) for c in PASSES[("sft", language)]]
            post = [_closed_pass_at_k(c, k) for c in PASSES[("rl", language)]]
            delta = sum(b - a for a, b in zip(pre, post, strict=True)) / NUM_TASKS
            cell = cells[k][("SFT parallel + GRPO py", language)]
            assert float(cell["value"]) == pytest.approx(sum(post) / NUM_TASKS)
            assert float(cell["delta"]) == pytest.approx(delta), (k, language)
    # By hand at k = 1: py gains (2+3+4+4 - 0-1-2-4) / 16 = 6/16; js loses (1+1+3+0 - 1-0-3-2) / 16.
    assert float(cells[1][("SFT parallel + GRPO py", "py")]["delta"]) == pytest.approx(6 / 16)
    assert float(cells[1][("SFT parallel + GRPO py", "js")]["delta"]) == pytest.approx(-1 / 16)
