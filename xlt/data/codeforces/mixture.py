"""The study's three SFT mixtures, composed over an index so texts stay on disk.

An `Item` is one verified program: (task, language, tokens). The mixtures differ only in
which (task, language) pairs they take:
- `monolingual`: the source language only, one program per task;
- `multilingual` (non-parallel): every trainable language, but each task in one language
  only (languages assigned round-robin over a seeded task order, so shares are even);
- `parallel`: each task in up to `parallel_k` languages (the source first when present),
  so the model sees the same problem solved in several languages.
All three are then cut to one token budget (the smallest full mixture's, or a given
number), so they differ in composition, not size: a task's programs are taken whole, in a
seeded order, until the budget is reached. Held-out languages are refused outright.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIXTURES = ("monolingual", "multilingual", "parallel")


@dataclass(frozen=True)
class Item:
    task: str
    language: str
    num_tokens: int


def _by_task(items: Iterable[Item], held_out: set[str]) -> dict[str, dict[str, Item]]:
    tasks: dict[str, dict[str, Item]] = defaultdict(dict)
    for item in items:
        if item.language in held_out:
            raise ValueError(
                f"held-out language {item.language!r} offered to an SFT mixture ({item.task}); "
                "held-out languages must never reach SFT data"
            )
        tasks[item.task].setdefault(item.language, item)
    return tasks


def compose(
    kind: str,
    items: Iterable[Item],
    *,
    source_language: str,
    held_out: Sequence[str],
    parallel_k: int,
    seed: int,
) -> list[Item]:
    """Every item of mixture `kind` before token matching, tasks in a seeded order."""
    if kind not in MIXTURES:
        raise ValueError(f"unknown SFT mixture {kind!r}; use one of {list(MIXTURES)}")
    if source_language in held_out:
        raise ValueError(f"source language {source_language!r} is held out; pick a trainable one")
    tasks = _by_task(items, set(held_out))
    order = sorted(tasks)
    random.Random(seed).shuffle(order)
    chosen: list[Item] = []
    if kind == "monolingual":
        chosen = [tasks[t][source_language] for t in order if source_language in tasks[t]]
    elif kind == "multilingual":
        languages = sorted({lang for per_task in tasks.values() for lang in per_task})
        turn = 0
        for task in order:
            # The next language in the rotation that this task has; keeps shares even.
            for step in range(len(languages)):
                language = languages[(turn + step) % len(languages)]
                if language in tasks[task]:
                    chosen.append(tasks[task][language])
                    turn = (turn + step + 1) % len(languages)
                    break
    else:
        rng = random.Random(seed + 1)
        for task in order:
            others = sorted(lang for lang in tasks[task] if lang != source_language)
            rng.shuffle(others)
            first = [source_language] if source_language in tasks[task] else []
            languages = (first + others)[:parallel_k]
            if len(languages) >= 2:  # a single program is not parallel
                chosen.extend(tasks[task][lang] for lang in languages)
    return chosen


def total_tokens(items: Iterable[Item]) -> int:
    return sum(item.num_tokens for item in items)


def cut_to_budget(items: Sequence[Item], budget: int) -> list[Item]:
    """Whole tasks, in order, skipping any that would overflow `budget`."""
    kept: list[Item] = []
    used = 0
    index = 0
    while index < len(items):
        task = items[index].task
        group = []
        while index < len(items) and items[index].task == task:
            group.append(items[index])
            index += 1
        size = total_tokens(group)
        if used + size > budget:
            continue  # skip a task that would overflow: a smaller later one may still fit
        kept.extend(group)
        used += size
    return kept


def token_matched(
    mixtures: dict[str, list[Item]], budget: int | None = None, tolerance: float = 0.02
) -> tuple[dict[str, list[Item]], int]:
    """Each mixture cut to one budget (default: the smallest full mixture); checked within `tolerance`."""
    sizes = {kind: total_tokens(items) for kind, items in mixtures.items()}
    if budget is None:
        budget = min(sizes.values())
    too_small = {kind: size for kind, size in sizes.items() if size < budget * (1 - tolerance)}
    if too_small:
        raise ValueError(
            f"token budget {budget} exceeds what mixtures {too_small} hold; lower sft.num_tokens "
            "or add data (more problems, languages or translations)"
        )
    matched = {kind: cut_to_budget(items, budget) for kind, items in mixtures.items()}
    for kind, items in matched.items():
        got = total_tokens(items)
        if abs(got - budget) > tolerance * budget:
            raise ValueError(
                f"mixture {kind!r} has {got} tokens after matching, not within "
                f"{tolerance:.0%} of {budget}; its tasks are too large for the budget"
            )
    return matched, budget
