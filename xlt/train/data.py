"""Token data for the training loop: pretraining blocks, SFT examples, batching, data order.

- **pretrain**: documents are tokenized (BOS ... EOS), concatenated and cut into fixed-length
  blocks; every token carries loss. Documents share a block and attend across their boundary,
  as in ordinary LM pretraining (the EOS marks it).
- **SFT**: one example per (prompt, response). Instruct models (`chat=True`) get the tokenizer's
  chat template: the prompt as the user turn, the response as the assistant turn. Other models
  get plain completion format: `BOS prompt response EOS`. Loss falls on response tokens (and the
  closing EOS / end-of-turn) only; prompt tokens get label -100.
  Examples are **padded** to the longest in their micro-batch, not packed: packing without
  cross-example attention needs per-example attention masks, which only flash-attention varlen
  kernels run efficiently (GPU); padding is exact on every attention backend, and with
  length-grouped batches little compute goes to padding.
- **order**: `DataOrder.indices(micro_step, rank)` is a pure function of (seed, micro-step, rank), so the
  data position is one integer and a resumed run sees the same batches as an uninterrupted one.
  SFT batches are length-grouped (see `DataOrder`), which keeps padding small.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100  # label value the loss skips (torch cross_entropy's default ignore_index)


@dataclass(frozen=True)
class TokenExample:
    input_ids: list[int]
    labels: list[int]  # same length; IGNORE_INDEX where no loss is taken

    @property
    def num_loss_tokens(self) -> int:
        """Tokens that are predicted with loss (labels are shifted by one inside the loss)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE_INDEX)


def pack_pretrain(texts: Iterable[str], tokenizer, seq_len: int) -> list[TokenExample]:
    """Concatenate tokenized documents (BOS text EOS) and cut full `seq_len` blocks; the tail that
    does not fill a block is dropped."""
    stream: list[int] = []
    for text in texts:
        stream.extend(_with_bos(tokenizer, tokenizer(text, add_special_tokens=False).input_ids))
        stream.append(tokenizer.eos_token_id)
    blocks = [stream[i : i + seq_len] for i in range(0, len(stream) - seq_len + 1, seq_len)]
    if not blocks:
        raise ValueError(
            f"the corpus has {len(stream)} tokens, fewer than one block of seq_len={seq_len}; "
            "add text or lower seq_len"
        )
    return [TokenExample(block, list(block)) for block in blocks]


def sft_example(
    tokenizer, prompt: str, response: str, max_seq_len: int, chat: bool
) -> TokenExample | None:
    """One SFT example with completion-only labels, truncated to `max_seq_len` tokens.

    `chat=True` (instruct models) formats through the tokenizer's chat template, else plain
    completion format. Returns None when truncation would leave no response token to learn from.
    """
    if chat:
        if not tokenizer.chat_template:
            raise ValueError(
                "model.chat=true but the tokenizer has no chat template; set model.chat=false "
                "for a base model (plain completion format)"
            )
        # Render text, split at the prompt's end, tokenize the halves: the prompt tokens are then
        # exactly those a generator sees for the same rendered prompt.
        user = [{"role": "user", "content": prompt}]
        prompt_text = _chat_text(tokenizer, user, add_generation_prompt=True)
        full_text = _chat_text(
            tokenizer,
            [*user, {"role": "assistant", "content": response}],
            add_generation_prompt=False,
        )
        if not full_text.startswith(prompt_text):
            raise ValueError(
                "the chat template renders the prompt differently with and without the reply, so "
                "prompt tokens cannot be masked; use a template whose user turn is a prefix "
                "(set model.chat=false to train in plain completion format)"
            )
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False).input_ids
        response_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False).input_ids
    else:
        prompt_ids = _with_bos(tokenizer, tokenizer(prompt, add_special_tokens=False).input_ids)
        response_ids = tokenizer(response, add_special_tokens=False).input_ids
        response_ids = [*response_ids, tokenizer.eos_token_id]
    input_ids = (prompt_ids + response_ids)[:max_seq_len]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + response_ids)[:max_seq_len]
    if len(prompt_ids) >= len(input_ids):
        return None
    return TokenExample(input_ids, labels)


