"""The pretrain and SFT stages end to end on a tiny corpus (micro scale, shrunk further)."""

import json
from dataclasses import replace

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.train import tiny
from xlt.config import ModelConfig, ParallelPlan, PretrainConfig, SFTConfig
from xlt.models import load_tokenizer
from xlt.pipeline import StageContext
from xlt.stages import pretrain, sft


class ListTracker:
    def __init__(self):
        self.records = []

    def log(self, metrics, step):
        self.records.append((step, metrics))


def _write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture()
def cfg():
    # Shrunk for speed: hidden 32, 2 layers, vocab 300, 32-token sequences, 6 steps.
    train = dict(max_steps=6, batch_size=4, micro_batch_size=2, seq_len=32, lr=3e-3,
                 warmup_steps=1, save_every=3, keep_last=1)  # fmt: skip
    model = ModelConfig(
        vocab_size=300, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64,
        max_seq_len=64,
    )  # fmt: skip
    plan = ParallelPlan.preset("zero3")
    return {
        "pretrain": pretrain.PretrainSpec(model, PretrainConfig(**train), plan),
        "sft": sft.SFTSpec(model, SFTConfig(**train), plan),
    }


def test_pretrain_then_sft_write_loadable_models(cfg, tmp_path):
    data = tmp_path / "data"
    _write_jsonl(data / "corpus.jsonl", [{"text": t, "language": "py"} for t in tiny.corpus()])
    sft_records = [{**r, "language": "py", "task": str(i), "source": "test"}
                   for i, r in enumerate(tiny.sft_records())]  # fmt: skip
    _write_jsonl(data / "sft.jsonl", sft_records)
    tracker = ListTracker()

    pre_out = tmp_path / "pretrain"
    pretrain.run(StageContext(cfg["pretrain"], {"data": data}, pre_out, tracker, seed=0))
    sft_out = tmp_path / "sft"
    inputs = {"pretrain": pre_out, "data": data}
    sft.run(StageContext(cfg["sft"], inputs, sft_out, tracker, seed=0))

    keys = {key for _, metrics in tracker.records for key in metrics}
    assert {"pretrain/loss", "train/loss", "train/tokens_per_s", "sft/examples"} <= keys
    pre_losses = [m["pretrain/loss"] for _, m in tracker.records if "pretrain/loss" in m]
    assert len(pre_losses) == 6 and pre_losses[-1] < pre_losses[0]
    assert not (pre_out / "checkpoints").exists()  # deleted once the model is written
    sft_losses = [m["train/loss"] for _, m in tracker.records if "train/loss" in m]
    # SFT starts from the pretrained weights (loaded into ZeRO-3 shards), not from scratch (~5.7).
    assert sft_losses[0] < pre_losses[0] - 0.2 and sft_losses[-1] < sft_losses[0]

    base = AutoModelForCausalLM.from_pretrained(pre_out / "model")
    tuned = AutoModelForCausalLM.from_pretrained(sft_out / "model")
    tok = load_tokenizer(sft_out / "model")
    ids = torch.tensor([tok("# add 3 to x\ndef add_3(x):\n").input_ids])
    assert base.config.hidden_size == 32 and len(tok) <= 300
    assert not torch.allclose(base(ids).logits, tuned(ids).logits)


def test_sft_sequence_longer_than_model_fails_before_loading(cfg, tmp_path):
    spec = replace(cfg["sft"], sft=SFTConfig(seq_len=128, batch_size=4, micro_batch_size=2))
    pre = tmp_path / "pre" / "model"
    tiny.model(tiny.tokenizer()).save_pretrained(pre)  # 64 positions
    ctx = StageContext(
        spec, {"pretrain": pre.parent, "data": tmp_path}, tmp_path / "o", None, seed=0
    )
    with pytest.raises(ValueError, match="set sft.seq_len <= 64"):
        sft.run(ctx)


def test_sft_config_batch_not_splitting_over_ranks_names_the_fix(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun --nproc_per_node 2
    with pytest.raises(ValueError, match="multiple of 8"):
        SFTConfig(batch_size=12, micro_batch_size=4)
    SFTConfig(batch_size=16, micro_batch_size=4)  # splits: fine
