"""The environment for a test's child process that must start as a fresh, launcher-less one.

In-process tests set up a one-rank DeepSpeed environment in this pytest process
(`xlt.train.engine.ensure_distributed_env`) and keep its process group, and so its port; a
child inheriting those variables would try to bind the same port (EADDRINUSE).
"""

import os

LAUNCHER_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def fresh_process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    return {**env, **extra}
