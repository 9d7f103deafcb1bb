"""Checkpoint helpers: newest complete checkpoint wins, torn ones are ignored, RNG restored."""

import random

import numpy as np
import pytest
import torch

from tests.train import tiny
from xlt.train.checkpoint import (
    DONE_MARKER,
    capture_rng_state,
    complete_checkpoints,
    load_latest_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from xlt.train.engine import ParallelPlan, setup_engine


def test_rng_state_round_trip():
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(2))
    restore_rng_state(state)
    second = (random.random(), np.random.rand(), torch.rand(2))
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])


@pytest.fixture()
def engine():
    model = tiny.model(tiny.tokenizer())
    return setup_engine(
        model, ParallelPlan.preset("single"), lr=1e-3, micro_batch_size=1, total_steps=5
    )


def test_newest_complete_checkpoint_is_loaded_and_old_ones_pruned(engine, tmp_path):
    weight = engine.module.lm_head.weight
    for step in (1, 2, 3):
        with torch.no_grad():
            weight.fill_(float(step))
        save_checkpoint(engine, tmp_path, step, {"position": step * 10}, keep_last=2)
    draw_after_save = torch.rand(3)
    assert [s for s, _ in complete_checkpoints(tmp_path)] == [2, 3]
    torn = tmp_path / "step_000004"  # a save killed before its DONE marker
    torn.mkdir()
    with torch.no_grad():
        weight.fill_(0.0)
    torch.manual_seed(123)  # move the RNG away from the saved state
    assert load_latest_checkpoint(engine, tmp_path) == (3, {"position": 30})
    assert torch.all(weight == 3.0)
    assert torch.equal(torch.rand(3), draw_after_save)  # RNG back where the save left it
    assert (tmp_path / "step_000003" / DONE_MARKER).exists() and not (torn / DONE_MARKER).exists()


def test_nothing_to_resume_returns_none(engine, tmp_path):
    assert load_latest_checkpoint(engine, tmp_path / "absent") is None


def test_keep_last_must_be_positive(engine, tmp_path):
    with pytest.raises(ValueError, match="keep at least one"):
        save_checkpoint(engine, tmp_path, 1, {}, keep_last=0)


def test_saved_config_names_the_dtype_of_the_saved_tensors(tmp_path, monkeypatch):
    import json

    from safetensors import safe_open

    import xlt.models
    from xlt.models import save_model

    tok = tiny.tokenizer()
    model = tiny.model(tok)  # fp32 parameters, as the module reports them
    # what a DeepSpeed bf16 engine's gather hands over: bf16 copies of every weight
    gather = xlt.models._full_state_dict
    monkeypatch.setattr(
        xlt.models, "_full_state_dict", lambda m: {k: v.bfloat16() for k, v in gather(m).items()}
    )
    save_model(model, tok, tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (not a dict)
    assert dtypes == {"BF16"}
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
