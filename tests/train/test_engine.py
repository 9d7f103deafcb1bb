"""Engine set-up: DeepSpeed config rendering and the checks that fail before training."""

import pytest

from tests.train import tiny
from xlt.train.config import PRESETS, ParallelPlan, TrainConfig
from xlt.train.engine import check_batch_layout, deepspeed_config
from xlt.train.loop import CausalLMTrainer


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_render_their_zero_stage(name):
    plan = ParallelPlan.preset(name)
    config = deepspeed_config(plan, micro_batch_size=2, grad_accum_steps=3, grad_clip=1.0)
    zero = config["zero_optimization"]
    assert zero["stage"] == PRESETS[name]["zero_stage"]
    assert ("offload_optimizer" in zero) == PRESETS[name]["offload_optimizer"]
    assert ("offload_param" in zero) == PRESETS[name]["offload_params"]
    assert config["train_batch_size"] == 2 * 3 * 1  # one rank here
    assert config["bf16"]["enabled"] is False  # CPU: fp32
    assert "optimizer" not in config  # a torch optimizer is handed in: no JIT-compiled op


def test_unknown_preset_and_bad_plans_name_the_fix():
    with pytest.raises(ValueError, match="choose one of"):
        ParallelPlan.preset("zero4")
    with pytest.raises(ValueError, match="needs zero_stage=3"):
        ParallelPlan(zero_stage=2, offload_params=True)


def test_batch_layout_gives_accumulation_or_names_the_fix():
    assert check_batch_layout(16, 2, 4) == 2
    with pytest.raises(ValueError, match="multiple of 8"):
        check_batch_layout(12, 4, 2)  # ZeRO-3 over 2 ranks, micro-batch 4: 12 does not split


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer()


def _trainer(tok, tmp_path, **overrides):
    fields = dict(
        max_steps=2, batch_size=4, micro_batch_size=2, seq_len=tiny.SEQ_LEN, lr=1e-3, warmup_steps=0
    )
    fields.update(overrides)
    return CausalLMTrainer(
        tiny.model(tok),
        tiny.examples(tok, "sft"),
        ParallelPlan.preset("zero3"),
        TrainConfig(**fields),
        ckpt_dir=tmp_path,
        tracker=None,
        pad_id=tok.pad_token_id,
    )


def test_sequence_longer_than_model_fails_before_training(tok, tmp_path):
    with pytest.raises(ValueError, match="lower seq_len to <= 64"):
        _trainer(tok, tmp_path, seq_len=128)  # the tiny model has 64 positions


def test_batch_not_dividing_fails_before_training(tok, tmp_path):
    with pytest.raises(
        ValueError, match="batch_size=5 must be a multiple of train.micro_batch_size"
    ):
        _trainer(tok, tmp_path, batch_size=5)
