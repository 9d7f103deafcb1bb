"""Load, build and save causal language models and their tokenizers.

Two sources of a model:
- a Hub name or local folder in Hugging Face format (`load_model`, `load_tokenizer`); paper scale
  loads e.g. `meta-llama/Llama-3.1-8B-Instruct` this way;
- a tiny Llama-architecture model built from numbers (`build_tiny_model`) with a byte-level BPE
  tokenizer trained offline on a corpus (`build_tokenizer`); micro scale stands it in for a
  pretrained LLM.

`save_model` writes Hugging Face format (safetensors + config + tokenizer) that
`AutoModelForCausalLM.from_pretrained` and vLLM load. It accepts a DeepSpeed engine too: under
ZeRO-3 the parameter shards are gathered on all ranks and rank 0 writes the files.

Under ZeRO-3 a Hub model is loaded partitioned when `load_model` runs inside
`xlt.train.engine.zero3_model_context(ds_config)` (transformers then builds it under
`deepspeed.zero.Init`); a tiny model needs no such care.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN)


def build_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `texts` (offline, deterministic for the same input).

    Byte-level so that any program text round-trips, whitespace and newlines included. It adds
    BOS before every encoded text; EOS is appended by the data code where a document ends.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(
            f"vocab_size={vocab_size} is below the 256 byte symbols plus {len(SPECIAL_TOKENS)} "
            "special tokens a byte-level tokenizer needs; use vocab_size >= 259"
        )
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS_TOKEN)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A $B", special_tokens=[(BOS_TOKEN, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        padding_side="right",
    )


# Llama-3's special tokens and chat template (Meta-Llama-3-8B-Instruct's, without the 3.1
# tool and date preamble): the stand-in for a Hub chat model in tests and the GPU smoke run.
LLAMA3_BOS, LLAMA3_EOT = "<|begin_of_text|>", "<|eot_id|>"
LLAMA3_SPECIAL_TOKENS = (LLAMA3_BOS, "<|end_of_text|>", "<|start_header_id|>",
                         "<|end_header_id|>", LLAMA3_EOT, "<|finetune_right_pad_id|>")  # fmt: skip
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim"
    " + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def build_llama3_style_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (trained offline on `texts`) shaped like Llama-3-Instruct's:
    `<|begin_of_text|>` added before every encoded text, EOS `<|eot_id|>`, no pad token of
    its own (pad = `<|finetune_right_pad_id|>`, as Llama-3.1 ships), the Llama-3 chat
    template, which itself starts with BOS."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(LLAMA3_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{LLAMA3_BOS} $A", pair=f"{LLAMA3_BOS} $A $B",
        special_tokens=[(LLAMA3_BOS, tokenizer.token_to_id(LLAMA3_BOS))],
    )  # fmt: skip
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=LLAMA3_BOS, eos_token=LLAMA3_EOT,
        pad_token="<|finetune_right_pad_id|>", chat_template=LLAMA3_CHAT_TEMPLATE,
    )  # fmt: skip


def build_tiny_model(
    tokenizer: PreTrainedTokenizerFast,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    intermediate_size: int,
    max_seq_len: int,
    seed: int,
) -> LlamaForCausalLM:
    """A randomly initialised Llama-architecture model sized by the arguments, fp32, on CPU.

    The same `seed` gives bitwise the same weights, so two runs can start from one point.
    """
    if hidden_size % num_heads:
        raise ValueError(
            f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}; "
            "pick num_heads that divides hidden_size"
        )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_seq_len,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    with _seeded(seed):
        model = LlamaForCausalLM(config)
    return model.to(torch.float32)


def load_model(
    path_or_name: str | Path, revision: str | None = None, dtype: torch.dtype | None = None
) -> PreTrainedModel:
    """A causal LM from a Hub name or local folder (offline when `HF_HUB_OFFLINE=1`).

    `dtype=None` keeps fp32, the dtype the training engine's CPU path expects; pass
    `torch.bfloat16` for GPU inference.
    """
    return AutoModelForCausalLM.from_pretrained(
        str(path_or_name), revision=revision, dtype=dtype or torch.float32
    )


def load_tokenizer(
    path_or_name: str | Path, revision: str | None = None
) -> PreTrainedTokenizerFast:
    """The tokenizer saved beside a model; a missing pad token is set to EOS (Llama-3 has none)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path_or_name), revision=revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def save_model(model_or_engine, tokenizer: PreTrainedTokenizerFast, out_dir: str | Path) -> Path:
    """Write model + tokenizer in Hugging Face format to `out_dir`; returns `out_dir`.

    Accepts a plain `PreTrainedModel` or a DeepSpeed engine wrapping one. Under ZeRO-3 it must be
    called on every rank (the gather is collective); only rank 0 writes.
    """
    out_dir = Path(out_dir)
    module = _unwrap(model_or_engine)
    state_dict = _full_state_dict(module)
    if _rank() == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        dtype = _main_dtype(state_dict)  # first: save_pretrained empties the dict as it writes
        module.save_pretrained(out_dir, state_dict=state_dict)
        _record_dtype(out_dir, dtype)
        tokenizer.save_pretrained(out_dir)
    _barrier()
    return out_dir


def _main_dtype(state_dict: dict[str, torch.Tensor]) -> torch.dtype | None:
    """The floating dtype holding the most elements of `state_dict`."""
    counts: dict[torch.dtype, int] = {}
    for tensor in state_dict.values():
        if tensor.is_floating_point():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel()
    return max(counts, key=counts.get) if counts else None


def _record_dtype(out_dir: Path, dtype: torch.dtype | None) -> None:
    """config.json's `dtype` := that of the tensors written, not the module's first
    parameter's, which `save_pretrained` reports: a DeepSpeed-wrapped module can hold fp32
    parameters while its gathered bf16 weights are what lands in the files."""
    if dtype is None:
        return
    config = AutoConfig.from_pretrained(out_dir)
    config.dtype = str(dtype).removeprefix("torch.")
    config.save_pretrained(out_dir)


def _unwrap(model_or_engine) -> PreTrainedModel:
    if isinstance(model_or_engine, PreTrainedModel):
        return model_or_engine
    from deepspeed import DeepSpeedEngine  # imported lazily: deepspeed is slow to import

    if isinstance(model_or_engine, DeepSpeedEngine) and isinstance(
        model_or_engine.module, PreTrainedModel
    ):
        return model_or_engine.module
    raise TypeError(
        f"save_model takes a PreTrainedModel or a DeepSpeed engine wrapping one, "
        f"got {type(model_or_engine).__name__}"
    )


def _full_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    """Full (unpartitioned) CPU copies of every parameter and buffer; None on ranks other than 0."""
    params = list(module.parameters())
    # ZeRO-3 marks its partitioned parameters with `ds_id` (deepspeed's own is_zero_param test).
    partitioned = any(hasattr(p, "ds_id") for p in params)
    if not partitioned:
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    import deepspeed  # only needed when ZeRO-3 shards exist

    with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
        if _rank() != 0:
            return None
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _rank() -> int:
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _barrier() -> None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch for the block and restore the caller's RNG state afterwards."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
