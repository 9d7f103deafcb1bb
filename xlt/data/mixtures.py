"""The study's three SFT mixtures, token-matched, from a stream of SFT examples grouped by task.

An SFT example is the artifact record `{"prompt", "response", "language", "task", "source"}`
(any mapping with "task" and "language" works). A pool lists every example of a task
consecutively, tasks in a seeded order (the data stages write it so); a mixture takes
whole *units* (one task's chosen examples) from the front of the pool until its budget:

- `monolingual`: the source language only (one example per task);
- `multilingual` (non-parallel): each task in one trainable language, the languages in
  rotation over the task order (the next one in turn that the task has), so shares are even;
- `parallel`: each task in `parallel_k` languages, the next ones in the same rotation
  (tasks with fewer than two of them are skipped: one program is not parallel). The
  choice does not depend on the RL source language, so one parallel mixture serves a
  sweep over source languages.

Matching: every mixture is cut to the same token budget, never above it and stopping
once within `tolerance / 2` below it, so any two mixtures differ by less than
`tolerance`; a pool that runs out first raises with the fix. The default budget is the
smallest of `full_sizes` (every mixture, monolingual for every possible source, so the
budget does not change with the source language). Held-out languages are refused: asking
for one, or meeting one in the pool, raises.

Everything streams (generators over the pool), so a paper-scale pool need not fit in memory;
`full_sizes` needs one pass per mixture and so takes a function that reopens the pool.

    units = select("parallel", group_by_task(read_jsonl(pool)), languages=["py", "js", "lua"], parallel_k=2)
    examples = list(take_budget(units, budget=50_000, count_tokens=lambda r: proxy_tokens(r["prompt"] + r["response"])))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any

MIXTURES = ("monolingual", "multilingual", "parallel")
Record = Mapping[str, Any]
TokenCounter = Callable[[Record], int]

_PROXY_TOKEN = re.compile(r"[A-Za-z_]+|\d+|\n|[ \t]+|[^\sA-Za-z_\d]")

log = logging.getLogger(__name__)


def proxy_tokens(text: str) -> int:
    """A tokenizer-free token count (words, numbers, newlines, space runs, punctuation).

    For matching mixtures before the study's tokenizer exists; the data stages record
    the real counts when they have a tokenizer."""
    return len(_PROXY_TOKEN.findall(text))


def example_tokens(record: Record) -> int:
    """Proxy tokens of one SFT example (prompt + response): the stages' default counter."""
    return proxy_tokens(record["prompt"] + record["response"])


def group_by_task(records: Iterable[Record]) -> Iterator[list[Record]]:
    """Consecutive records of one task as a list; raises if a task comes back later."""
    seen: set[str] = set()
    for task, group in groupby(records, key=lambda r: r["task"]):
        if task in seen:
            raise ValueError(f"task {task!r} is not contiguous in the pool; group examples by task")
        seen.add(task)
        yield list(group)


def check_languages(languages: Sequence[str], held_out: Sequence[str], what: str) -> None:
    leaked = sorted(set(languages) & set(held_out))
    if leaked:
        raise ValueError(
            f"{what}: held-out languages {leaked} must never appear in SFT or RL data; "
            "drop them from the mixture's languages (or from data.held_out)"
        )


def assert_absent(
    records: Iterable[Record], held_out: Sequence[str], what: str
) -> Iterator[Record]:
    """Pass records through, raising on the first one in a held-out language."""
    forbidden = set(held_out)
    for record in records:
        if record["language"] in forbidden:
            raise ValueError(
                f"{what}: a record of task {record['task']!r} is in held-out language "
                f"{record['language']!r}; held-out languages never appear in SFT or RL data"
            )
        yield record


