"""The three SFT mixtures over an index: composition, token matching, held-out enforcement."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from xlt.data.codeforces.mixture import Item, compose, token_matched, total_tokens

TRAINABLE = ("py", "js", "lua", "php")


def _pool(num_tasks=300, seed=0) -> list[Item]:
    """Tasks with programs in 1-4 trainable languages and realistic size spread (40-400 tokens)."""
    rng = random.Random(seed)
    items = []
    for t in range(num_tasks):
        languages = rng.sample(TRAINABLE, rng.randint(1, len(TRAINABLE)))
        if t % 3 == 0 and "py" not in languages:
            languages.append("py")
        items += [Item(f"cf/{t}", lang, rng.randint(40, 400)) for lang in languages]
    return items


def _all(items, **kw):
    args = dict(source_language="py", held_out=("rb",), parallel_k=3, seed=1) | kw
    return {
        kind: compose(kind, items, **args) for kind in ("monolingual", "multilingual", "parallel")
    }


def test_mixtures_differ_in_composition():
    mixtures = _all(_pool())
    assert {i.language for i in mixtures["monolingual"]} == {"py"}
    multilingual_tasks = Counter(i.task for i in mixtures["multilingual"])
    assert max(multilingual_tasks.values()) == 1  # non-parallel: each task once
    shares = Counter(i.language for i in mixtures["multilingual"])
    assert set(shares) == set(TRAINABLE) and max(shares.values()) < 2 * min(shares.values())
    per_task = Counter(i.task for i in mixtures["parallel"])
    assert min(per_task.values()) >= 2 and max(per_task.values()) <= 3


def test_mixtures_are_token_matched_within_two_percent():
    matched, budget = token_matched(_all(_pool()))
    for kind, items in matched.items():
        assert abs(total_tokens(items) - budget) <= 0.02 * budget, kind
    assert budget == min(total_tokens(v) for v in _all(_pool()).values())


def test_a_budget_larger_than_a_mixture_is_refused():
    with pytest.raises(ValueError, match="lower sft.num_tokens"):
        token_matched(_all(_pool()), budget=10**9)


def test_held_out_languages_never_enter_a_mixture():
    items = _pool() + [Item("cf/0", "rb", 100)]
    with pytest.raises(ValueError, match="held-out language 'rb'"):
        compose("parallel", items, source_language="py", held_out=("rb",), parallel_k=3, seed=0)
    with pytest.raises(ValueError, match="is held out"):
        compose(
            "monolingual", _pool(), source_language="rb", held_out=("rb",), parallel_k=3, seed=0
        )


def test_composition_is_seeded():
    a = compose("parallel", _pool(), source_language="py", held_out=(), parallel_k=3, seed=5)
    b = compose("parallel", _pool(), source_language="py", held_out=(), parallel_k=3, seed=5)
    c = compose("parallel", _pool(), source_language="py", held_out=(), parallel_k=3, seed=6)
    assert a == b and a != c
