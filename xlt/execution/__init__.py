"""Sandboxed multi-language execution: `execute(jobs) -> results` (see docs/execution.md)."""

from xlt.execution.engine import Executor, execute, execute_async
from xlt.execution.types import STATUSES, Case, Job, Result

__all__ = ["STATUSES", "Case", "Executor", "Job", "Result", "execute", "execute_async"]
