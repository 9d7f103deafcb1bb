"""Run one setting of the study (or a sweep of them with --multirun).

    python -m xlt.run +experiment=parallel_sft                 # micro scale, CPU, minutes
    python -m xlt.run +experiment=parallel_sft --cfg job       # print the composed config
    python -m xlt.run --multirun +experiment=transfer_sweep    # SFT mixtures x sources x seeds
    python -m xlt.run +experiment=parallel_sft scale=paper     # GPUs: see README

This is the only module (with xlt.report and xlt.doctor) that reads Hydra config:
it turns the composed YAML into the typed dataclasses of `xlt.config`, checks
them, checks that every stage the setting needs exists, then runs the stages.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from xlt.analysis.compare import compare_checkpoints, discover_runs
from xlt.config import (
    AnalysisConfig,
    CodeforcesDataConfig,
    EvalConfig,
    ExecutionConfig,
    MicroDataConfig,
    ModelConfig,
    ParallelPlan,
    PretrainConfig,
    RLConfig,
    RolloutConfig,
    SFTConfig,
    TrackingConfig,
    XltConfig,
)
from xlt.eval.rows import ROWS_FILE
from xlt.launch import format_launch_time, rank_suffix
from xlt.paths import BENCHMARKS_DIR
from xlt.pipeline import Pipeline
from xlt.rehearsal import prepare as prepare_rehearsal
from xlt.report import log_report, make_report
from xlt.stages.evaluate import preflight as eval_preflight
from xlt.stages.rl import preflight as rl_preflight
from xlt.study import row_ids, run_study
from xlt.tracking import NullTracker, make_tracker, run_group, run_name

log = logging.getLogger("xlt.run")
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

# (config group, name of the base node) -> the dataclass whose defaults it holds. Every YAML of
# a group starts from its base and lists only what differs, so each default has one home.
GROUP_BASES = {
    ("model", "base"): ModelConfig,
    ("data", "base_micro"): MicroDataConfig,
    ("data", "base_codeforces"): CodeforcesDataConfig,
    ("pretrain", "base"): PretrainConfig,
    ("sft", "base"): SFTConfig,
    ("rl", "base"): RLConfig,
    ("rollout", "base"): RolloutConfig,
    ("eval", "base"): EvalConfig,
    ("parallelization", "base"): ParallelPlan,
    ("execution", "base"): ExecutionConfig,
    ("analysis", "base"): AnalysisConfig,
    ("tracking", "base"): TrackingConfig,
}


def register_group_bases() -> None:
    """Store each group's base node (`_target_` plus the dataclass defaults) for Hydra."""
    store = ConfigStore.instance()
    for (group, name), cls in GROUP_BASES.items():
        node = {"_target_": f"{cls.__module__}.{cls.__qualname__}", **field_defaults(cls)}
        store.store(group=group, name=name, node=node)


def field_defaults(cls) -> dict:
    """A dataclass's defaults, read without constructing it: its checks may depend on the
    launch (batch sizes against the number of ranks) and belong to the composed config."""
    defaults = {}
    for item in fields(cls):
        if item.default_factory is not MISSING:
            defaults[item.name] = item.default_factory()
        elif item.default is not MISSING:
            defaults[item.name] = item.default
    return defaults


register_group_bases()  # before @hydra.main or any compose() reads conf/
# `${benchmarks_dir:multipl-e-humaneval}`: a folder of the shared benchmark files (XLT_BENCHMARKS)
OmegaConf.register_new_resolver(
    "benchmarks_dir", lambda sub="": str(BENCHMARKS_DIR / sub), replace=True
)
# One run folder for all ranks of a launch, one log file per rank (xlt.launch)
OmegaConf.register_new_resolver("launch_time", format_launch_time, replace=True)
OmegaConf.register_new_resolver("rank_suffix", rank_suffix, replace=True)


def build_config(dict_cfg: DictConfig) -> XltConfig:
    """Instantiate the typed config; a bad value raises ValueError naming the key and the fix."""
    try:
        cfg = hydra.utils.instantiate(dict_cfg, _convert_="all")
    except InstantiationException as error:
        # Our checks raise ValueError with the key in the message; anything else (a stray
        # key, a wrong type) is best described by Hydra's message, which names the node.
        cause = error.__cause__
        raise ValueError(str(cause if isinstance(cause, ValueError) else error)) from None
    assert isinstance(cfg, XltConfig), type(cfg)
    return cfg


