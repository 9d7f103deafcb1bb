"""A tiny model and tokenizer for the analysis tests, built offline in well under a second."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROGRAMS = {
    ("add", "py"): "def add(a, b):\n    return a + b\n",
    ("add", "lua"): "local function add(a, b)\n  return a + b\nend\n",
    ("add", "go"): "func Add(a int, b int) int {\n\treturn a + b\n}\n",
    ("neg", "py"): "def neg(x):\n    return -x\n",
    ("neg", "lua"): "local function neg(x)\n  return -x\nend\n",
    ("neg", "go"): "func Neg(x int) int {\n\treturn -x\n}\n",
    ("max", "py"): "def biggest(xs):\n    return max(xs)\n",
    ("max", "lua"): "local function biggest(xs)\n  return math.max(table.unpack(xs))\nend\n",
    (
        "max",
        "go",
    ): "func Biggest(xs []int) int {\n\tm := xs[0]\n\tfor _, x := range xs {\n\t\tif x > m {\n\t\t\tm = x\n\t\t}\n\t}\n\treturn m\n}\n",
}


@pytest.fixture(scope="session")
def tiny_programs() -> dict[tuple[str, str], str]:
    """(task, language) -> program: three tiny problems in three languages."""
    return dict(PROGRAMS)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from xlt.models import build_tokenizer

    return build_tokenizer(PROGRAMS.values(), vocab_size=320)  # bytes + a few merges


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer):
    from xlt.models import build_tiny_model

    # 2 layers of width 32: enough to have distinct per-layer states, fast on CPU.
    return build_tiny_model(
        tiny_tokenizer, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64,
        max_seq_len=256, seed=0,
    )  # fmt: skip
