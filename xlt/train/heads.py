"""Run a causal LM's output head only where a loss or log-prob is taken.

A Llama-3 head maps each position to 128,256 logits: for 8 sequences of 4k tokens that is
~8 GB in bf16 and twice that in fp32, mostly for prompt and padding positions nobody
scores. Both context managers below hook the head's input (`register_forward_pre_hook`, a
public torch API) instead of passing transformers' `logits_to_keep` a 2-D mask, which
transformers 5.17-5.20 reject with an IndexError inside `modeling_llama`; the model's own
forward still runs (DeepSpeed's ZeRO-3 hooks on the root module fire as usual).

    with head_only_at(engine.module, keep_BT):
        logits_NV = engine(input_ids=..., attention_mask=..., use_cache=False).logits

    with hidden_at(engine.module, keep_BT) as captured:
        engine(input_ids=..., attention_mask=..., use_cache=False)
    hidden_NH = captured["hidden_NH"]   # then the head, chunk by chunk (xlt.rl.rollout)

Models whose forward post-processes the head's output (logit soft-capping, as in Gemma 2)
are not handled: only the head's matrix is applied. Llama, Qwen and Mistral have none.
"""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def head_only_at(model: torch.nn.Module, keep_BT: torch.Tensor):
    """Inside, `model(...).logits` is (N, V): the head's output at the N True positions of
    `keep_BT`, in row-major order."""

    def select(_module, args):
        (hidden_BTH,) = args
        return (hidden_BTH[keep_BT],)

    handle = model.get_output_embeddings().register_forward_pre_hook(select)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def hidden_at(model: torch.nn.Module, keep_BT: torch.Tensor):
    """Inside, a forward pass stores the final hidden states at the True positions of
    `keep_BT` as `captured["hidden_NH"]` and runs the head on no position at all."""
    captured: dict[str, torch.Tensor] = {}

    def capture(_module, args):
        (hidden_BTH,) = args
        captured["hidden_NH"] = hidden_BTH[keep_BT]
        return (hidden_BTH[:, :0],)  # logits of shape (B, 0, V): nothing is computed

    handle = model.get_output_embeddings().register_forward_pre_hook(capture)
    try:
        yield captured
    finally:
        handle.remove()
