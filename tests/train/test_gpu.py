"""GPU path: bf16 on CUDA (ZeRO-0 and ZeRO-3 in one process), loss falls, export reloads."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.train import tiny
from xlt.models import save_model
from xlt.train.engine import ParallelPlan
from xlt.train.loop import CausalLMTrainer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


class ListTracker:
    def log(self, metrics, step):
        pass


@pytest.mark.parametrize("parallel", ["single", "zero3"])
def test_bf16_training_on_gpu_falls_and_exports(tmp_path, parallel):
    tok = tiny.tokenizer()
    trainer = CausalLMTrainer(
        tiny.model(tok), tiny.examples(tok, "sft"), ParallelPlan.preset(parallel),
        tiny.settings(10), ckpt_dir=tmp_path / "ckpt", tracker=ListTracker(),
        pad_id=tok.pad_token_id,
    )  # fmt: skip
    trainer.setup()
    assert trainer.engine.bfloat16_enabled()  # bf16 is the default where CUDA is available
    losses = trainer.train()
    assert losses[10] < losses[1] - 0.5
    save_model(trainer.engine, tok, tmp_path / "model")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "model", dtype=torch.bfloat16).cuda()
    ids = torch.tensor([tok("def add_3(x):\n").input_ids], device="cuda")
    trainer.engine.eval()
    with torch.no_grad():
        live = trainer.engine(input_ids=ids).logits.float()
        exported = reloaded(input_ids=ids).logits.float()
    assert torch.allclose(live, exported, atol=1e-2)
    trainer.cleanup()
