"""Helpers for evaluation tests: a Python-only executor (real subprocesses) and a scripted generator.

The execution engine is tested on its own; these tests check the bookkeeping
around it (pass@k, resume, subsets) on programs that really run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from xlt.execution.types import OK, RUNTIME_ERROR, TOOLCHAIN_MISSING, Result
from xlt.generation.types import Completion


def run_as_python(jobs, *, workers=None, cache_dir=None, progress=False, missing=()):
    """Run every job's program with this Python (whatever its language tag), in order."""
    results = []
    for job in jobs:
        if job.language in missing:
            results.append(Result(job.id, TOOLCHAIN_MISSING, stderr="no toolchain (test)"))
            continue
        proc = subprocess.run(
            [sys.executable, "-c", job.program], capture_output=True, text=True, timeout=60
        )
        status = OK if proc.returncode == 0 else RUNTIME_ERROR
        results.append(Result(job.id, status, exit_code=proc.returncode, stderr=proc.stderr))
    return results


class ScriptedGenerator:
    """Answers each prompt with `answers[prompt]` (a list of n texts); counts prompts seen."""

    def __init__(self, answers: dict[str, list[str]], fail_after_calls: int | None = None):
        self.answers = answers
        self.prompts_seen: list[str] = []
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    def generate(self, prompts, params):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        self.prompts_seen += prompts
        out = []
        for prompt in prompts:
            texts = self.answers[prompt][: params.n]
            assert len(texts) == params.n
            out.append([Completion(text, (), None, "stop") for text in texts])
        return out


@pytest.fixture
def python_executor():
    return run_as_python
