"""The data_paper stage from a composed config, on a local copy laid out like the Hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xlt.paths import BENCHMARKS_DIR
from xlt.pipeline import StageContext
from xlt.run import build_config
from xlt.stages import data_paper
from xlt.study import data_spec
from xlt.tracking.base import JsonlTracker, read_jsonl_log

from .conftest import FIXTURES

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return build_config(
            compose(config_name="config", overrides=["data=codeforces", *overrides])
        )


@pytest.fixture
def local_copy(tmp_path) -> Path:
    root = tmp_path / "cf"
    (root / "problems").mkdir(parents=True)
    (root / "submissions").mkdir()
    shutil.copy(FIXTURES / "problems_train.jsonl", root / "problems" / "train.jsonl")
    shutil.copy(FIXTURES / "problems_test.jsonl", root / "problems" / "test.jsonl")
    shutil.copy(FIXTURES / "submissions.jsonl", root / "submissions" / "part-0.jsonl")
    return root


def test_default_config_pins_hub_revisions_and_finds_benchmarks():
    cfg = _cfg()
    params = data_paper.build_params(cfg.data, 0, BENCHMARKS_DIR)
    assert len(params.train_problems.revision) == 40 and len(params.submissions.revision) == 40
    assert (
        params.train_problems.config == "default"
        and params.submissions.config == "selected_accepted"
    )
    assert params.eval_problems.split == "test"
    assert any("humaneval-py" in p.name for p in params.benchmark_files)
    assert params.time_factors["py"] > params.time_factors["cpp"]


def test_bad_data_values_fail_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="data.translate_to"):
        _cfg("data.translate_to=[lua]")
    with pytest.raises(ValueError, match="solutions_per_language"):
        _cfg("data.solutions_per_language=5")
    with pytest.raises(ValueError, match="nothing at"):
        data_paper.build_params(_cfg(f"data.local_path={tmp_path}").data, 0, BENCHMARKS_DIR)


def test_stage_writes_the_data_artifact_and_logs_it(local_copy, tmp_path, run_jobs, capfd):
    cfg = _cfg(
        f"data.local_path={local_copy}",
        "data.languages=[py,js,rb]",
        "data.held_out=[rb]",
        "data.max_candidates=2",
        "data.max_rating=3000",
        "data.max_problems=1",  # only 1/A: the build test covers the rest; this one the wiring
    )
    out = tmp_path / "artifact"
    tracker = JsonlTracker(tmp_path / "log.jsonl")
    data_paper.run(StageContext(data_spec(cfg), {}, out, tracker, seed=0), run_jobs=run_jobs)
    tracker.close()
    progress = capfd.readouterr().err  # tqdm bars: one per streaming pass, one for verification
    for bar in ("eval_problems", "train_problems", "submissions", "verify"):
        assert bar in progress
    for name in ("sft.jsonl", "rl.jsonl", "eval.jsonl", "parallel.jsonl", "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["train_problems"]["local"] is True
    assert manifest["accounting"]["train_problems"]["used"] == 1
    assert manifest["accounting"]["train_problems"]["dropped"]["over_max_problems"] == 2
    records = read_jsonl_log(tmp_path / "log.jsonl")
    metrics = next(r for r in records if r["kind"] == "metrics")["metrics"]
    assert metrics["data/submissions/dropped/unknown_language"] == 1.0
    table = next(r for r in records if r["kind"] == "table")
    assert table["key"] == "data/coverage" and [row[0] for row in table["rows"]] == [
        "py",
        "js",
        "rb",
    ]
