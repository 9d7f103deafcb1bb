"""How a step splits over ranks, per-prompt seeds and per-rank reward pools, with fake
world sizes (the real two-rank run is tests/rl/test_multirank.py)."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.rl.helpers import BASE, constant_problems, make_trainer
from xlt.execution.config import ExecutionConfig
from xlt.execution.types import OK, Result
from xlt.rl import ranks
from xlt.rl.ranks import rank_positions, same_updates_on_any_ranks
from xlt.rl.rewards import reward_workers
from xlt.rl.rollout import prompt_seed


@pytest.mark.parametrize("prompts, updates", [(8, 1), (8, 2), (16, 4), (64, 1)])
@pytest.mark.parametrize("num_ranks", [1, 2, 4])
def test_every_update_trains_on_the_same_prompts_on_any_number_of_ranks(
    prompts, updates, num_ranks
):
    per_rank = [rank_positions(prompts, updates, num_ranks, r) for r in range(num_ranks)]
    assert sorted(sum(per_rank, [])) == list(range(prompts))  # each prompt on one rank
    # A rank trains update u on the u-th of `updates` equal chunks of its own list; on one
    # rank, update u is the u-th block of consecutive prompts.
    block = prompts // updates
    for update in range(updates):
        chunk = len(per_rank[0]) // updates
        trained = {p for mine in per_rank for p in mine[update * chunk : (update + 1) * chunk]}
        assert trained == set(range(update * block, (update + 1) * block))


def test_blocks_that_do_not_split_into_whole_prompts_fall_back_to_contiguous_slices():
    # 6 prompts, 2 updates, 2 ranks: a block of 3 prompts has no equal split
    assert not same_updates_on_any_ranks(6, 2, 2)
    assert [rank_positions(6, 2, 2, r) for r in (0, 1)] == [[0, 1, 2], [3, 4, 5]]
    assert same_updates_on_any_ranks(6, 2, 1) and same_updates_on_any_ranks(8, 2, 2)


def test_prompt_seeds_differ_across_steps_positions_and_run_seeds():
    seeds = {prompt_seed(0, step, position) for step in range(200) for position in range(64)}
    assert len(seeds) == 200 * 64 and all(0 <= s < 2**62 for s in seeds)
    assert prompt_seed(1, 0, 0) != prompt_seed(0, 0, 0)


@pytest.mark.parametrize(
    "configured, ranks_on_machine, cores, expected",
    [
        (0, 1, 16, 16),  # one rank: every core
        (0, 8, 16, 2),  # 8 GPUs on a 16-core node: 2 each
        (0, 2, 2, 1),  # this machine under torchrun --nproc_per_node 2
        (0, 8, 4, 1),  # more ranks than cores: still one each
        (0, 3, 16, 5),  # rounded down: never more programs than cores
        (6, 8, 16, 6),  # execution.workers set: taken as is
    ],
)
def test_reward_workers_share_the_cores_among_the_ranks(
    configured, ranks_on_machine, cores, expected
):
    assert reward_workers(configured, ranks_on_machine, cores) == expected


def test_ranks_on_this_machine_reads_the_launchers_local_size(monkeypatch):
    for name in ("LOCAL_WORLD_SIZE", "LOCAL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ranks, "world_size", lambda: 6)
    assert ranks.ranks_on_this_machine() == 6  # no launcher says: one machine
    monkeypatch.setenv("LOCAL_SIZE", "3")  # DeepSpeed's launcher
    assert ranks.ranks_on_this_machine() == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun
    assert ranks.ranks_on_this_machine() == 2


class RecordingExecutor:
    """Passes every program; records the `workers` each batch was run with."""

    def __init__(self):
        self.workers = []

    async def __call__(self, jobs, *, workers=None, cache_dir=None, progress=False, judge=None,
                       **settings):  # fmt: skip
        self.workers.append(workers)
        return [Result(job.id, OK) for job in jobs]


@pytest.mark.parametrize("configured, expected", [(0, 4), (3, 3)])
def test_the_trainer_scores_with_a_pool_of_its_share_of_the_cores(
    pretrained_dir, tmp_path, monkeypatch, configured, expected
):
    # 4 ranks on a 16-core machine, as torchrun would say
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    executor = RecordingExecutor()
    trainer = make_trainer(pretrained_dir, tmp_path, BASE, execute_async=executor,
                           execution=ExecutionConfig(workers=configured))  # fmt: skip
    problems = constant_problems()[:2]
    rewards, _ = asyncio.run(trainer._score(problems, [" 7", " 3"]))
    assert rewards == [1.0, 1.0] and executor.workers == [expected]
