"""How a launched run appears in W&B: sweep members grouped by their sweep and named by their
overrides, a rerun of a run folder continuing its W&B run, and a SLURM task's rank reaching the
pipeline. `python -m xlt.run` runs for real (Hydra, the tracker, offline W&B) with the stages
replaced by a stub, and the offline W&B files are read back."""

import json
import subprocess
import sys
from pathlib import Path

from tests.launch_env import fresh_process_env
from xlt.tracking import read_jsonl_log
from xlt.tracking.wandb import wait_for_offline_run

REPO = Path(__file__).resolve().parent.parent

# xlt.run's main with the stages and the report stubbed out: the stub records what the pipeline
# was given and logs one training point, so a run takes seconds instead of minutes.
STUBBED_RUN = """
import json, os, sys
from pathlib import Path
import xlt.run as run

def study(cfg, pipeline):
    probe = {"rank": pipeline.rank, "world_size": pipeline.world_size,
             "master_addr": os.environ.get("MASTER_ADDR")}
    (Path(cfg.run_dir) / f"probe{pipeline.rank}.json").write_text(json.dumps(probe))
    pipeline.tracker.log({"train/loss": 1.0}, step=1)
    return {}

run.run_study = study
run.make_report = lambda *args, **kwargs: {}
run.log_report = lambda *args: None
# Hydra finds conf/ relative to the script it runs; here there is none, so name it.
sys.argv = ["xlt.run", "--config-path", str(run.CONF_DIR), *sys.argv[1:]]
run.main()
"""
# rl=none: no toolchain preflight; analysis=none: no checkpoint comparison after the stub.
QUICK = ("+experiment=parallel_sft", "rl=none", "analysis=none", "tracking=wandb")


def run_stubbed(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    wandb_home = tmp_path / "wandb_home"  # W&B's settings and caches stay in the test's folder
    child_env = fresh_process_env(
        PYTHONPATH=str(REPO),  # this checkout's xlt, whatever is installed
        XLT_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        WANDB_CONFIG_DIR=str(wandb_home),
        WANDB_CACHE_DIR=str(wandb_home),
        WANDB_DATA_DIR=str(wandb_home),
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", STUBBED_RUN, *args],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def offline_runs(run_dir: Path) -> list[dict]:
    """The run folder's offline W&B runs, oldest first."""
    return [
        wait_for_offline_run(path) for path in sorted((run_dir / "wandb").glob("offline-run-*"))
    ]


def test_sweep_members_share_the_sweeps_group_and_are_named_by_their_overrides(tmp_path):
    sweep = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    run_stubbed("--multirun", *QUICK, "seed=0,1", f"hydra.sweep.dir={sweep}", tmp_path=tmp_path)

    (first,), (second,) = offline_runs(sweep / "0"), offline_runs(sweep / "1")
    assert first["group"] == second["group"] == "parallel_sft_2026-01-01_12-00-00"
    assert first["name"] == "analysis=none,rl=none,seed=0,tracking=wandb"
    assert second["name"] == "analysis=none,rl=none,seed=1,tracking=wandb"
    assert first["job_type"] == "parallel_sft"
    assert first["id"] != second["id"]  # two runs, not one resumed twice


def test_an_explicit_group_names_the_group_of_a_single_run(tmp_path):
    run_dir = tmp_path / "run"
    run_stubbed(*QUICK, "tracking.group=ablation-3", f"hydra.run.dir={run_dir}", tmp_path=tmp_path)
    (run,) = offline_runs(run_dir)
    assert run["group"] == "ablation-3"
    assert run["name"] == "analysis=none,rl=none,tracking.group=ablation-3,tracking=wandb"


def test_a_rerun_of_a_run_folder_continues_its_wandb_run(tmp_path):
    run_dir = tmp_path / "run"
    for _ in range(2):  # a SLURM requeue reruns the same Hydra job in the same folder
        run_stubbed(*QUICK, f"hydra.run.dir={run_dir}", tmp_path=tmp_path)

    first, second = offline_runs(run_dir)
    run_id = (run_dir / "wandb_run_id").read_text().strip()
    assert first["id"] == second["id"] == run_id
    assert first["group"] == second["group"] == "parallel_sft"  # a single run: its experiment
    # Both parts carry the point each logged (`wandb sync` uploads them in order to one run).
    assert [row["train/loss"] for run in (first, second) for row in run["history"]] == [1.0, 1.0]
    assert len(read_jsonl_log(run_dir / "metrics.jsonl")) == 2


def test_a_submitit_task_runs_with_its_slurm_rank(tmp_path):
    """Task 1 of a 2-task job: the pipeline gets rank 1 of 2, and rank 1 writes no run files."""
    run_dir = tmp_path / "run"
    slurm_task = {
        "SUBMITIT_EXECUTOR": "slurm",
        "SLURM_JOB_ID": "77",
        "SLURM_NTASKS": "2",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_NODEID": "0",
        "SLURM_PROCID": "1",
        "SLURM_LOCALID": "1",
        "SLURM_JOB_NODELIST": "gpu-07",
    }
    # Batches are checked against the number of ranks before any work: halve micro-batches.
    halves = ("pretrain.micro_batch_size=8", "sft.micro_batch_size=4")
    run_stubbed(*QUICK, *halves, f"hydra.run.dir={run_dir}", tmp_path=tmp_path, **slurm_task)
    probe = json.loads((run_dir / "probe1.json").read_text())
    assert probe == {"rank": 1, "world_size": 2, "master_addr": "gpu-07"}
    assert not (run_dir / "metrics.jsonl").exists() and not (run_dir / "wandb").exists()
