"""Pooled hidden states: shapes, pooling by hand, batching and ordering invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xlt.analysis.hidden_states import pooled_hidden_states


def _reference_states(model, tokenizer, text):
    """[L+1, T, D] states of one unpadded text, and its special-token mask."""
    enc = tokenizer(text, return_special_tokens_mask=True)
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([enc["input_ids"]]), output_hidden_states=True)
    states = torch.stack(out.hidden_states)[:, 0].numpy()
    return states, np.array(enc["special_tokens_mask"], dtype=bool)


@pytest.fixture
def texts(tiny_programs):
    return list(tiny_programs.values())


def test_shape_and_mean_pooling_match_a_manual_forward(tiny_model, tiny_tokenizer, texts):
    pooled = pooled_hidden_states(tiny_model, tiny_tokenizer, texts, batch_size=4)
    num_layers = tiny_model.config.num_hidden_layers
    assert pooled.states_LND.shape == (num_layers + 1, len(texts), tiny_model.config.hidden_size)
    assert pooled.states_LND.dtype == np.float32
    for index in (0, len(texts) - 1):
        states, special = _reference_states(tiny_model, tiny_tokenizer, texts[index])
        assert special[0] and not special[1:].any()  # BOS is special and left out
        expected = states[:, ~special].mean(axis=1)
        np.testing.assert_allclose(pooled.states_LND[:, index], expected, rtol=1e-4, atol=1e-5)
    assert pooled.num_truncated == 0
    assert pooled.programs_per_s > 0


def test_last_token_pooling(tiny_model, tiny_tokenizer, texts):
    pooled = pooled_hidden_states(tiny_model, tiny_tokenizer, texts, pooling="last", batch_size=3)
    states, _ = _reference_states(tiny_model, tiny_tokenizer, texts[2])
    np.testing.assert_allclose(pooled.states_LND[:, 2], states[:, -1], rtol=1e-4, atol=1e-5)


def test_batching_and_sorting_do_not_change_the_result(tiny_model, tiny_tokenizer, texts):
    one_by_one = pooled_hidden_states(
        tiny_model, tiny_tokenizer, texts, batch_size=1, sort_by_length=False
    )
    batched = pooled_hidden_states(tiny_model, tiny_tokenizer, texts, batch_size=4)
    np.testing.assert_allclose(batched.states_LND, one_by_one.states_LND, rtol=1e-4, atol=1e-5)
    # Distinct programs give distinct vectors (the pooling is not a constant).
    assert not np.allclose(batched.states_LND[-1, 0], batched.states_LND[-1, 1])


def test_truncation_is_counted_and_training_mode_restored(tiny_model, tiny_tokenizer, texts):
    tiny_model.train()
    pooled = pooled_hidden_states(tiny_model, tiny_tokenizer, texts, max_tokens=8)
    assert tiny_model.training
    tiny_model.eval()
    assert pooled.num_tokens_N.max() == 8
    assert pooled.num_truncated == sum(len(tiny_tokenizer(t)["input_ids"]) > 8 for t in texts)
    assert pooled.num_truncated > 0


def test_bad_arguments_raise(tiny_model, tiny_tokenizer, texts):
    with pytest.raises(ValueError, match="pooling"):
        pooled_hidden_states(tiny_model, tiny_tokenizer, texts, pooling="max")
    with pytest.raises(ValueError, match="no tokens besides special"):
        pooled_hidden_states(tiny_model, tiny_tokenizer, ["", "x = 1"])
    with pytest.raises(ValueError, match="at least one"):
        pooled_hidden_states(tiny_model, tiny_tokenizer, [])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(tiny_model, tiny_tokenizer, texts):
    import copy

    on_gpu = copy.deepcopy(tiny_model).to("cuda")
    gpu = pooled_hidden_states(on_gpu, tiny_tokenizer, texts, batch_size=4)
    cpu = pooled_hidden_states(tiny_model, tiny_tokenizer, texts, batch_size=4)
    np.testing.assert_allclose(gpu.states_LND, cpu.states_LND, rtol=1e-3, atol=1e-3)
