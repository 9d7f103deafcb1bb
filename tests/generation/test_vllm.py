"""vLLM rollouts.

On CPU, with a fake engine that records what it is given (vLLM itself is GPU-only): prompts
arrive as token ids with exactly one BOS, every (prompt, sample, rank) has its own random
stream, sleep / wake / push / empty_cache come in upstream's order, a failed push fails
every rank, over-long prompts are dropped and counted.

On GPU (`pytest -m gpu`, skipped without CUDA or the `vllm` package, `pip install -e .[gpu]`):
after a weight push, vLLM's log-probs of its samples match the trainer's.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from types import ModuleType, SimpleNamespace

import pytest
import torch

from xlt.generation import SamplingParams

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


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm (.[gpu])")
def test_logprobs_match_trainer_after_weight_push(tmp_path, tiny_tokenizer):
    from xlt.generation.vllm import VLLMGenerator
    from xlt.models import build_tiny_model, save_model

    # head_dim 64: a size every vLLM attention backend supports
    model = build_tiny_model(tiny_tokenizer, 128, 2, 2, 256, 256, seed=0)
    save_model(model, tiny_tokenizer, tmp_path / "model")
    generator = VLLMGenerator.load(
        str(tmp_path / "model"),
        tiny_tokenizer,
        dtype="float32",
        max_model_len=256,
        gpu_memory_utilization=0.2,
        colocated=False,
    )
    model = model.cuda()
    generator.wake_and_push(model)  # load() left it asleep: wake it with the saved weights
    with torch.no_grad():  # stands in for an optimizer step
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    params = SamplingParams(max_new_tokens=24, temperature=1.0, n=4, seed=0, logprobs=True)
    stale = _mean_abs_diff(generator, model, tiny_tokenizer, params)

    generator.sleep()
    generator.wake_and_push(model)
    fresh = _mean_abs_diff(generator, model, tiny_tokenizer, params)
    print(f"mean |logp_vllm - logp_trainer|: before push {stale:.4g}, after push {fresh:.4g}")
    assert fresh < MEAN_ABS_LOGPROB_DIFF_MAX
    assert stale > 10 * fresh, "the push did not change vLLM's weights"


# ---------------------------------------------------------------- CPU, fake engine


class FakeLLM:
    """Records calls in order; generates one token per sample. A text prompt is tokenised
    with special tokens added, as vLLM does (`add_special_tokens` defaults to True)."""

    def __init__(self, tokenizer, fail_push=False):
        self.tokenizer, self.fail_push = tokenizer, fail_push
        self.calls, self.prompt_ids, self.sampling = [], [], []

    def generate(self, prompts, sampling, use_tqdm=False):
        self.calls.append("generate")
        for prompt in prompts:
            text = isinstance(prompt, str)
            self.prompt_ids.append(
                self.tokenizer(prompt)["input_ids"] if text else prompt["prompt_token_ids"]
            )
        sampling = sampling if isinstance(sampling, list) else [sampling] * len(prompts)
        self.sampling.extend(sampling)
        sample = SimpleNamespace(text="1", token_ids=[5], logprobs=[{5: SimpleNamespace(logprob=-0.5)}],
                                 finish_reason="stop")  # fmt: skip
        return [SimpleNamespace(outputs=[sample] * sp.n) for sp in sampling]

    def sleep(self, level=1):
        self.calls.append(f"sleep(level={level})")

    def wake_up(self, tags=None):
        self.calls.append(f"wake_up({tags})")

    def collective_rpc(self, method, timeout=None, args=(), kwargs=None):
        self.calls.append(f"collective_rpc({method})")
        for _ in itertools.islice(kwargs["weights_iterator"], 2):  # loads two, then may fail
            pass
        if self.fail_push:
            raise RuntimeError("loader broke")
        for _ in kwargs["weights_iterator"]:
            pass

    def reset_prefix_cache(self):
        self.calls.append("reset_prefix_cache")


@pytest.fixture
def fake_vllm(monkeypatch):
    """A stand-in `vllm` module whose SamplingParams keeps its keyword arguments."""
    module = ModuleType("vllm")
    module.SamplingParams = lambda **kw: SimpleNamespace(**kw)
    module.LLM = None  # set per test
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


@pytest.fixture(scope="module")
def llama3_tokenizer():
    from xlt.models import build_llama3_style_tokenizer

    return build_llama3_style_tokenizer(["def f(x):\n    return x + 1\n"] * 20, vocab_size=300)


def _load(fake_vllm, tokenizer, llm, **kw):
    from xlt.generation.vllm import VLLMGenerator

    fake_vllm.LLM = lambda **engine_kw: llm
    return VLLMGenerator.load("unused", tokenizer, **kw)


def test_prompts_go_as_token_ids_with_exactly_one_bos(fake_vllm, llama3_tokenizer):
    from xlt.generation.text import chat_prompt

    llm = FakeLLM(llama3_tokenizer)
    generator = _load(fake_vllm, llama3_tokenizer, llm, enable_sleep_mode=False)
    chat = chat_prompt(llama3_tokenizer, "Add one.", prefill="```python\n")
    assert chat.startswith("<|begin_of_text|>")  # the template renders BOS itself
    generator.generate([chat, "def f(x):\n"], SamplingParams(max_new_tokens=4, n=2))
    bos = llama3_tokenizer.bos_token_id
    assert [ids.count(bos) for ids in llm.prompt_ids] == [1, 1]
    assert all(ids[0] == bos for ids in llm.prompt_ids)


def test_seeds_differ_across_prompts_samples_and_ranks(fake_vllm, llama3_tokenizer):
    """vLLM seeds sample j of a request with `seed + j` (vllm/v1/engine/parallel_sampling.py);
    every (prompt, sample) stream on every rank must be distinct."""
    llm = FakeLLM(llama3_tokenizer)
    generator = _load(fake_vllm, llama3_tokenizer, llm, enable_sleep_mode=False)
    prompts, n = [f"def f{i}(x):\n" for i in range(8)], 4
    for rank in (0, 1):  # the RL trainer's per-rank rollout seeds for step 3, seed 0
        seed = (0 * 1_000_003 + 3) * 1009 + rank
        generator.generate(prompts, SamplingParams(max_new_tokens=4, n=n, seed=seed))
    streams = [sp.seed + j for sp in llm.sampling for j in range(sp.n)]
    assert len(llm.sampling) == 16 and len(streams) == 64
    assert len(set(streams)) == 64


def test_sleep_wake_push_order_is_upstreams(fake_vllm, llama3_tokenizer, tiny_model, monkeypatch):
    llm = FakeLLM(llama3_tokenizer)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: llm.calls.append("empty_cache"))
    generator = _load(fake_vllm, llama3_tokenizer, llm, enable_sleep_mode=True)
    assert llm.calls == ["sleep(level=2)"]  # asleep from the start: the trainer pushes first
    with pytest.raises(RuntimeError, match="asleep"):
        generator.generate(["x"], SamplingParams(max_new_tokens=2))
    generator.wake_and_push(tiny_model)
    generator.generate(["def f(x):\n"], SamplingParams(max_new_tokens=2))
    generator.sleep()
    assert llm.calls == [
        "sleep(level=2)",
        "wake_up(['weights'])",
        "collective_rpc(reload_weights)",
        "empty_cache",
        "wake_up(['kv_cache'])",
        "reset_prefix_cache",
        "generate",
        "sleep(level=2)",
    ]


def test_a_failed_push_fails_every_rank_after_the_gathers(
    fake_vllm, llama3_tokenizer, tiny_model, monkeypatch
):
    import xlt.generation.vllm as vllm_module

    real_stream = vllm_module.gathered_named_parameters
    num_tensors = len(list(real_stream(tiny_model)))
    pulled = []  # stands in for the collective gathers this rank joined

    def counting(model):
        for item in real_stream(model):
            pulled.append(item[0])
            yield item

    monkeypatch.setattr(vllm_module, "gathered_named_parameters", counting)
    llm = FakeLLM(llama3_tokenizer, fail_push=True)
    generator = _load(fake_vllm, llama3_tokenizer, llm, enable_sleep_mode=False)
    verdicts = []  # what this rank told the others
    with pytest.raises(RuntimeError, match="loader broke"):
        generator.push_weights(
            tiny_model, any_rank_failed=lambda here: verdicts.append(here) or here
        )
    # the failing rank still joined every gather (the other ranks were in them), then said so
    assert len(pulled) == num_tensors and verdicts == [True]
    # a rank whose own load succeeded raises too when another rank failed
    pulled.clear()
    generator.llm = FakeLLM(llama3_tokenizer)
    with pytest.raises(RuntimeError, match="another rank"):
        generator.push_weights(tiny_model, any_rank_failed=lambda here: True)
    assert len(pulled) == num_tensors


def test_over_long_prompts_are_dropped_and_counted(fake_vllm, llama3_tokenizer):
    llm = FakeLLM(llama3_tokenizer)
    generator = _load(fake_vllm, llama3_tokenizer, llm, enable_sleep_mode=False, max_model_len=16)
    short, long = "def f(x):\n", "x = 1\n" * 40  # 40 lines: well over 16 tokens in any BPE
    assert len(llama3_tokenizer(long)["input_ids"]) > 16
    out = generator.generate([short, long, short], SamplingParams(max_new_tokens=4, n=2))
    assert len(llm.prompt_ids) == 2  # the long prompt never reached the engine
    assert [len(samples) for samples in out] == [2, 2, 2]  # [prompt][sample] kept
    assert [c.finish_reason for c in out[1]] == ["length", "length"] and out[1][0].text == ""
    assert out[0][0].text == "1" and generator.num_dropped_prompts == 1
