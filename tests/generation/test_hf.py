"""HFGenerator on a tiny random model: shapes, seeding, stop sequences, log-probs."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from xlt.generation import HFGenerator, SamplingParams

PROMPTS = ["def f(x):\n", "local function g(", "def add(a, b):\n    return"]


def _recomputed_logprobs(model, tokenizer, prompt, token_ids, temperature):
    """Log-probs of `token_ids` after `prompt` from one plain forward pass."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    ids = torch.tensor([prompt_ids + list(token_ids)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1 : -1].float()
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return logp.gather(1, torch.tensor(token_ids)[:, None]).squeeze(1), logits


def test_shape_and_finish_reasons(tiny_model, tiny_tokenizer):
    params = SamplingParams(max_new_tokens=8, temperature=1.0, n=3, seed=1)
    # batch_size 4 < 3 prompts x 3 samples: exercises chunking
    out = HFGenerator(tiny_model, tiny_tokenizer, batch_size=4).generate(PROMPTS, params)
    assert [len(samples) for samples in out] == [3, 3, 3]
    for samples in out:
        for c in samples:
            assert 1 <= len(c.token_ids) <= 8
            assert c.logprobs is None
            assert c.finish_reason == ("length" if len(c.token_ids) == 8 else "stop")
            assert c.text == tiny_tokenizer.decode(list(c.token_ids), skip_special_tokens=True)


def test_seeded_and_leaves_global_rng_alone(tiny_model, tiny_tokenizer):
    gen = HFGenerator(tiny_model, tiny_tokenizer)
    params = SamplingParams(max_new_tokens=12, temperature=1.0, n=4, seed=7)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = gen.generate(PROMPTS, params)
    assert torch.equal(torch.rand(3), expected_next)
    assert gen.generate(PROMPTS, params) == first
    other = gen.generate(PROMPTS, SamplingParams(max_new_tokens=12, temperature=1.0, n=4, seed=8))
    assert other != first


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_logprobs_match_a_forward_pass(tiny_model, tiny_tokenizer, temperature):
    params = SamplingParams(max_new_tokens=10, temperature=temperature, n=2, seed=3, logprobs=True)
    out = HFGenerator(tiny_model, tiny_tokenizer).generate(PROMPTS, params)
    for prompt, samples in zip(PROMPTS, out, strict=True):
        for c in samples:
            expected, _ = _recomputed_logprobs(
                tiny_model, tiny_tokenizer, prompt, c.token_ids, temperature
            )
            assert len(c.logprobs) == len(c.token_ids)
            # left padding + KV cache vs one unpadded forward: equal up to float error
            assert torch.allclose(torch.tensor(c.logprobs), expected, atol=1e-4)


def test_greedy_follows_the_argmax(tiny_model, tiny_tokenizer):
    params = SamplingParams(max_new_tokens=10, temperature=0.0, logprobs=True)
    [[c]] = HFGenerator(tiny_model, tiny_tokenizer).generate(PROMPTS[:1], params)
    _, logits = _recomputed_logprobs(tiny_model, tiny_tokenizer, PROMPTS[0], c.token_ids, 1.0)
    assert list(c.token_ids) == logits.argmax(-1).tolist()


def test_stop_sequence_cuts_text_and_keeps_the_stopping_token(tiny_model, tiny_tokenizer):
    gen = HFGenerator(tiny_model, tiny_tokenizer)
    greedy = SamplingParams(max_new_tokens=24, temperature=0.0)
    [[free]] = gen.generate(PROMPTS[:1], greedy)
    assert len(free.text) > 6, "need some text to pick a stop sequence from"
    stop = free.text[3:5]
    cut_at = free.text.find(stop)
    [[stopped]] = gen.generate(PROMPTS[:1], replace(greedy, stop=(stop,)))
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut_at]
    assert stopped.token_ids == free.token_ids[: len(stopped.token_ids)]
    decoded = tiny_tokenizer.decode(list(stopped.token_ids))
    assert stop in decoded
    assert stop not in tiny_tokenizer.decode(list(stopped.token_ids[:-1]))


def test_sampling_params_validation():
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ValueError, match="greedy"):
        SamplingParams(temperature=0, n=2)
    with pytest.raises(ValueError, match="non-empty"):
        SamplingParams(stop=("",))


def test_stops_at_every_eos_id_of_the_generation_config(tiny_model, tiny_tokenizer):
    import copy

    model = copy.deepcopy(tiny_model)
    prompt_ids = tiny_tokenizer(PROMPTS[0])["input_ids"]
    with torch.no_grad():  # the greedy first token, from a plain forward pass
        first = int(model(torch.tensor([prompt_ids])).logits[0, -1].argmax())
    assert first != tiny_tokenizer.eos_token_id
    # like Llama-3.1-Instruct: the tokenizer names one EOS, generation_config several
    model.generation_config.eos_token_id = [tiny_tokenizer.eos_token_id, first]
    params = SamplingParams(max_new_tokens=8, temperature=0.0)
    [[c]] = HFGenerator(model, tiny_tokenizer).generate([PROMPTS[0]], params)
    assert c.token_ids == (first,) and c.finish_reason == "stop"


def test_left_padding_is_per_call_and_never_saved(tiny_model, tiny_tokenizer, tmp_path):
    import json

    from xlt.models import save_model

    assert tiny_tokenizer.padding_side == "right"
    params = SamplingParams(max_new_tokens=4, temperature=0.0)
    batched = HFGenerator(tiny_model, tiny_tokenizer).generate(PROMPTS, params)
    alone = HFGenerator(tiny_model, tiny_tokenizer).generate(PROMPTS[:1], params)
    assert batched[0][0].token_ids == alone[0][0].token_ids  # padded on the left in the batch
    assert tiny_tokenizer.padding_side == "right"
    save_model(tiny_model, tiny_tokenizer, tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["padding_side"] == "right"
