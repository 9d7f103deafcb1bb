"""SLURM through submitit: the launcher config, and each task's torch.distributed variables."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.launch_env import LAUNCHER_VARS
from xlt.run import CONF_DIR, submitit_distributed_env

# Task 11 of a 2-node x 8-GPU job, as SLURM's srun describes it to the process (the variables
# submitit's SlurmJobEnvironment reads) and submitit's sbatch script marks it.
SLURM_TASK = {
    "SUBMITIT_EXECUTOR": "slurm",
    "SLURM_JOB_ID": "4242",
    "SLURM_NTASKS": "16",
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_NODEID": "1",
    "SLURM_PROCID": "11",
    "SLURM_LOCALID": "3",
    "SLURM_JOB_NODELIST": "gpu-[07-08]",
}


@pytest.fixture
def slurm_task(monkeypatch):
    """The environment of a SLURM task before xlt.run: SLURM's variables, no launcher's."""
    for key in (*LAUNCHER_VARS, "LOCAL_WORLD_SIZE", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in SLURM_TASK.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_a_slurm_task_gets_its_rank_world_size_and_the_first_node_as_master(slurm_task):
    env = submitit_distributed_env()
    port = int(env.pop("MASTER_PORT"))
    assert env == {
        "RANK": "11",
        "LOCAL_RANK": "3",
        "WORLD_SIZE": "16",
        "LOCAL_WORLD_SIZE": "8",
        "MASTER_ADDR": "gpu-07",
    }
    assert 1024 <= port < 65536
    # Every task of the job must agree on the port without talking to the others.
    slurm_task.setenv("SLURM_PROCID", "0")
    slurm_task.setenv("SLURM_NODEID", "0")
    slurm_task.setenv("SLURM_LOCALID", "0")
    assert submitit_distributed_env()["MASTER_PORT"] == str(port)


def test_a_master_port_set_for_the_job_is_kept(slurm_task):
    slurm_task.setenv("MASTER_PORT", "29511")
    assert submitit_distributed_env()["MASTER_PORT"] == "29511"


def test_torchrun_or_no_submitit_or_one_task_leave_the_environment_alone(slurm_task):
    slurm_task.setenv("SLURM_NTASKS", "1")  # one task: it picks a free port itself
    assert submitit_distributed_env() == {}
    slurm_task.setenv("SLURM_NTASKS", "16")
    slurm_task.setenv("RANK", "5")  # torchrun (or deepspeed) inside the job set it already
    assert submitit_distributed_env() == {}
    slurm_task.delenv("RANK")
    slurm_task.delenv("SUBMITIT_EXECUTOR")  # plain sbatch/srun, not a submitit job
    assert submitit_distributed_env() == {}


def test_the_slurm_launcher_composes_one_task_per_gpu():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
            return_hydra_config=True,
        )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert launcher["tasks_per_node"] == launcher["gpus_per_node"] == 8
    assert launcher["nodes"] == 1 and launcher["partition"] == "gpu"
    assert launcher["max_num_timeout"] > 0  # a timed-out job is requeued, and resumes
    # The plugin takes these keyword arguments (it checks none; submitit checks at submission).
    assert instantiate(cfg.hydra.launcher).params["tasks_per_node"] == 8
