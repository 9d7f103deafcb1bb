"""The README's multi-rank rehearsal commands, run as written: paper scale's path on 2 CPU ranks.

The commands are read from README.md (the lines starting `torchrun --nproc_per_node 2` with
`scale=rehearsal`), so the README cannot drift from what runs. Each is run in a fresh
folder with a fresh stage cache, on 2 ranks (gloo), as a user would run it from a clone.
What the two launches must show:
- both finish, each writes its transfer matrix (6 MultiPL-E languages, pre- and post-RL);
- both ranks of a launch write into one run folder (`run.log`, `run.rank1.log`) and agree
  on every stage folder they used and on every RL step's all-reduced metrics;
- training stages (SFT, RL) ran on both ranks together; every other stage on one rank,
  the other reusing it; the second launch (PPO) reuses data, mixture, SFT and the pre-RL
  evaluation on both ranks and trains only RL, whose update is not zero (the critic's
  baseline gives advantages even when every reward is 0, as with this untrained model).
About 1.5 minutes on 2 cores.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.launch_env import fresh_process_env
from xlt.paths import REPO_ROOT

pytestmark = pytest.mark.slow

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
STAGE_LINE = re.compile(r"\[xlt\.pipeline\]\[INFO\] - (\S+): (produced|reused) (\S+)$")
RL_LINE = re.compile(r"\[xlt\.stages\.rl\]\[INFO\] - rl step (\d+): (.*)$")
COLLECTIVE = {"sft", "rl"}


def readme_commands() -> list[str]:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    found = [line.strip() for line in lines
             if line.startswith("torchrun --nproc_per_node 2 ") and "scale=rehearsal" in line]  # fmt: skip
    assert len(found) == 2, found  # GRPO, then PPO on the cached SFT model
    return found


def launch(command: str, cwd: Path, artifacts: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    with socket.socket() as sock:  # a free port: torchrun's default may be held elsewhere
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = fresh_process_env(
        PYTHONPATH=str(REPO_ROOT), XLT_ARTIFACTS_DIR=str(artifacts), PET_MASTER_PORT=port
    )  # fmt: skip  (torchrun reads PET_<FLAG>)
    return subprocess.run([TORCHRUN, *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def rank_logs(run: Path) -> list[list[str]]:
    return [(run / name).read_text().splitlines() for name in ("run.log", "run.rank1.log")]


def stages(lines: list[str]) -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for line in lines if (m := STAGE_LINE.search(line))}


def rl_steps(lines: list[str]) -> list[tuple[int, dict]]:
    return [(int(m[1]), ast.literal_eval(m[2])) for line in lines if (m := RL_LINE.search(line))]


def check_matrix(run: Path) -> None:
    with (run / "report" / "matrix.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    languages = {row["language"] for row in rows}
    assert languages == {"py", "cpp", "java", "go", "php", "rb"}, languages
    assert {row["stage"] for row in rows} == {"pre_rl", "post_rl"}


@pytest.fixture(scope="module")
def launches(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("clone")
    artifacts = cwd / "artifacts"
    runs = []
    for command in readme_commands():
        before = set(cwd.glob("outputs/*/*"))
        done = launch(command, cwd, artifacts)
        assert done.returncode == 0, (command, done.stderr[-4000:])
        (run,) = set(cwd.glob("outputs/*/*")) - before  # one run folder for both ranks
        runs.append(run)
    return runs


def test_both_ranks_agree_on_every_stage_and_rl_step(launches):
    for run in launches:
        zero, one = rank_logs(run)
        assert stages(zero).keys() == stages(one).keys() and stages(zero)
        for label, (_, folder) in stages(zero).items():
            assert stages(one)[label][1] == folder, label
        assert rl_steps(zero) == rl_steps(one) and [s for s, _ in rl_steps(zero)] == [1, 2]


def hows(run: Path) -> dict[str, tuple[str, str]]:
    """label -> (what rank 0 did, what rank 1 did): produced or reused."""
    zero, one = (stages(lines) for lines in rank_logs(run))
    return {label: (zero[label][0], one[label][0]) for label in zero}


def test_training_runs_on_both_ranks_and_everything_else_once(launches):
    first, second = hows(launches[0]), hows(launches[1])
    for label, how in first.items():
        if label in COLLECTIVE:
            assert how == ("produced", "produced"), label
        else:  # whichever rank took the stage's lock produced it; the other reused it
            assert sorted(how) == ["produced", "reused"], (label, how)
    for label in ("data", "mixture", "sft", "eval_pre_rl"):
        assert second[label] == ("reused", "reused"), label
    assert second["rl"] == ("produced", "produced")


def test_each_launch_writes_its_matrix_and_ppo_updates(launches):
    for run in launches:
        check_matrix(run)
    ppo_steps = rl_steps(rank_logs(launches[1])[0])
    assert any(metrics["rl/grad_norm"] > 0 for _, metrics in ppo_steps), ppo_steps
    assert os.path.getsize(launches[0] / "metrics.jsonl") > 0