def compose(*overrides: str) -> XltConfig:
    """The typed config of `python -m xlt.run <overrides>`, without running anything."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return build_config(hydra_compose(config_name="config", overrides=list(overrides)))


def submitit_distributed_env() -> dict[str, str]:
    """torch.distributed's `env://` variables for this process of a multi-task submitit job.

    The submitit launcher (conf/hydra/launcher/slurm.yaml) starts one process per GPU and
    sets only SLURM's variables, whereas DeepSpeed and the pipeline read RANK, WORLD_SIZE,
    LOCAL_RANK, MASTER_ADDR and MASTER_PORT, as torchrun sets them. Empty when a launcher
    has set RANK already, outside a submitit job, and for a one-task job (left to pick a free
    port itself, `xlt.train.engine.ensure_distributed_env`).
    """
    if "RANK" in os.environ or "SUBMITIT_EXECUTOR" not in os.environ:
        return {}
    from submitit.helpers import TorchDistributedEnvironment

    dist = TorchDistributedEnvironment()  # reads SLURM_PROCID, SLURM_NTASKS, SLURM_JOB_NODELIST...
    if dist.world_size == 1:
        return {}
    # Not dist.export(): it would also narrow CUDA_VISIBLE_DEVICES to the task's GPU, whereas
    # DeepSpeed, the evaluator and vLLM pick GPU LOCAL_RANK out of all of the node's.
    return {
        "RANK": str(dist.rank),
        "LOCAL_RANK": str(dist.local_rank),
        "WORLD_SIZE": str(dist.world_size),
        "LOCAL_WORLD_SIZE": str(dist.local_world_size),
        "MASTER_ADDR": dist.master_addr,
        "MASTER_PORT": str(dist.master_port),  # the same on every task: seeded by the job id
    }


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(dict_cfg: DictConfig) -> None:
    os.environ.update(submitit_distributed_env())  # before anything reads RANK
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    dict_cfg.run_dir = str(run_dir)
    try:
        cfg = build_config(dict_cfg)
        rows = row_ids(cfg)  # also checks the settings the stage specs need
        eval_preflight(cfg.eval)  # a Hub benchmark's pinned revision, before any training
        if cfg.rl.algorithm != "none":
            rl_preflight(cfg)  # the source language's toolchain, before any training
    except ValueError as error:
        print(f"xlt: {error}", file=sys.stderr)
        sys.exit(2)

    # Under `deepspeed`/`torchrun` every rank runs this; rank 0 alone writes the run's files.
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    resolved = OmegaConf.to_container(dict_cfg, resolve=True)
    tracker = open_tracker(cfg, run_dir, resolved, hydra_cfg) if rank == 0 else NullTracker()
    if rank == 0:  # the report reads which rows this run makes, finished or not
        (run_dir / ROWS_FILE).write_text(
            json.dumps({stage: row.to_dict() for stage, row in rows.items()}, indent=2)
        )
    pipeline = Pipeline(
        artifacts_dir=Path(cfg.artifacts_dir),
        tracker=tracker,
        rank=rank,
        world_size=world_size,
    )
    started = time.perf_counter()
    try:
        if cfg.scale == "rehearsal":  # its local model and data (every rank; one builds)
            prepare_rehearsal(Path(cfg.artifacts_dir) / "rehearsal")
        artifacts = run_study(cfg, pipeline)
        if rank == 0:
            summary = {role: str(art.path) for role, art in artifacts.items()}
            (run_dir / "run.json").write_text(
                json.dumps({"setting": setting_of(cfg), "artifacts": summary}, indent=2)
            )
            # This run's rows of the transfer matrix (a sweep's: python -m xlt.report <sweep>).
            log_report(make_report(run_dir, num_bootstrap=cfg.eval.bootstrap_samples), tracker)
            if cfg.analysis.enabled:  # base vs SFT vs RL, one plot per metric
                compare_checkpoints(discover_runs(run_dir), run_dir / "analysis", tracker=tracker)
    finally:
        if rank == 0:
            pipeline.write_record(run_dir)
        tracker.close()
    log.info("finished in %.1f s; run folder %s", time.perf_counter() - started, run_dir)


def open_tracker(cfg: XltConfig, run_dir: Path, resolved: dict, hydra_cfg: DictConfig):
    (run_dir / "config.json").write_text(json.dumps(resolved, indent=2))
    tracking = cfg.tracking
    return make_tracker(
        tracking.backend,
        run_dir,
        project=tracking.project,
        entity=tracking.entity,
        mode=tracking.mode,
        config=resolved,
        **run_identity(hydra_cfg, tracking.group, run_dir),
    )


def run_identity(hydra_cfg: DictConfig, group: str | None, run_dir: Path) -> dict[str, str | None]:
    """W&B's group, name and job type of this run, from Hydra's record of how it was launched
    (`xlt.tracking.run_group` and `run_name` say how)."""
    experiment = hydra_cfg.runtime.choices.get("experiment")
    sweep_dir = hydra_cfg.sweep.dir if hydra_cfg.mode == RunMode.MULTIRUN else None
    return {
        "group": run_group(group, experiment, sweep_dir),
        "name": run_name(hydra_cfg.job.override_dirname, experiment, run_dir),
        "job_type": experiment,
    }


def setting_of(cfg: XltConfig) -> dict:
    """What identifies this run's rows in the transfer matrix."""
    return {
        "scale": cfg.scale,
        "model": cfg.model.name,
        "sft_mixture": cfg.sft.mixture,
        "rl_algorithm": cfg.rl.algorithm,
        "rl_source_language": cfg.rl.source_language if cfg.rl.algorithm != "none" else None,
        "oracle": cfg.rl.oracle,
        "seed": cfg.seed,
    }


if __name__ == "__main__":
    main()
