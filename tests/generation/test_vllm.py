"""vLLM rollouts: after a weight push, vLLM's log-probs of its samples match the trainer's.

GPU only: skipped without CUDA or without the `vllm` package (`pip install -e .[gpu]`).
Run with `pytest -m gpu tests/generation/test_vllm.py`.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from xlt.generation import SamplingParams

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm (.[gpu])"),
]

# fp32 on both sides: what remains is kernel-order error, far below this.
MEAN_ABS_LOGPROB_DIFF_MAX = 2e-3
PROMPTS = ["def f(x):\n", "local function g(", "def add(a, b):\n    return"]


def _trainer_logprobs(model, tokenizer, prompt, token_ids, temperature):
    prompt_ids = tokenizer(prompt)["input_ids"]
    ids = torch.tensor([prompt_ids + list(token_ids)], device="cuda")
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1 : -1].float()
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return logp.gather(1, torch.tensor(token_ids, device="cuda")[:, None]).squeeze(1).cpu()


def _mean_abs_diff(generator, model, tokenizer, params):
    outs = generator.generate(PROMPTS, params)
    diffs = []
    for prompt, samples in zip(PROMPTS, outs, strict=True):
        for c in samples:
            expected = _trainer_logprobs(model, tokenizer, prompt, c.token_ids, params.temperature)
            diffs.append((torch.tensor(c.logprobs) - expected).abs())
    return torch.cat(diffs).mean().item()


def test_logprobs_match_trainer_after_weight_push(tmp_path, tiny_tokenizer):
    from xlt.generation.vllm import VLLMGenerator
    from xlt.models import build_tiny_model, save_model

    # head_dim 64: a size every vLLM attention backend supports
    model = build_tiny_model(tiny_tokenizer, 128, 2, 2, 256, 256, seed=0)
    save_model(model, tiny_tokenizer, tmp_path / "model")
    generator = VLLMGenerator(
        str(tmp_path / "model"),
        dtype="float32",
        max_model_len=256,
        gpu_memory_utilization=0.2,
    )
    model = model.cuda()
    with torch.no_grad():  # stands in for an optimizer step
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    params = SamplingParams(max_new_tokens=24, temperature=1.0, n=4, seed=0, logprobs=True)
    stale = _mean_abs_diff(generator, model, tiny_tokenizer, params)

    generator.sleep()
    generator.wake_up()
    generator.push_weights(model)
    fresh = _mean_abs_diff(generator, model, tiny_tokenizer, params)
    print(f"mean |logp_vllm - logp_trainer|: before push {stale:.4g}, after push {fresh:.4g}")
    assert fresh < MEAN_ABS_LOGPROB_DIFF_MAX
    assert stale > 10 * fresh, "the push did not change vLLM's weights"
