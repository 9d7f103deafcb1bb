"""Shared set-up for the CodeForces data tests: fixture files and the execution engine.

The fixture files under tests/fixtures/codeforces/ are written in the exact Hub schemas
(docs/data.md) and hold, on purpose, one row for each way a row can be unusable.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xlt.data.codeforces.build import BuildParams, build
from xlt.data.codeforces.load import TableSource
from xlt.execution import execute
from xlt.paths import BENCHMARKS_DIR

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codeforces"

# Languages the tests verify in: fast interpreters the CI tier installs. rb is the held-out
# target, so its programs must reach parallel.jsonl but never sft.jsonl or rl.jsonl.
LANGUAGES = ("py", "js", "rb")
HELD_OUT = ("rb",)


@pytest.fixture(scope="session")
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

    cache_dir = tmp_path_factory.mktemp("exec_cache")

    def run(jobs):
        return execute(jobs, cache_dir=cache_dir, progress=False)

    return run


MULTIPLE_PY = BENCHMARKS_DIR / "multipl-e-humaneval" / "humaneval-py-reworded.jsonl.gz"
RIGHT_JS_MAX = "const l = require('fs').readFileSync(0, 'utf8').trim().split('\\n');\nconsole.log(Math.max(...l[1].split(' ').map(Number)));\n"


def scripted_translator(requests):
    """Stand-in for the translation model: a right js answer for 3/C (after a wrong one), wrong ones elsewhere."""
    answers = []
    for request in requests:
        if request.problem.id == "3/C" and request.target_language == "js":
            answers.append(["console.log(1);\n", RIGHT_JS_MAX])
        else:
            answers.append(["puts 0\n"])
    return answers


@pytest.fixture(scope="session")
def built(tmp_path_factory, run_jobs, sources):
    """The whole build on the fixture tables: (artifact folder, manifest)."""
    if not MULTIPLE_PY.exists():
        pytest.skip(f"benchmark file missing: {MULTIPLE_PY}")
    out = tmp_path_factory.mktemp("cf_build")
    params = BuildParams(
        train_problems=sources["train"],
        submissions=sources["submissions"],
        eval_problems=sources["eval"],
        languages=LANGUAGES,
        held_out=HELD_OUT,
        max_candidates=2,  # the third py submission of 1/A is over the cap
        per_language=1,
        translate_to=("js", "rb"),
        benchmark_files=(MULTIPLE_PY,),
        max_rating=3000,
        batch_problems=2,  # several batches even on three problems
    )
    manifest = build(
        params, out, run_jobs=run_jobs, translator=scripted_translator, count_tokens=len
    )
    return out, manifest
