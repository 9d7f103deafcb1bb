"""A tiny tokenizer and randomly initialised model, built offline (no Hub)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def f(x):\n    return x * 2\n",
    "local function f(x)\n  return x + 1\nend\n",
] * 20


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from xlt.models import build_tokenizer

    return build_tokenizer(CORPUS, vocab_size=300)  # just above the 259 byte-level minimum


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer):
    from xlt.models import build_tiny_model

    # Two narrow layers: random weights are enough to test decoding mechanics.
    return build_tiny_model(
        tiny_tokenizer,
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        max_seq_len=128,
        seed=0,
    )
