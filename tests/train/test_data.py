"""Data for training: completion-only masking, packing, padding, a resumable data order."""

import pytest
import torch

from xlt.models import build_tiny_model, build_tokenizer
from xlt.train.data import (
    IGNORE_INDEX,
    DataOrder,
    TokenExample,
    build_sft_examples,
    collate,
    pack_pretrain,
    sft_example,
)
from xlt.train.loop import next_token_targets, token_loss_sum

CORPUS = ["def f(x):\n    return x + 1\n", "print(f(2))\n", "local y = 3\n"] * 10


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(CORPUS, vocab_size=300)  # vocab shrunk for speed


def test_plain_format_masks_prompt_and_keeps_response(tok):
    prompt, response = "def f(x):\n", "    return x + 1\n"
    ex = sft_example(tok, prompt, response, max_seq_len=64, chat=False)
    prompt_ids = [tok.bos_token_id, *tok(prompt, add_special_tokens=False).input_ids]
    response_ids = [*tok(response, add_special_tokens=False).input_ids, tok.eos_token_id]
    assert ex.input_ids == prompt_ids + response_ids
    assert ex.labels == [IGNORE_INDEX] * len(prompt_ids) + response_ids
    assert ex.num_loss_tokens == len(response_ids)


def test_prompt_tokens_carry_no_loss_and_response_tokens_do(tok):
    ex = sft_example(tok, "def f(x):\n", "    return x + 1\n", max_seq_len=64, chat=False)
    batch = collate([ex], tok.pad_token_id)
    logits = torch.randn(1, len(ex.input_ids), len(tok), requires_grad=True)
    token_loss_sum(logits, batch["labels"]).backward()
    grad_norm_per_position = logits.grad[0].norm(dim=-1)
    n_prompt = ex.labels.index(next(label for label in ex.labels if label != IGNORE_INDEX))
    # Position t predicts token t+1: positions before the last prompt token predict prompt tokens.
    assert torch.all(grad_norm_per_position[: n_prompt - 1] == 0)
    assert torch.all(grad_norm_per_position[n_prompt - 1 : -1] > 0)
    assert grad_norm_per_position[-1] == 0  # nothing follows the last token


def test_loss_positions_are_the_response_tokens_only(tok):
    ex = sft_example(tok, "def f(x):\n", "    return x + 1\n", max_seq_len=64, chat=False)
    pad = TokenExample([tok.bos_token_id, 5, 6], [IGNORE_INDEX, 5, 6])  # shorter row: padded
    batch = collate([ex, pad], tok.pad_token_id)
    keep_BT, targets_N = next_token_targets(batch["labels"])
    n_prompt = sum(label == IGNORE_INDEX for label in ex.labels)
    response = ex.input_ids[n_prompt:]
    # Row 0: the position before each response token predicts it; nothing else is kept.
    assert keep_BT[0].nonzero().flatten().tolist() == list(
        range(n_prompt - 1, len(ex.input_ids) - 1)
    )
    assert keep_BT[1].nonzero().flatten().tolist() == [0, 1]  # padding positions dropped
    assert targets_N.tolist() == [*response, 5, 6]


def test_selected_logits_give_the_full_logits_loss(tok):
    model = build_tiny_model(tok, 32, 2, 4, 64, max_seq_len=64, seed=0)
    examples = [
        sft_example(tok, p, r, 64, chat=False)
        for p, r in [("def f(x):\n", "  return x\n"), ("a", "b c")]
    ]
    batch = collate(examples, tok.pad_token_id)
    full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    keep_BT, targets_N = next_token_targets(batch["labels"])
    kept = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep_BT
    ).logits
    assert kept.shape == (int(keep_BT.sum()), len(tok))
    selected = torch.nn.functional.cross_entropy(kept, targets_N, reduction="sum")
    assert torch.allclose(selected, token_loss_sum(full, batch["labels"]), rtol=1e-5)


