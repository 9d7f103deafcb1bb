"""Execution rewards: run each sampled program through the execution engine, score the result.

- `binary` (default, the paper's): 1 if every test passes (status `ok`), else 0.
- `fraction`: the fraction of stdin/stdout cases that pass (`io` problems); for `tests`
  problems, whose program carries its own assertions, it equals `binary`.

Programs run through `xlt.execution.execute_async` (its `workers` bound the concurrency:
one pool per rank, `reward_workers`); identical programs within a batch run once. A
`toolchain_missing` result is an error here, not a zero reward: RL would silently learn
nothing (the config check should have caught it).

Rewards use the engine's strict judge (`xlt.execution.strict`): a program that exits 0
before its tests end, turns a failure into status 0 with a hook, or disarms the test
helpers earns 0, where MultiPL-E's rules (kept for benchmark scores) would pay 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from xlt.data.records import Problem
from xlt.execution.types import OK, STATUSES, TOOLCHAIN_MISSING, Job, Result

REWARD_KINDS = ("binary", "fraction")

ExecuteAsync = Callable[..., Awaitable[list[Result]]]


def reward_workers(configured: int, ranks_on_machine: int, cores: int) -> int:
    """Sandbox workers of one rank's reward pool: `execution.workers` when set (> 0), else
    the machine's cores shared among the ranks on it, at least one each.

    Every rank runs its own pool, all at once: sized to all cores each, N ranks would run
    N programs per core and time out programs that pass on a quiet machine.
    """
    if configured > 0:
        return configured
    return max(1, cores // ranks_on_machine)


def reward_of(result: Result, kind: str) -> float:
    """The scalar reward of one execution result."""
    if kind == "binary":
        return 1.0 if result.status == OK else 0.0
    if kind == "fraction":
        if result.status == OK:
            return 1.0
        return result.cases_passed / result.cases_total if result.cases_total else 0.0
    raise ValueError(f"reward kind {kind!r} is not one of {REWARD_KINDS}")


async def score_async(
    problems: Sequence[Problem],
    codes: Sequence[str],
    *,
    kind: str = "binary",
    workers: int | None = None,
    cache_dir: str | None = None,
    timeout_s: float | None = None,
    execute_async: ExecuteAsync | None = None,
    judge: str = "strict",
    settings: dict | None = None,
) -> tuple[list[float], list[Result]]:
    """Rewards and results for `codes[i]` answering `problems[i]`, in order.

    `codes` are what the model wrote (completion mode: the continuation of the prompt;
    chat mode: the extracted code block); `Problem.job` builds the program. `execute_async`
    defaults to the execution engine's. `judge`: "strict" (reward hacks fail) or
    "multipl-e" (benchmark verdicts), see `xlt.execution.Executor.run`. `settings`: the
    engine's limits and isolation (`ExecutionConfig.engine_settings`).
    """
    if len(problems) != len(codes):
        raise ValueError(f"{len(problems)} problems but {len(codes)} completions")
    if execute_async is None:
        from xlt.execution import execute_async  # the engine; injected in unit tests

    jobs = [p.job(code, timeout_s=timeout_s) for p, code in zip(problems, codes, strict=True)]
    unique: dict[tuple, Job] = {}
    for job in jobs:
        unique.setdefault(_job_key(job), job)
    unique_jobs = list(unique.values())
    results_unique = await execute_async(
        unique_jobs, workers=workers, cache_dir=cache_dir, judge=judge, **(settings or {})
    )
    by_key = {_job_key(j): r for j, r in zip(unique_jobs, results_unique, strict=True)}
    results = [by_key[_job_key(job)] for job in jobs]
    missing = [r for r in results if r.status == TOOLCHAIN_MISSING]
    if missing:
        raise RuntimeError(
            f"toolchain missing for RL rewards: {missing[0].stderr.strip()[:300]}; install it "
            "(`python -m xlt.doctor` lists toolchains) or pick another rl.source_language"
        )
    return [reward_of(r, kind) for r in results], results


def status_metrics(languages: Sequence[str], results: Sequence[Result]) -> dict[str, float]:
    """`exec/<language>/<status>_frac` for every status, so each curve exists at every step."""
    counts: Counter[tuple[str, str]] = Counter(
        (lang, r.status) for lang, r in zip(languages, results, strict=True)
    )
    totals = Counter(languages)
    return {
        f"exec/{lang}/{status}_frac": counts[(lang, status)] / total
        for lang, total in totals.items()
        for status in STATUSES
    }


def _job_key(job: Job) -> tuple:
    return (job.language, job.program, job.mode, job.cases, job.timeout_s)
