"""The models API: offline tokenizer training, tiny models, HF save/load round trip."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from xlt.models import build_tiny_model, build_tokenizer, load_model, load_tokenizer, save_model

TEXTS = ["def add(x, y):\n    return x + y\n", "local t = {}\nfor i = 1, 3 do t[i] = i end\n"] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(TEXTS, vocab_size=300)  # vocab shrunk for speed


def _tiny(tokenizer, seed=0):
    # hidden 32, 2 layers: the smallest Llama that exercises every module
    return build_tiny_model(tokenizer, 32, 2, 4, 64, max_seq_len=64, seed=seed)


def test_tokenizer_round_trips_code_with_whitespace(tokenizer):
    text = "def f(a):\n\treturn  a * 2  # two spaces\n"
    ids = tokenizer(text).input_ids
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(tokenizer) <= 300
    assert {tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id} == {0, 1, 2}


def test_tokenizer_rejects_vocab_smaller_than_bytes():
    with pytest.raises(ValueError, match="vocab_size >= 259"):
        build_tokenizer(TEXTS, vocab_size=100)


def test_tiny_model_is_deterministic_per_seed(tokenizer):
    a, b, c = _tiny(tokenizer, 0), _tiny(tokenizer, 0), _tiny(tokenizer, 1)
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)
    assert a.config.vocab_size == len(tokenizer)
    assert a.config.max_position_embeddings == 64


def test_tiny_model_rejects_heads_not_dividing_hidden(tokenizer):
    with pytest.raises(ValueError, match="divisible"):
        build_tiny_model(tokenizer, 30, 2, 4, 64, max_seq_len=64, seed=0)


def test_save_then_load_gives_same_logits_and_tokenizer(tokenizer, tmp_path):
    model = _tiny(tokenizer).eval()
    save_model(model, tokenizer, tmp_path / "m")
    ids = torch.tensor([tokenizer(TEXTS[0]).input_ids])
    for reloaded in (
        load_model(tmp_path / "m"),
        AutoModelForCausalLM.from_pretrained(tmp_path / "m"),
    ):
        with torch.no_grad():
            assert torch.equal(model(ids).logits, reloaded.eval()(ids).logits)
    for tok in (load_tokenizer(tmp_path / "m"), AutoTokenizer.from_pretrained(tmp_path / "m")):
        assert tok(TEXTS[1]).input_ids == tokenizer(TEXTS[1]).input_ids
        assert tok.pad_token_id == tokenizer.pad_token_id


def test_save_model_rejects_other_objects(tokenizer, tmp_path):
    with pytest.raises(TypeError, match="PreTrainedModel or a DeepSpeed engine"):
        save_model(torch.nn.Linear(2, 2), tokenizer, tmp_path)
