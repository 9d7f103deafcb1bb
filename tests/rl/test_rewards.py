"""Rewards against the Job/Result contract: scoring, de-duplication, status mix."""

from __future__ import annotations

import asyncio

import pytest

from tests.rl.helpers import constant_problems
from xlt.execution.types import OK, RUNTIME_ERROR, STATUSES, TOOLCHAIN_MISSING, WRONG_ANSWER, Result
from xlt.rl.rewards import reward_of, score_async, status_metrics


def test_reward_of():
    assert reward_of(Result("a", OK), "binary") == 1.0
    assert reward_of(Result("a", WRONG_ANSWER, cases_passed=2, cases_total=5), "binary") == 0.0
    assert reward_of(Result("a", WRONG_ANSWER, cases_passed=2, cases_total=5), "fraction") == 0.4
    assert reward_of(Result("a", OK, cases_passed=5, cases_total=5), "fraction") == 1.0
    with pytest.raises(ValueError, match="reward kind"):
        reward_of(Result("a", OK), "partial")


class Recorder:
    """An executor that passes programs containing 'return 7' and records what it ran."""

    def __init__(self, status_for_fail=RUNTIME_ERROR):
        self.batches = []
        self.judges = []
        self.status_for_fail = status_for_fail

    async def __call__(self, jobs, *, workers=None, cache_dir=None, progress=False, judge=None,
                       **settings):  # fmt: skip
        self.batches.append(list(jobs))
        self.judges.append(judge)
        return [Result(j.id, OK if "return 7" in j.program else self.status_for_fail) for j in jobs]


def test_score_dedups_and_keeps_order():
    [p0, p1, *_] = constant_problems()
    problems = [p0, p0, p0, p1]
    codes = [" 7", " 3", " 7", " 7"]
    recorder = Recorder()
    rewards, results = asyncio.run(score_async(problems, codes, execute_async=recorder))
    assert rewards == [1.0, 0.0, 1.0, 1.0]
    assert [r.status for r in results] == [OK, RUNTIME_ERROR, OK, OK]
    [batch] = recorder.batches
    assert len(batch) == 3  # p0 " 7" ran once
    assert batch[0].program == "def f0():\n    return 7\nassert f0() == 7\n"
    assert recorder.judges == ["strict"]  # rewards use the reward-hack-resistant judge


def test_missing_toolchain_is_an_error_not_a_zero():
    problems = constant_problems()[:1]
    with pytest.raises(RuntimeError, match="toolchain missing"):
        asyncio.run(score_async(problems, [" 1"], execute_async=Recorder(TOOLCHAIN_MISSING)))


def test_status_metrics_cover_every_status():
    results = [Result("a", OK), Result("b", RUNTIME_ERROR), Result("c", OK), Result("d", OK)]
    metrics = status_metrics(["py", "py", "lua", "lua"], results)
    assert len(metrics) == 2 * len(STATUSES)
    assert metrics["exec/py/ok_frac"] == 0.5
    assert metrics["exec/py/runtime_error_frac"] == 0.5
    assert metrics["exec/lua/ok_frac"] == 1.0
    assert metrics["exec/lua/timeout_frac"] == 0.0


def test_score_with_the_execution_engine(execute_async):
    problems = constant_problems()[:2]
    rewards, results = asyncio.run(
        score_async(problems, [" 7", " 8"], workers=2, execute_async=execute_async)
    )
    assert rewards == [1.0, 0.0]
    assert results[1].status in (RUNTIME_ERROR, WRONG_ANSWER)  # a failed assert


def test_a_completion_that_exits_before_the_tests_earns_nothing(execute_async):
    problems = constant_problems()[:1]
    hack = [" 0\nimport sys\nsys.exit(0)"]  # MultiPL-E's rules pass it: status 0
    lenient, _ = asyncio.run(
        score_async(problems, hack, execute_async=execute_async, judge="multipl-e")
    )
    strict, _ = asyncio.run(score_async(problems, hack, execute_async=execute_async))
    assert (lenient, strict) == ([1.0], [0.0])


def test_the_trainer_passes_the_configured_limits_to_the_engine(pretrained_dir, tmp_path):
    # execution.memory_mb and the rest were dropped on the way to the engine: paper scale's
    # memory_mb=2048 ran every reward program under the engine's default 1024.
    from dataclasses import replace

    from tests.rl.helpers import BASE, make_trainer
    from xlt.execution.config import ExecutionConfig
    from xlt.tracking import NullTracker

    seen = []

    async def recording(jobs, *, workers=None, cache_dir=None, judge=None, **settings):
        seen.append(settings)
        return [Result(j.id, WRONG_ANSWER) for j in jobs]

    execution = ExecutionConfig(workers=1, memory_mb=2048, output_limit_bytes=4096,
                                network_isolation="off", heavy_workers=2, cache_dir=None)  # fmt: skip
    rl = replace(BASE, steps=1, prompts_per_step=1, group_size=2, micro_batch_size=2,
                 updates_per_step=1)  # fmt: skip
    trainer = make_trainer(pretrained_dir, tmp_path, rl, execute_async=recording,
                           execution=execution, tracker=NullTracker())  # fmt: skip
    try:
        trainer.setup()
        trainer.train()
    finally:
        trainer.cleanup()
    assert seen == [{"memory_mb": 2048, "output_limit_bytes": 4096, "network_isolation": "off",
                     "heavy_workers": 2}]  # fmt: skip
