"""Per-layer hidden states of a causal LM, pooled to one vector per program.

`pooled_hidden_states(model, tokenizer, texts)` runs the model's backbone (no LM head:
with a 128k vocabulary the logits would cost more than the layers) over the programs
in length-sorted batches, on whatever device the model is on (CPU or one GPU), and
returns an array `states_LND` of shape [num_layers + 1, num_programs, hidden_size]:
layer 0 is the embedding output, layer i the output of block i (the last one after
the final norm, as Hugging Face returns it).

Pooling:
- `mean` (default): the mean over the program's own tokens. Special tokens (BOS/EOS)
  and padding are left out: in Llama models the BOS position carries very large
  activations (an attention sink) that would dominate every mean and make all
  programs look alike.
- `last`: the hidden state of the last program token (what a causal model has read
  the whole program by).

Programs longer than `max_tokens` are cut to their first `max_tokens` tokens; the
number cut is reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

POOLINGS = ("mean", "last")


@dataclass(frozen=True)
class PooledStates:
    states_LND: np.ndarray  # float32 [num_layers + 1, num_programs, hidden_size]
    num_tokens_N: np.ndarray  # int, tokens fed to the model per program (after truncation)
    num_truncated: int  # programs cut to max_tokens
    elapsed_s: float  # wall time of tokenisation + forward passes + pooling

    @property
    def programs_per_s(self) -> float:
        return len(self.num_tokens_N) / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    @property
    def tokens_per_s(self) -> float:
        total = float(self.num_tokens_N.sum())
        return total / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def pooled_hidden_states(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    pooling: str = "mean",
    batch_size: int = 16,
    max_tokens: int | None = None,
    sort_by_length: bool = True,
) -> PooledStates:
    """Pool every layer's hidden states over each text; see the module docstring.

    max_tokens: defaults to the model's `max_position_embeddings`.
    sort_by_length: batch programs of similar length together (less padding); the
    output is in the order of `texts` either way. False is the unsorted baseline of
    `xlt.bench.analysis`.
    The model is put in eval mode for the call and restored afterwards.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}: use one of {', '.join(POOLINGS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: use a positive number of programs per batch")
    if not texts:
        raise ValueError("no programs to analyse: pass at least one text")
    max_tokens = max_tokens or model.config.max_position_embeddings
    device = next(model.parameters()).device

    start = time.perf_counter()
    encoded = tokenizer(list(texts), add_special_tokens=True, return_special_tokens_mask=True)
    ids_N = [ids[:max_tokens] for ids in encoded["input_ids"]]
    program_mask_N = [
        [not s for s in special[:max_tokens]] for special in encoded["special_tokens_mask"]
    ]
    num_truncated = sum(len(ids) > max_tokens for ids in encoded["input_ids"])
    empty = [i for i, mask in enumerate(program_mask_N) if not any(mask)]
    if empty:
        raise ValueError(
            f"programs {empty[:5]} have no tokens besides special tokens "
            f"(empty text, or max_tokens={max_tokens} too small); drop them or raise max_tokens"
        )
    order = list(range(len(ids_N)))
    if sort_by_length:  # longest first: an out-of-memory batch shows up at once
        order.sort(key=lambda i: -len(ids_N[i]))

    pooled_by_index: dict[int, torch.Tensor] = {}
    was_training = model.training
    model.eval()
    backbone = model.base_model  # the decoder stack without the LM head
    try:
        with torch.inference_mode():
            for first in range(0, len(order), batch_size):
                batch = order[first : first + batch_size]
                pooled_LBD = _pool_batch(
                    backbone,
                    [ids_N[i] for i in batch],
                    [program_mask_N[i] for i in batch],
                    pooling,
                    device,
                )
                for column, index in enumerate(batch):
                    pooled_by_index[index] = pooled_LBD[:, column]
    finally:
        model.train(was_training)
    states_LND = torch.stack([pooled_by_index[i] for i in range(len(ids_N))], dim=1).numpy()
    return PooledStates(
        states_LND=states_LND,
        num_tokens_N=np.array([len(ids) for ids in ids_N]),
        num_truncated=num_truncated,
        elapsed_s=time.perf_counter() - start,
    )


def _pool_batch(
    backbone: torch.nn.Module,
    ids_B: list[list[int]],
    program_mask_B: list[list[bool]],
    pooling: str,
    device: torch.device,
) -> torch.Tensor:
    """One right-padded forward pass; returns float32 CPU [num_layers + 1, B, D]."""
    length = max(len(ids) for ids in ids_B)
    input_ids_BT = torch.zeros(len(ids_B), length, dtype=torch.long)
    attention_BT = torch.zeros(len(ids_B), length, dtype=torch.long)
    program_BT = torch.zeros(len(ids_B), length, dtype=torch.bool)
    for row, (ids, mask) in enumerate(zip(ids_B, program_mask_B, strict=True)):
        input_ids_BT[row, : len(ids)] = torch.tensor(ids)
        attention_BT[row, : len(ids)] = 1
        program_BT[row, : len(ids)] = torch.tensor(mask)
    input_ids_BT, attention_BT, program_BT = (
        t.to(device) for t in (input_ids_BT, attention_BT, program_BT)
    )
    # Right padding keeps every real token at its natural position; causal attention
    # means padding after a program never changes that program's states.
    outputs = backbone(
        input_ids=input_ids_BT, attention_mask=attention_BT, output_hidden_states=True
    )
    # Pool layer by layer: stacking all layers first would hold another full copy of
    # the activations (gigabytes for an 8B model at long context).
    if pooling == "mean":
        weight_BT1 = program_BT.float()[:, :, None]
        count_B1 = weight_BT1.sum(dim=1)
        pooled = [
            (h_BTD.float() * weight_BT1).sum(dim=1) / count_B1 for h_BTD in outputs.hidden_states
        ]
    else:
        positions_T = torch.arange(length, device=device)
        last_B = torch.where(program_BT, positions_T, -1).max(dim=1).values
        rows_B = torch.arange(len(ids_B), device=device)
        pooled = [h_BTD[rows_B, last_B].float() for h_BTD in outputs.hidden_states]
    pooled_LBD = torch.stack(pooled)
    return pooled_LBD.cpu()
