"""The `execution` config group: sandbox limits and the worker pool (`xlt.execution`)."""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice, check_positive
from xlt.spec import outside_key


@dataclass(frozen=True)
class ExecutionConfig:
    """Limits and isolation of every program run (rewards, evaluation, data verification)."""

    # Pool sizes and the cache folder change speed only: a verdict never depends on them.
    workers: int = outside_key(0)  # 0: one per CPU core
    heavy_workers: int = outside_key(1)  # concurrent compilations for heavy toolchains (javac, ...)
    timeout_s: float = 10.0
    memory_mb: int = 1024
    output_limit_bytes: int = 65536
    network_isolation: str = "auto"  # auto | on | off
    cache_dir: str | None = outside_key(None)  # None: ~/.cache/xlt/exec

    def engine_settings(self) -> dict:
        """The `Executor` settings that can change a verdict, for every caller of the engine
        (RL rewards, evaluation, data verification) to pass on."""
        return {
            "heavy_workers": self.heavy_workers,
            "memory_mb": self.memory_mb,
            "output_limit_bytes": self.output_limit_bytes,
            "network_isolation": self.network_isolation,
        }

    def __post_init__(self) -> None:
        check_choice(self.network_isolation, ("auto", "on", "off"), "execution.network_isolation")
        check_positive(self.timeout_s, "execution.timeout_s")
        check_positive(self.memory_mb, "execution.memory_mb")