def test_chat_template_masks_everything_before_the_assistant_reply(tok):
    chat_tok = build_tokenizer(CORPUS, vocab_size=300)
    chat_tok.chat_template = (
        "{% for m in messages %}<|bos|>{{ m['role'] }}\n{{ m['content'] }}<|eos|>{% endfor %}"
        "{% if add_generation_prompt %}<|bos|>assistant\n{% endif %}"
    )
    ex = sft_example(chat_tok, "add one", "x + 1", max_seq_len=64, chat=True)
    learned = chat_tok.decode([t for t in ex.labels if t != IGNORE_INDEX])
    assert learned == "x + 1<|eos|>"
    prompt_part = chat_tok.decode(
        [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab == IGNORE_INDEX]
    )
    assert prompt_part == "<|bos|>user\nadd one<|eos|><|bos|>assistant\n"


def test_chat_requested_without_template_names_the_fix(tok):
    with pytest.raises(ValueError, match="model.chat=false"):
        sft_example(tok, "a", "b", max_seq_len=64, chat=True)


def test_truncation_keeps_prefix_and_drops_examples_without_response(tok):
    records = [
        {"prompt": "print(f(2))\n" * 8, "response": "x"},
        {"prompt": "a", "response": "b" * 40},
    ]
    examples, counts = build_sft_examples(records, tok, max_seq_len=12)
    assert counts == {"examples": 1, "dropped": 1, "truncated": 1}
    assert len(examples[0].input_ids) == 12


def test_pack_pretrain_makes_full_blocks_with_eos_between_documents(tok):
    blocks = pack_pretrain(CORPUS, tok, seq_len=16)
    stream = [t for b in blocks for t in b.input_ids]
    assert all(len(b.input_ids) == 16 and b.labels == b.input_ids for b in blocks)
    assert stream.count(tok.eos_token_id) >= len(stream) // 16 - 1  # one per (short) document
    assert stream[:2] == [tok.bos_token_id, tok("def", add_special_tokens=False).input_ids[0]]


def test_collate_pads_right_and_drops_mask_when_unpadded(tok):
    a, b = TokenExample([5, 6, 7], [IGNORE_INDEX, 6, 7]), TokenExample([8, 9], [8, 9])
    batch = collate([a, b], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, 6, 7], [8, 9, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert collate([a, a], pad_id=0)["attention_mask"] is None


def test_data_order_is_disjoint_across_ranks_and_reproducible():
    order = DataOrder(num_examples=10, micro_batch_size=2, num_ranks=2, seed=3)
    assert order.micro_steps_per_epoch == 2
    epoch0 = [i for step in range(2) for r in range(2) for i in order.indices(step, r)]
    assert len(set(epoch0)) == 8  # 2 left over, skipped
    assert order.indices(5, 1) == DataOrder(10, 2, 2, seed=3).indices(5, 1)
    assert order.indices(0, 0) != order.indices(2, 0) or order.indices(0, 1) != order.indices(2, 1)


def test_data_order_rejects_too_little_data():
    with pytest.raises(ValueError, match="shrink micro_batch_size"):
        DataOrder(num_examples=3, micro_batch_size=2, num_ranks=2, seed=0)


def test_length_grouped_order_pads_less_and_still_covers_the_epoch():
    lengths = tuple((i * 37) % 200 + 10 for i in range(256))  # varied lengths, deterministic
    plain = DataOrder(256, micro_batch_size=8, num_ranks=2, seed=0)
    grouped = DataOrder(256, micro_batch_size=8, num_ranks=2, seed=0, lengths=lengths)

    def padded_tokens(order):
        return sum(
            8 * max(lengths[i] for i in order.indices(step, r))
            for step in range(16)
            for r in (0, 1)
        )

    seen = [i for step in range(16) for r in (0, 1) for i in grouped.indices(step, r)]
    assert sorted(seen) == list(range(256))  # each example once per epoch
    assert padded_tokens(grouped) < 0.8 * padded_tokens(plain)
    assert grouped.indices(16, 0) != grouped.indices(0, 0)  # the next epoch is reshuffled
