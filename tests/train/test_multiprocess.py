"""ZeRO-3 across 2 processes (`torchrun --nproc_per_node 2`): loss falls, resume is exact."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.launch_env import fresh_process_env
from tests.train.test_loop import read_losses
from xlt.paths import REPO_ROOT

pytestmark = pytest.mark.slow

TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable))


def _torchrun(out, *args):
    env = fresh_process_env(PYTHONPATH=str(REPO_ROOT))
    with socket.socket() as sock:  # a free port: another test run may hold torchrun's default
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [TORCHRUN, "--nproc_per_node", "2", "--master_port", port, "-m", "tests.train.tiny",
           "--out", str(out), "--parallel", "zero3", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_zero3_two_processes_train_and_resume_after_sigkill(tmp_path):
    args = ["--steps", "12", "--save-every", "4"]
    full = _torchrun(tmp_path / "full", *args)
    assert full.returncode == 0, full.stderr[-3000:]
    expected = dict(read_losses(tmp_path / "full" / "log_rank0.jsonl"))
    assert expected[12] < expected[1] - 1.0  # the loss falls

    killed = _torchrun(tmp_path / "run", *args, "--kill-at-step", "7")
    assert killed.returncode != 0 and "SIGKILL" in killed.stderr
    resumed = _torchrun(tmp_path / "run", *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = read_losses(tmp_path / "run" / "log_rank0.jsonl")
    assert [s for s, _ in got] == [*range(1, 8), *range(5, 13)]
    for step, loss in got:
        assert abs(loss - expected[step]) <= 1e-6 * abs(expected[step]), (step, loss)
