"""Ranks of one launch agree on their run folder; each rank logs to its own file."""

import subprocess
import sys
import textwrap
import time

from tests.launch_env import fresh_process_env
from xlt.launch import process_start_time, rank_suffix
from xlt.paths import REPO_ROOT

CHILD = textwrap.dedent("""
    import sys, time
    from xlt.launch import launch_time
    time.sleep(float(sys.argv[1]))
    print(round(launch_time(), 2))
""")

PARENT = textwrap.dedent("""
    import subprocess, sys
    # two "ranks" of one launcher, the second starting 1.2 s after the first
    procs = [subprocess.Popen([sys.executable, "-c", sys.argv[1], delay], stdout=subprocess.PIPE, text=True)
             for delay in ("1.2", "0")]
    print("|".join(p.communicate()[0].strip() for p in procs))
""")


def _two_ranks(**env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, CHILD], cwd=REPO_ROOT, capture_output=True, text=True,
        env=fresh_process_env(PYTHONPATH=str(REPO_ROOT), **env), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split("|")


def test_the_ranks_of_a_launch_share_one_run_folder_time():
    first, second = _two_ranks(RANK="0")  # a launcher sets RANK in every rank
    assert first == second
    alone = _two_ranks()  # launcher-less runs keep their own start (Hydra's ${now:})
    assert float(alone[0]) - float(alone[1]) > 1.0


def test_process_start_time_is_this_process_start(monkeypatch):
    started = process_start_time(__import__("os").getpid())
    assert started is not None and 0 <= time.time() - started < 3600
    monkeypatch.setenv("RANK", "1")
    assert rank_suffix() == ".rank1"
    monkeypatch.setenv("RANK", "0")
    assert rank_suffix() == ""


def test_a_submitit_task_logs_to_its_own_file_before_rank_is_exported(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setenv("SLURM_PROCID", "3")
    assert rank_suffix() == ""  # a plain srun step is not ours to name
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    assert rank_suffix() == ".rank3"


def test_a_requeued_slurm_job_is_a_new_launch(monkeypatch):
    from xlt.pipeline import launch_id

    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    first = launch_id()
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert launch_id() != first