def build_sft_examples(
    records: Iterable[dict], tokenizer, max_seq_len: int, chat: bool = False
) -> tuple[list[TokenExample], dict[str, int]]:
    """SFT examples from `{"prompt", "response", ...}` records, with counts of what was cut."""
    examples, dropped, truncated = [], 0, 0
    for record in records:
        example = sft_example(tokenizer, record["prompt"], record["response"], max_seq_len, chat)
        if example is None:
            dropped += 1
            continue
        truncated += len(example.input_ids) == max_seq_len
        examples.append(example)
    if not examples:
        raise ValueError(
            f"no SFT example has a response token within max_seq_len={max_seq_len} "
            f"({dropped} dropped); raise seq_len"
        )
    return examples, {"examples": len(examples), "dropped": dropped, "truncated": truncated}


def collate(examples: list[TokenExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example: input_ids_BT, labels_BT and attention_mask_BT.

    attention_mask is None when nothing is padded (pretraining blocks), which lets attention
    kernels skip mask handling.
    """
    longest = max(len(ex.input_ids) for ex in examples)
    input_ids = torch.full((len(examples), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), longest), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), longest), dtype=torch.long)
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        input_ids[row, :n] = torch.tensor(ex.input_ids)
        labels[row, :n] = torch.tensor(ex.labels)
        mask[row, :n] = 1
    padded = bool((mask == 0).any())
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask if padded else None}


@dataclass(frozen=True, eq=False)  # hashed by identity: the cached epoch order is per object
class DataOrder:
    """Which examples each rank sees at each micro-step: a seeded permutation per epoch.

    Micro-step `s` of rank `r` takes the slice (s * world + r) of the epoch's order, so the ranks
    of one micro-step see disjoint examples; a last incomplete slice of an epoch is skipped.

    With `lengths` (SFT), the order is length-grouped: the permutation is cut into windows of
    `GROUP_WINDOW` micro-steps, each window is sorted by length and cut into micro-steps, and the
    micro-steps of a window are shuffled. Sequences padded together then have similar lengths
    (less compute spent on padding, and ranks of a step finish together), while which examples
    meet and when stays random.
    """

    num_examples: int
    micro_batch_size: int
    num_ranks: int
    seed: int
    lengths: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.micro_steps_per_epoch == 0:
            raise ValueError(
                f"{self.num_examples} examples do not fill one micro-batch of "
                f"{self.micro_batch_size} on each of {self.num_ranks} ranks; add data or shrink "
                "micro_batch_size"
            )
        if self.lengths is not None and len(self.lengths) != self.num_examples:
            raise ValueError(f"{len(self.lengths)} lengths for {self.num_examples} examples")

    @property
    def micro_steps_per_epoch(self) -> int:
        return self.num_examples // (self.micro_batch_size * self.num_ranks)

    def indices(self, micro_step: int, rank: int) -> list[int]:
        epoch, within = divmod(micro_step, self.micro_steps_per_epoch)
        order = _epoch_order(self, epoch)
        start = (within * self.num_ranks + rank) * self.micro_batch_size
        return order[start : start + self.micro_batch_size]


GROUP_WINDOW = 32  # micro-steps whose examples are sorted by length together


@functools.lru_cache(maxsize=4)
def _epoch_order(order: DataOrder, epoch: int) -> list[int]:
    generator = torch.Generator().manual_seed(order.seed * 1_000_003 + epoch)
    perm = torch.randperm(order.num_examples, generator=generator).tolist()
    if order.lengths is None:
        return perm
    step_size = order.micro_batch_size * order.num_ranks
    usable = order.micro_steps_per_epoch * step_size  # the incomplete tail is skipped anyway
    grouped: list[int] = []
    for start in range(0, usable, GROUP_WINDOW * step_size):
        window = sorted(perm[start : min(start + GROUP_WINDOW * step_size, usable)],
                        key=lambda i: order.lengths[i])  # fmt: skip
        steps = [window[i : i + step_size] for i in range(0, len(window), step_size)]
        for j in torch.randperm(len(steps), generator=generator).tolist():
            grouped.extend(steps[j])
    return grouped


def _with_bos(tokenizer, ids: list[int]) -> list[int]:
    bos = tokenizer.bos_token_id
    return ids if bos is None or (ids and ids[0] == bos) else [bos, *ids]


def _chat_text(tokenizer, messages: list[dict], add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )
