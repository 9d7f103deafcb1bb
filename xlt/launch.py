"""What every rank of one multi-process launch must agree on before any process group exists.

Under `torchrun`/`deepspeed` each rank composes the config on its own, so Hydra's
`${now:...}` run folder differs between ranks that start in different seconds. These
resolvers give the ranks of one launch the same run folder and each rank its own log:

    hydra.run.dir: outputs/${launch_time:%Y-%m-%d}/${launch_time:%H-%M-%S}
    hydra.job_logging.handlers.file.filename: ${hydra.runtime.output_dir}/${hydra.job.name}${rank_suffix:}.log
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path


def launched() -> bool:
    """True under a multi-process launcher (it sets RANK for every process)."""
    return "RANK" in os.environ


def process_start_time(pid: int) -> float | None:
    """The Unix time process `pid` started at (Linux /proc); None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    # field 22 of stat (20th after the command name) is the start in clock ticks after boot
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


@cache
def launch_time() -> float:
    """The launcher's start (the ranks' common parent) under a launcher, else this process's
    first call. Ranks on other nodes have other parents; only rank 0 writes run files."""
    if launched():
        started = process_start_time(os.getppid())
        if started is not None:
            return started
    return time.time()


def format_launch_time(pattern: str) -> str:
    return time.strftime(pattern, time.localtime(launch_time()))


def rank_suffix() -> str:
    """Nothing for rank 0 (and launcher-less runs), ".rank<N>" for the others.

    Hydra sets up logging before `xlt.run` exports a SLURM task's RANK, so a submitit task
    is told by SLURM's own process id."""
    env = os.environ
    rank = int(env.get("RANK") or (env.get("SLURM_PROCID") if "SUBMITIT_EXECUTOR" in env else 0))
    return f".rank{rank}" if rank else ""
