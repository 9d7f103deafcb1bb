"""Two ranks equal one rank: GRPO and PPO under `torchrun --nproc_per_node 2`, ZeRO-0 (the CPU
micro plan), against the same settings on one rank (tests/rl/multirank.py runs both).

The one-rank run is the reference. Same global batch: 4 prompts x 8 samples per step, 3
steps of 2 optimizer steps, micro-batches of 4. One rank accumulates 4 micro-batches per
update, two ranks 2 each and then all-reduce, so gradients are summed in another order:
the runs agree up to float32 rounding, not bitwise.

Tolerances, with the largest difference measured on this 2-core machine in brackets:
- samples: equal token ids for every (step, prompt). Seeds are per prompt and the policies
  differ by rounding only, so a different token would need a uniform draw within ~1e-7 of a
  boundary of the sampling distribution.
- metrics (`time/*` aside): |two - one| <= 1e-6 + 1e-5 |one|. They are sums of a few hundred
  O(1) float32 terms (unit roundoff 6e-8) after updates that differ by rounding [GRPO
  1.7e-7 (rl/entropy, 2.7), PPO 1.8e-7 (rl/grad_norm, 0.48); rl/policy_loss 5e-8, i.e.
  1.3e-5 relative: its O(1) terms cancel to ~1e-2, so the absolute bound is the one that
  speaks; rl/rollout_logp_abs_diff, ~2e-7, is rounding itself].
- parameters after the run: max |two - one| <= 1e-5, 1% of one AdamW step (lr 1e-3)
  [GRPO 7.8e-7, PPO 1.2e-7; Adam divides the rounding of a tiny gradient by its tiny
  running RMS, so a parameter can differ by more than its gradient's rounding]. The runs
  move parameters by up to 6e-3.
Splitting the step wrongly lands far above these; each of these, made by hand, failed here:
per-rank PPO whitening (parameters 2.8e-3 apart), the rank in the sampling seed (different
samples), a gradient scale without the rank count (grad_norm halved), contiguous prompt
slices per rank (different updates), per-rank token means in the metrics (policy_loss
1.6e-4 apart), per-rank reward std.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from tests.launch_env import fresh_process_env
from xlt.paths import REPO_ROOT
from xlt.tracking import read_jsonl_log

pytestmark = pytest.mark.slow

TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable))
METRIC_RTOL, METRIC_ATOL = 1e-5, 1e-6
PARAMETER_ATOL = 1e-5


def _torchrun(num_ranks: int, model_dir, out) -> None:
    env = fresh_process_env(PYTHONPATH=str(REPO_ROOT))
    with socket.socket() as sock:  # a free port: another test run may hold torchrun's default
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [TORCHRUN, "--nproc_per_node", str(num_ranks), "--master_port", port,
           "-m", "tests.rl.multirank", "--model", str(model_dir), "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(pretrained_dir, tmp_path_factory):
    """{1: folder of the one-rank run, 2: of the two-rank run}."""
    out = tmp_path_factory.mktemp("multirank")
    for num_ranks in (1, 2):
        _torchrun(num_ranks, pretrained_dir, out / f"ranks{num_ranks}")
    return {n: out / f"ranks{n}" for n in (1, 2)}


def _rank_records(folder, num_ranks):
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(num_ranks)]


def _tokens(record, step: str, update: int) -> int:
    """Response tokens of a rank's prompt for `update` (its prompts are in update order)."""
    groups = list(record["samples"][step].values())  # one prompt per update on each rank
    return sum(len(ids) for ids in groups[update])


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_two_ranks_sample_the_same_completions_as_one(runs, algorithm):
    [one] = _rank_records(runs[1] / algorithm, 1)
    rank0, rank1 = _rank_records(runs[2] / algorithm, 2)
    assert sorted(one["samples"]) == ["1", "2", "3"]
    for step, expected in one["samples"].items():
        mine, theirs = rank0["samples"][step], rank1["samples"][step]
        assert len(mine) == len(theirs) == 2 and not mine.keys() & theirs.keys()  # a real split
        assert {**mine, **theirs} == expected, f"step {step}: the samples differ"
    # not vacuous: the ranks held different numbers of response tokens in some update, so a
    # mean of per-rank token means would differ from the token mean over both
    assert any(_tokens(rank0, step, update) != _tokens(rank1, step, update)
               for step in one["samples"] for update in (0, 1))  # fmt: skip
    # each rank's reward pool gets its share of the cores (execution.workers=0 in the runs)
    assert one["reward_workers"] == os.cpu_count()
    assert rank0["reward_workers"] == rank1["reward_workers"] == max(1, os.cpu_count() // 2)


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_two_ranks_log_the_metrics_of_one(runs, algorithm):
    one = read_jsonl_log(runs[1] / algorithm / "metrics.jsonl")
    two = read_jsonl_log(runs[2] / algorithm / "metrics.jsonl")
    assert [r["step"] for r in one] == [r["step"] for r in two] == [1, 2, 3]
    # not vacuous: some group had a reward spread (non-zero advantages)
    assert min(r["metrics"]["rl/frac_zero_std_groups"] for r in one) < 1.0
    worst = 0.0
    for expected, got in zip(one, two, strict=True):
        assert got["metrics"].keys() == expected["metrics"].keys()
        for key, value in expected["metrics"].items():
            if key.startswith("time/"):
                continue
            worst = max(worst, abs(got["metrics"][key] - value))
            assert got["metrics"][key] == pytest.approx(value, rel=METRIC_RTOL, abs=METRIC_ATOL), (
                expected["step"], key)  # fmt: skip
    print(f"{algorithm}: largest metric difference {worst:.3g}")


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_two_ranks_end_at_the_parameters_of_one(runs, algorithm):
    start = torch.load(runs[1] / algorithm / "start.pt")
    one = torch.load(runs[1] / algorithm / "end.pt")
    two = torch.load(runs[2] / algorithm / "end.pt")
    assert one.keys() == two.keys()
    moved = max(float((one[k] - start[k]).abs().max()) for k in one)
    assert moved > 100 * PARAMETER_ATOL  # training moved them far beyond the tolerance
    differences = {k: float((two[k] - one[k]).abs().max()) for k in one}
    worst = max(differences, key=differences.get)
    print(f"{algorithm}: largest parameter difference {differences[worst]:.3g} ({worst}); "
          f"largest move {moved:.3g}")  # fmt: skip
    assert differences[worst] <= PARAMETER_ATOL, worst
