"""Check a micro suite with the execution engine: canonical solutions pass, wrong ones fail.

    python -m xlt.data.micro.verify --languages py,js,lua,rb,php,pl,cpp,go --num-tasks 600

Each problem runs twice: with its canonical solution (must be `ok`) and with its
deliberately wrong solution, a near miss with one primitive changed (must not be `ok`).
A `toolchain_missing` result counts as missing, never as a pass or a failure.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from xlt.data.records import Problem
from xlt.execution import execute
from xlt.execution.types import TOOLCHAIN_MISSING


def verify_problems(
    problems: Sequence[Problem], *, workers: int | None = None, cache_dir: str | None = None
) -> dict[str, Any]:
    """Per language: canonical pass rate, wrong-solution rejection rate; the failures by name."""
    jobs = []
    for p in problems:
        jobs.append(p.job(p.solution, id=f"{p.language}/{p.name}/canonical"))
        jobs.append(p.job(p.meta["wrong_solution"], id=f"{p.language}/{p.name}/wrong"))
    started = time.perf_counter()
    results = execute(jobs, workers=workers, cache_dir=cache_dir)
    seconds = time.perf_counter() - started
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures = []
    for job, result in zip(jobs, results, strict=True):
        kind = job.id.rsplit("/", 1)[1]
        tally = counts[job.language]
        if result.status == TOOLCHAIN_MISSING:
            tally["missing"] += 1
            continue
        tally[f"{kind}_total"] += 1
        good = result.passed if kind == "canonical" else not result.passed
        tally[f"{kind}_{'passed' if kind == 'canonical' else 'rejected'}"] += good
        if not good:
            failures.append({"id": job.id, "status": result.status, "stderr": result.stderr[-300:]})
    per_language = {
        lang: {
            "canonical_pass_rate": t["canonical_passed"] / max(t["canonical_total"], 1),
            "wrong_reject_rate": t["wrong_rejected"] / max(t["wrong_total"], 1),
            "problems": t["canonical_total"],
            "missing_toolchain": t["missing"],
        }
        for lang, t in sorted(counts.items())
    }
    return {"languages": per_language, "failures": failures, "seconds": round(seconds, 1)}


def main(argv: Sequence[str] | None = None) -> None:
    from xlt.data.micro.suite import build_suite, render_problem

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="py,js,lua,rb,php,pl,cpp,go")
    parser.add_argument("--num-tasks", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    suite = build_suite(args.num_tasks, seed=args.seed)
    problems = [
        render_problem(task, lang) for task in suite.tasks for lang in args.languages.split(",")
    ]
    report = verify_problems(problems, workers=args.workers, cache_dir=args.cache_dir)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
