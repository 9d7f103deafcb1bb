"""The training loop in one process: ZeRO-0 vs ZeRO-3 agreement, export, logging, exact resume."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.launch_env import fresh_process_env
from tests.train import tiny
from xlt.config import PretrainConfig, SFTConfig
from xlt.models import save_model
from xlt.paths import REPO_ROOT
from xlt.train.config import TrainConfig
from xlt.train.engine import ParallelPlan
from xlt.train.loop import CausalLMTrainer


class ListTracker:
    def __init__(self):
        self.records = []

    def log(self, metrics, step):
        self.records.append((step, metrics))


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer()


def _run(tok, parallel, tmp_path, mode="sft", steps=20):
    tracker = ListTracker()
    trainer = CausalLMTrainer(
        tiny.model(tok, seed=0),
        tiny.examples(tok, mode),
        ParallelPlan.preset(parallel),
        tiny.settings(steps),
        ckpt_dir=tmp_path / "ckpt",
        tracker=tracker,
        pad_id=tok.pad_token_id,
    )
    trainer.setup()
    losses = trainer.train()
    return trainer, losses, tracker


@pytest.fixture(scope="module")
def zero3_run(tok, tmp_path_factory):
    return _run(tok, "zero3", tmp_path_factory.mktemp("z3"))


def test_zero0_and_zero3_losses_agree_and_fall(tok, tmp_path, zero3_run):
    _, losses0, _ = _run(tok, "single", tmp_path)
    _, losses3, _ = zero3_run
    assert list(losses0) == list(range(1, 21))
    gaps = [abs(losses0[s] - losses3[s]) for s in losses0]
    assert max(gaps) < 1e-4, gaps
    assert losses0[20] < losses0[1] - 1.0  # falling: from ~5.8 (uniform over 300) to ~4


def test_pretrain_mode_loss_falls(tok, tmp_path):
    _, losses, _ = _run(tok, "single", tmp_path, mode="pretrain", steps=10)
    assert losses[10] < losses[1] - 0.5


def test_tracker_gets_the_train_metrics(zero3_run):
    _, losses, tracker = zero3_run
    assert [step for step, _ in tracker.records] == list(range(1, 21))
    step, metrics = tracker.records[-1]
    assert set(metrics) == {"train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s"}
    assert metrics["train/loss"] == losses[20]
    assert metrics["train/grad_norm"] > 0 and metrics["train/tokens_per_s"] > 0
    assert tracker.records[0][1]["train/lr"] == pytest.approx(1.5e-3)  # warmup step 1 of 2


def test_zero3_export_reloads_with_same_logits(tok, tmp_path, zero3_run):
    trainer, _, _ = zero3_run
    save_model(trainer.engine, tok, tmp_path / "model")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "model").eval()
    ids = torch.tensor([tok("def add_3(x):\n    return x + 3\n").input_ids])
    trainer.engine.eval()
    with torch.no_grad():
        live = trainer.engine(input_ids=ids).logits
        exported = reloaded(input_ids=ids).logits
    assert torch.allclose(live, exported, atol=1e-6, rtol=0), (live - exported).abs().max()
    assert not torch.allclose(exported, tiny.model(tok, seed=0).eval()(input_ids=ids).logits)


def _tiny_cli(out, *args):
    env = fresh_process_env(PYTHONPATH=str(REPO_ROOT))
    cmd = [sys.executable, "-m", "tests.train.tiny", "--out", str(out), *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def read_losses(path):
    """[(step, loss)] in log order (a resumed run logs some steps twice)."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["step"], r["metrics"]["train/loss"]) for r in records]


def test_sigkill_then_resume_gives_bitwise_same_losses_zero0(tmp_path):
    args = ["--parallel", "single", "--steps", "12", "--save-every", "4"]
    full = _tiny_cli(tmp_path / "full", *args)
    assert full.returncode == 0, full.stderr[-2000:]
    killed = _tiny_cli(tmp_path / "run", *args, "--kill-at-step", "7")
    assert killed.returncode == -9  # SIGKILL after step 7, newest checkpoint: step 4
    resumed = _tiny_cli(tmp_path / "run", *args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    expected = dict(read_losses(tmp_path / "full" / "log_rank0.jsonl"))
    got = read_losses(tmp_path / "run" / "log_rank0.jsonl")
    assert [s for s, _ in got] == [*range(1, 8), *range(5, 13)]  # steps 5-7 were run twice
    assert all(loss == expected[step] for step, loss in got)  # bitwise
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*"))
    assert kept == ["step_000008", "step_000012"]  # keep_last=2


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["zero2", "zero3_offload"])
def test_other_presets_match_zero0(tok, tmp_path, parallel):
    _, reference, _ = _run(tok, "single", tmp_path / "ref", steps=4)
    _, losses, _ = _run(tok, parallel, tmp_path / parallel, steps=4)
    assert max(abs(reference[s] - losses[s]) for s in reference) < 1e-4


def test_stage_configs_are_the_loops_settings():
    # One definition: the loop reads PretrainConfig / SFTConfig directly, and each names its
    # own group in errors.
    assert issubclass(SFTConfig, TrainConfig) and issubclass(PretrainConfig, TrainConfig)
    assert PretrainConfig().min_lr_ratio == 0.1  # what the loop always used for pretraining
    with pytest.raises(ValueError, match="pretrain.warmup_steps=10 exceeds pretrain.max_steps=9"):
        PretrainConfig(max_steps=9, warmup_steps=10)
    with pytest.raises(ValueError, match="sft.batch_size=10 must be a multiple"):
        SFTConfig(batch_size=10, micro_batch_size=4)
