"""The whole study, shortened: `python -m xlt.run +experiment=parallel_sft` end to end on CPU.

Every stage runs for real (data, pretrain, mixture, SFT, evaluation, RL, evaluation,
analysis, report) with steps and problem counts shrunk so it finishes in minutes; the
test then checks the transfer matrix's contents against the per-problem files.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.launch_env import fresh_process_env

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = ["py", "js", "lua", "rb", "php", "pl"]
MAX_PROBLEMS = 6
SHORT = [
    "data.num_tasks=120",  # a smaller suite: the stages' cost scales with it
    "data.corpus_documents=600",
    "pretrain.max_steps=30",  # the model learns little; the test is about the plumbing
    "pretrain.warmup_steps=3",
    "sft.max_steps=12",
    "sft.warmup_steps=2",
    "rl.steps=2",
    "rl.prompts_per_step=4",
    "rl.group_size=4",
    "rl.micro_batch_size=16",
    "rl.max_new_tokens=32",
    f"eval.max_problems={MAX_PROBLEMS}",
    "eval.max_new_tokens=32",
    "eval.bootstrap_samples=100",
    "analysis.max_programs=12",
]


def run_study(run_dir: Path, artifacts: Path) -> subprocess.CompletedProcess:
    env = fresh_process_env(XLT_ARTIFACTS_DIR=str(artifacts))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "xlt.run",
            "+experiment=parallel_sft",
            *SHORT,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )


def mean_pass(source: Path) -> float:
    records = [json.loads(line) for line in source.read_text().splitlines()]
    return sum(r["c"] / r["n"] for r in records) / len(records)


@pytest.mark.slow
def test_the_shortened_study_writes_a_true_matrix_and_reuses_every_stage(tmp_path):
    done = run_study(tmp_path / "run1", tmp_path / "artifacts")
    assert done.returncode == 0, done.stderr[-3000:]
    run1 = tmp_path / "run1"
    record = json.loads((run1 / "run.json").read_text())
    assert record["setting"]["sft_mixture"] == "parallel"
    assert {"data", "base", "eval_base", "mixture", "sft", "eval_pre_rl", "rl",
            "eval_post_rl"} <= set(record["artifacts"])  # fmt: skip
    assert {"analysis_base", "analysis_sft", "analysis_rl"} <= set(record["artifacts"])

    # The matrix: all three rows, every language, values recomputed from per-problem files.
    with (run1 / "report" / "matrix.csv").open() as handle:
        cells = [row for row in csv.DictReader(handle) if row["subset"] == "full"]
    by_key = {(c["row"], c["language"]): c for c in cells}
    rows = {row for row, _ in by_key}
    assert rows == {"base (no SFT)", "SFT parallel", "SFT parallel + GRPO py"}
    for row in rows:
        for language in LANGUAGES:
            cell = by_key[(row, language)]
            assert int(cell["num_tasks"]) == MAX_PROBLEMS
            (source,) = cell["sources"].split(";")
            assert float(cell["value"]) == pytest.approx(mean_pass(Path(source)))
            assert 0.0 <= float(cell["value"]) <= 1.0
    for language in LANGUAGES:
        pre = float(by_key[("SFT parallel", language)]["value"])
        post = by_key[("SFT parallel + GRPO py", language)]
        assert float(post["delta"]) == pytest.approx(float(post["value"]) - pre)
    assert (run1 / "report" / "heatmap.png").stat().st_size > 10_000
    assert "SFT parallel + GRPO py" in (run1 / "report" / "matrix.md").read_text()

    # The log holds training, RL and evaluation metrics.
    keys = set()
    for line in (run1 / "metrics.jsonl").read_text().splitlines():
        keys |= set(json.loads(line).get("metrics", {}))
    assert {"train/loss", "rl/reward_mean", "eval/micro/py/pass@1"} <= keys

    # A second run with the same settings reuses every stage and reports the same matrix.
    again = run_study(tmp_path / "run2", tmp_path / "artifacts")
    assert again.returncode == 0, again.stderr[-3000:]
    used = json.loads((tmp_path / "run2" / "artifacts.json").read_text())
    assert used and all(stage["reused"] for stage in used)
    with (tmp_path / "run2" / "report" / "matrix.csv").open() as handle:
        again_cells = {
            (c["row"], c["language"], c["subset"]): c["value"] for c in csv.DictReader(handle)
        }
    assert all(again_cells[(r, lang, "full")] == c["value"] for (r, lang), c in by_key.items())
