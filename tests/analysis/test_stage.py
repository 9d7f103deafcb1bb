"""The analyze stage end to end on a saved tiny checkpoint (HumanEval-X and a parallel.jsonl)."""

from __future__ import annotations

import json

import pytest

from xlt.analysis import LAYER_METRICS
from xlt.config import AnalysisConfig, ModelConfig
from xlt.models import save_model
from xlt.pipeline import StageContext
from xlt.stages.analyze import AnalyzeSpec, checkpoint_name, run
from xlt.tracking import JsonlTracker, read_jsonl_log


@pytest.fixture(scope="module")
def saved_sft(tmp_path_factory, tiny_model, tiny_tokenizer):
    """The pipeline's layout: <artifacts>/<stage>/<key>/model."""
    folder = tmp_path_factory.mktemp("artifacts") / "sft" / "abc123"
    save_model(tiny_model, tiny_tokenizer, folder / "model")
    return folder


def _context(tmp_path, analysis: AnalysisConfig, inputs):
    out = tmp_path / "out"
    out.mkdir()
    spec = AnalyzeSpec(analysis=analysis, model=ModelConfig())
    tracker = JsonlTracker(tmp_path / "metrics.jsonl")
    return StageContext(spec=spec, inputs=inputs, out=out, tracker=tracker, seed=0)


def test_stage_on_humaneval_x(tmp_path, saved_sft, tiny_model):
    # 12 problems x 3 languages keeps it to about a second on one CPU core.
    config = AnalysisConfig(
        source="humaneval-x",
        languages=["py", "go", "java"],
        max_programs=12,
        batch_size=8,
        device="cpu",
    )
    ctx = _context(tmp_path, config, {"model": saved_sft})
    run(ctx)
    ctx.tracker.close()
    analysis = json.loads((ctx.out / "analysis.json").read_text())
    assert analysis["checkpoint"] == "sft"
    assert analysis["source"] == "humaneval-x:solution"
    assert analysis["programs_per_language"] == {"go": 12, "java": 12, "py": 12}
    assert len(analysis["layers"]) == tiny_model.config.num_hidden_layers + 1
    assert analysis["layers"][0]["retrieval_chance"] == pytest.approx(1 / 12)
    for metric in (*LAYER_METRICS, "overview"):
        assert (ctx.out / "plots" / f"{metric}.png").is_file()

    records = read_jsonl_log(tmp_path / "metrics.jsonl")
    (scalars,) = [r["metrics"] for r in records if r["kind"] == "metrics"]
    assert scalars["analysis/sft/layer2/retrieval_acc"] == analysis["layers"][2]["retrieval_acc"]
    (table,) = [r for r in records if r["kind"] == "table"]
    assert table["key"] == "analysis/sft/layers" and len(table["rows"]) == len(analysis["layers"])
    images = {r["key"] for r in records if r["kind"] == "image"}
    assert "analysis/sft/retrieval_acc" in images and "analysis/sft/overview" in images


def test_stage_on_the_data_stage_parallel_programs(tmp_path, saved_sft, tiny_programs):
    data = tmp_path / "data"
    data.mkdir()
    with (data / "parallel.jsonl").open("w") as handle:
        for (task, language), program in tiny_programs.items():
            handle.write(
                json.dumps({"task": task, "language": language, "program": program}) + "\n"
            )
    config = AnalysisConfig(source="data", languages=["py", "lua"], pooling="last", device="cpu")
    ctx = _context(tmp_path, config, {"model": saved_sft, "data": data})
    run(ctx)
    analysis = json.loads((ctx.out / "analysis.json").read_text())
    assert analysis["languages"] == ["lua", "py"] and analysis["pooling"] == "last"
    assert analysis["num_programs"] == 6


def test_checkpoint_name_comes_from_the_producing_stage(tmp_path):
    assert checkpoint_name({"model": tmp_path / "pretrain" / "k"}) == "base"
    assert checkpoint_name({"model": tmp_path / "rl" / "k"}) == "rl"
    assert checkpoint_name({}) == "base"


def test_config_rejects_bad_values_with_the_key():
    with pytest.raises(ValueError, match="analysis.text"):
        AnalysisConfig(text="docstring")
    with pytest.raises(ValueError, match="analysis.max_tokens"):
        AnalysisConfig(max_tokens=0)


def test_analysis_config_group_options_compose():
    from hydra import compose, initialize_config_dir

    from xlt.paths import REPO_ROOT
    from xlt.run import build_config

    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        default = compose(config_name="config", overrides=["+experiment=parallel_sft"])
        humaneval = compose(
            config_name="config", overrides=["+experiment=parallel_sft", "analysis=humaneval_x"]
        )
    assert build_config(default).analysis.source == "data"
    analysis = build_config(humaneval).analysis
    assert (analysis.source, analysis.max_programs, analysis.text) == (
        "humaneval-x",
        None,
        "solution",
    )
