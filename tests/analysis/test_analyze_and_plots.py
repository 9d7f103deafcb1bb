"""analysis.json, tracker keys, plots and the checkpoint comparison."""

from __future__ import annotations

import json
import math

import pytest

from xlt.analysis import (
    LAYER_METRICS,
    ParallelProgram,
    analyze_programs,
    plot_analyses,
    read_analysis,
    tracker_metrics,
    write_analysis,
)
from xlt.analysis.compare import checkpoint_label, compare_checkpoints, discover_runs, main
from xlt.analysis.lexical import lexical_metrics
from xlt.tracking import JsonlTracker, read_jsonl_log


@pytest.fixture(scope="module")
def analysis(tiny_model, tiny_tokenizer, tiny_programs):
    programs = [ParallelProgram(task, lang, text) for (task, lang), text in tiny_programs.items()]
    return analyze_programs(tiny_model, tiny_tokenizer, programs, batch_size=4, checkpoint="sft")


def test_analysis_has_every_layer_and_metric(analysis, tiny_model):
    assert analysis["num_layers"] == tiny_model.config.num_hidden_layers + 1
    assert analysis["languages"] == ["go", "lua", "py"]
    assert analysis["num_tasks"] == 3 and analysis["num_programs"] == 9
    for entry in analysis["layers"]:
        for metric in LAYER_METRICS:
            assert isinstance(entry[metric], float)
        assert entry["retrieval_chance"] == pytest.approx(1 / 3)
        assert 0.0 <= entry["retrieval_acc"] <= 1.0
        assert len(entry["retrieval_acc_by_pair"]) == 6
    assert analysis["throughput"]["programs_per_s"] > 0


def test_lexical_baseline_is_stored_beside_the_layers(analysis, tiny_programs):
    texts = list(tiny_programs.values())
    tasks = [task for task, _ in tiny_programs]
    languages = [language for _, language in tiny_programs]
    baseline = lexical_metrics(texts, tasks, languages)
    assert analysis["lexical"]["retrieval_acc"] == pytest.approx(baseline["retrieval_acc"])
    assert analysis["lexical"]["retrieval_chance"] == pytest.approx(1 / 3)
    key = "analysis/sft/lexical/retrieval_acc"
    assert tracker_metrics(analysis)[key] == pytest.approx(baseline["retrieval_acc"])


def test_center_is_recorded_and_changes_cosines(
    tiny_model, tiny_tokenizer, tiny_programs, analysis
):
    programs = [ParallelProgram(task, lang, text) for (task, lang), text in tiny_programs.items()]
    centred = analyze_programs(tiny_model, tiny_tokenizer, programs, center=True)
    assert centred["center"] is True and analysis["center"] is False
    assert centred["layers"][-1]["cosine_unmatched"] < analysis["layers"][-1]["cosine_unmatched"]


def test_json_round_trip_stores_nan_as_null(analysis, tmp_path):
    analysis = json.loads(json.dumps(analysis))
    analysis["layers"][0]["silhouette_problem"] = math.nan
    path = write_analysis(analysis, tmp_path / "analysis.json")
    assert "NaN" not in path.read_text()
    again = read_analysis(tmp_path)  # a folder holding analysis.json works too
    assert again["layers"][0]["silhouette_problem"] is None
    assert "analysis/sft/layer0/silhouette_problem" not in tracker_metrics(again)


def test_tracker_metrics_keys(analysis):
    metrics = tracker_metrics(analysis)
    assert metrics["analysis/sft/layer0/retrieval_acc"] == analysis["layers"][0]["retrieval_acc"]
    assert "analysis/sft/layer2/retrieval_acc/py_to_go" in metrics
    assert "analysis/layer1/cosine_gap" in tracker_metrics(analysis, checkpoint="")
    assert all(isinstance(v, float) for v in metrics.values())


def test_plots_one_png_per_metric_plus_overview(analysis, tmp_path):
    paths = plot_analyses({"base": analysis, "parallel SFT": analysis}, tmp_path)
    assert set(paths) == {*LAYER_METRICS, "overview"}
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no plot style"):
        plot_analyses({"x": analysis}, tmp_path, metrics=("accuracy",))


def test_compare_discovers_runs_labels_them_and_logs_images(analysis, tmp_path):
    artifacts = tmp_path / "artifacts"
    for role in ("pretrain", "sft_par", "rl_par", "sft_mono"):
        write_analysis(analysis, _mkdir(artifacts / role) / "analysis.json")
    runs = {
        "run0": (
            "parallel",
            {"analysis_base": "pretrain", "analysis_sft": "sft_par", "analysis_rl": "rl_par"},
        ),
        "run1": (
            "monolingual",
            {"analysis_base": "pretrain", "analysis_sft": "sft_mono", "eval_pre_rl": "x"},
        ),
    }
    for name, (mixture, roles) in runs.items():
        record = {
            "setting": {"sft_mixture": mixture, "rl_source_language": "py", "seed": 0},
            "artifacts": {role: str(artifacts / folder) for role, folder in roles.items()},
        }
        (_mkdir(tmp_path / "sweep" / name) / "run.json").write_text(json.dumps(record))
    found = discover_runs(tmp_path / "sweep")
    assert found == {
        "base": artifacts / "pretrain",  # shared by both runs, drawn once
        "parallel SFT": artifacts / "sft_par",
        "parallel SFT + RL (py)": artifacts / "rl_par",
        "monolingual SFT": artifacts / "sft_mono",
    }
    tracker = JsonlTracker(tmp_path / "log.jsonl")
    paths = compare_checkpoints(found, tmp_path / "plots", tracker=tracker)
    tracker.close()
    logged = {r["key"] for r in read_jsonl_log(tmp_path / "log.jsonl") if r["kind"] == "image"}
    assert logged == {f"analysis/compare/{name}" for name in paths if name != "summary"}
    # The summary puts the TF-IDF baseline of the same texts beside every checkpoint.
    summary = paths["summary"].read_text().splitlines()
    assert "TF-IDF baseline" in summary[0] and len(summary) == 2 + len(found)
    baseline = f"{analysis['lexical']['retrieval_acc']:.3f}"
    for label in found:
        (line,) = [line for line in summary if line.startswith(f"| {label} |")]
        assert baseline in line.split("|")[4]
    assert (
        checkpoint_label("rl", {"sft_mixture": "none", "rl_source_language": "lua"}) == "RL (lua)"
    )
    main(
        [
            str(tmp_path / "cli"),
            f"base={artifacts / 'pretrain' / 'analysis.json'}",
            str(tmp_path / "sweep"),
        ]
    )
    assert (tmp_path / "cli" / "retrieval_acc.png").is_file()
    with pytest.raises(ValueError, match="no run.json"):
        discover_runs(artifacts)


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path