def select(
    kind: str,
    groups: Iterable[Sequence[Record]],
    *,
    languages: Sequence[str],
    source_language: str | None = None,
    parallel_k: int = 2,
    held_out: Sequence[str] = (),
) -> Iterator[list[Record]]:
    """Each task's examples for mixture `kind`, one unit (list) per task that contributes."""
    if kind not in MIXTURES:
        raise ValueError(f"unknown SFT mixture {kind!r}; use one of {list(MIXTURES)}")
    check_languages(languages, held_out, f"{kind} mixture")
    if kind == "monolingual":
        if source_language is None or source_language not in languages:
            raise ValueError(
                f"the monolingual mixture needs a source language among {list(languages)}, "
                f"got {source_language!r}"
            )
        check_languages([source_language], held_out, "monolingual mixture")
    if kind == "parallel" and not 2 <= parallel_k <= len(languages):
        raise ValueError(
            f"parallel_k={parallel_k} must be between 2 and {len(languages)} languages"
        )
    turn = 0
    for group in groups:
        by_language = {r["language"]: r for r in assert_absent(group, held_out, f"{kind} pool")}
        if kind == "monolingual":
            if source_language in by_language:
                yield [by_language[source_language]]
            continue
        want = 1 if kind == "multilingual" else parallel_k
        picked, step = [], 0
        while len(picked) < want and step < len(languages):
            language = languages[(turn + step) % len(languages)]
            step += 1
            if language in by_language:
                picked.append(by_language[language])
        if kind == "parallel" and len(picked) < 2:
            continue
        if picked:
            turn = (turn + step) % len(languages)
            yield picked


def take_budget(
    units: Iterable[Sequence[Record]],
    budget: int,
    count_tokens: TokenCounter,
    tolerance: float = 0.02,
) -> Iterator[Record]:
    """Whole units from the front until the total is within `tolerance / 2` below `budget`.

    A unit that would go over the budget is skipped (a smaller later one may fit). Raises
    when the units run out more than `tolerance` below the budget. A small pool whose whole
    units cannot land within `tolerance` (every unit left is larger than the gap) ends short,
    with a warning: the mixtures then differ by less than one unit."""
    if budget <= 0:
        raise ValueError(f"token budget must be > 0, got {budget}")
    used, skipped = 0, False
    for unit in units:
        if used >= budget * (1 - tolerance / 2):
            return
        size = sum(count_tokens(r) for r in unit)
        if used + size > budget:
            skipped = True  # used only grows, so this unit stays larger than the gap
            continue
        used += size
        yield from unit
    if used >= budget * (1 - tolerance):
        return
    if not skipped:
        raise ValueError(
            f"the pool ran out at {used} tokens, short of the budget {budget}: lower "
            "sft.num_tokens (null takes the smallest mixture's size) or add tasks"
        )
    log.warning(
        "mixture: whole examples fill %d of the %d-token budget (%.1f%% short; every unit "
        "left is larger than the gap): a pool this small cannot be matched more closely",
        used, budget, 100 * (1 - used / budget),
    )  # fmt: skip


def full_size(units: Iterable[Sequence[Record]], count_tokens: TokenCounter) -> int:
    return sum(count_tokens(r) for unit in units for r in unit)


def full_sizes(
    open_groups: Callable[[], Iterable[Sequence[Record]]],
    count_tokens: TokenCounter,
    *,
    languages: Sequence[str],
    parallel_k: int,
    held_out: Sequence[str] = (),
    source_languages: Sequence[str] | None = None,
) -> dict[str, int]:
    """Tokens of every full mixture: `multilingual`, `parallel`, `monolingual/<source>` for each
    source (default: every language). One pass over the pool each."""
    common = {"languages": languages, "parallel_k": parallel_k, "held_out": held_out}
    sizes = {
        kind: full_size(select(kind, open_groups(), **common), count_tokens)
        for kind in ("multilingual", "parallel")
    }
    for source in source_languages if source_languages is not None else languages:
        units = select("monolingual", open_groups(), source_language=source, **common)
        sizes[f"monolingual/{source}"] = full_size(units, count_tokens)
    return sizes


def build_mixture(
    kind: str,
    records: Iterable[Record],
    *,
    budget: int,
    count_tokens: TokenCounter,
    tolerance: float = 0.02,
    **select_args: Any,
) -> Iterator[Record]:
    """`select` then `take_budget` over a pool of records grouped by task."""
    units = select(kind, group_by_task(records), **select_args)
    return take_budget(units, budget, count_tokens, tolerance)
