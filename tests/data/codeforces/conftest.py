"""Shared set-up for the CodeForces data tests: fixture files and the execution engine.

The fixture files under tests/fixtures/codeforces/ are written in the exact Hub schemas
(docs/data.md) and hold, on purpose, one row for each way a row can be unusable.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xlt.data.codeforces.load import TableSource

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codeforces"

# Languages the tests verify in: fast interpreters the CI tier installs. rb is the held-out
# target, so its programs must reach parallel.jsonl but never sft.jsonl or rl.jsonl.
LANGUAGES = ("py", "js", "rb")
HELD_OUT = ("rb",)


@pytest.fixture(scope="module")
def sources() -> dict[str, TableSource]:
    return {
        "train": TableSource(str(FIXTURES / "problems_train.jsonl"), split="train"),
        "eval": TableSource(str(FIXTURES / "problems_test.jsonl"), split="test"),
        "submissions": TableSource(str(FIXTURES / "submissions.jsonl")),
    }


@pytest.fixture(scope="session")
def run_jobs(tmp_path_factory):
    """The real execution engine, in `io` mode; tests that need it skip without toolchains.

    A fresh result cache for this session (verdicts come from running, not from another
    run's cache), and one cache folder so the process holds a single executor.
    """
    missing = [tool for tool in ("python3", "node", "ruby") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"toolchains missing for the verification tests: {missing}")
    execution = pytest.importorskip("xlt.execution", reason="execution engine not importable")
    if not hasattr(execution, "execute"):
        pytest.skip("xlt.execution.execute has not landed yet")

    cache_dir = tmp_path_factory.mktemp("exec_cache")

    def run(jobs):
        return execution.execute(jobs, cache_dir=cache_dir, progress=False)

    return run
