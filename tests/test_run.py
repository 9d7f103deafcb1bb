"""The entry point: prints composed configs, refuses bad settings and missing stages up front."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_xlt(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xlt.run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("scale", "expected"), [("micro", "tiny-llama"), ("paper", "Llama-3.1-8B")]
)
def test_cfg_job_prints_the_composed_config(scale, expected, tmp_path):
    done = run_xlt("+experiment=parallel_sft", f"scale={scale}", "--cfg", "job", cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout and f"scale: {scale}" in done.stdout
    assert "mixture: parallel" in done.stdout


def test_a_bad_value_exits_2_with_the_key_before_any_work(tmp_path):
    done = run_xlt(
        "+experiment=parallel_sft",
        "rl.source_language=cobol",
        f"hydra.run.dir={tmp_path}/run",
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "rl.source_language: unknown language 'cobol'" in done.stderr
    assert not (tmp_path / "run" / "artifacts.json").exists()


def test_an_unknown_group_option_lists_the_choices():
    done = run_xlt("+experiment=parallel_sft", "sft=foo", "--cfg", "job", cwd=REPO)
    assert done.returncode != 0
    assert "sft" in done.stderr and "parallel" in done.stderr
