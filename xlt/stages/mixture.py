"""The mixture stage: one token-matched SFT mixture drawn from the data stage's SFT pool.

    python -m xlt.run +experiment=parallel_sft          # sft.mixture=parallel
    python -m xlt.run +experiment=monolingual_sft rl.source_language=lua

Reads `ctx.inputs["data"] / "sft.jsonl"` (either data stage: examples grouped by task in a
seeded order) and writes `sft.jsonl` (the mixture, same record format) and `mixture.json`
(kind, budget, tokens, examples and tasks per language, every full mixture's size).
The budget is `sft.num_tokens`, or by default the smallest full mixture over all kinds
and all possible source languages, so that every mixture of a sweep has the same size.

Tokens of prompt + response are counted with the study model's tokenizer: the one the
pretrain stage saved when it is an input (`ctx.inputs["pretrain"] / "model"`), else the
tokenizer of `model.path`; with neither, `xlt.data.mixtures.proxy_tokens` (a regex count,
with a warning: on the micro suite it matches mixtures within 0.7% in proxy tokens but
only within 2.9% in BPE tokens, against 0.14% when counting with the BPE itself).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xlt.data import mixtures
from xlt.data.config import DataConfig
from xlt.pipeline import StageContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MixtureSpec:
    """Everything the mixture stage reads (the SFT pool comes as its `data` input)."""

    data: DataConfig  # trainable and held-out languages, parallel_k
    mixture: str  # monolingual | multilingual | parallel
    num_tokens: int | None  # the token budget; None: the smallest mixture's full size
    source_language: str | None  # the monolingual mixture's language; None for the others
    tokenizer: tuple[str, str | None] | None  # (model.path, revision) without a pretrain input


def run(ctx: StageContext) -> None:
    data, spec = ctx.spec.data, ctx.spec
    pool = Path(ctx.inputs["data"]) / "sft.jsonl"
    select_args = {
        "languages": data.trainable_languages,
        "parallel_k": data.parallel_k,
        "held_out": data.held_out,
    }
    count_tokens, counter_name = token_counter(ctx)
    sizes = mixtures.full_sizes(
        lambda: mixtures.group_by_task(_read_jsonl(pool)), count_tokens, **select_args
    )
    budget = spec.num_tokens or matched_budget(sizes, _size_name(spec))
    source = spec.source_language
    examples = list(
        mixtures.build_mixture(
            spec.mixture,
            _read_jsonl(pool),
            budget=budget,
            count_tokens=count_tokens,
            source_language=source,
            **select_args,
        )
    )
    with (ctx.out / "sft.jsonl").open("w") as f:
        for record in mixtures.assert_absent(examples, data.held_out, "SFT mixture"):
            f.write(json.dumps(record) + "\n")
    summary = {
        "kind": spec.mixture,
        "source_language": source,
        "budget_tokens": budget,
        "tokens": sum(count_tokens(r) for r in examples),
        "examples": dict(Counter(r["language"] for r in examples)),
        "tasks": len({r["task"] for r in examples}),
        "full_sizes": sizes,
        "token_counter": counter_name,
    }
    (ctx.out / "mixture.json").write_text(json.dumps(summary, indent=2))
    ctx.tracker.log(
        {"mixture/tokens": summary["tokens"], "mixture/tasks": summary["tasks"]}, step=0
    )
    log.info("SFT mixture %s: %s", spec.mixture, summary)


def _size_name(spec: MixtureSpec) -> str:
    if spec.mixture == "monolingual":
        return f"monolingual/{spec.source_language}"
    return spec.mixture


def matched_budget(sizes: dict[str, int], chosen: str) -> int:
    """The smallest non-empty mixture's tokens, so every SFT arm of a sweep trains on as many.

    A language with no SFT data has an empty monolingual mixture: it cannot be an arm, so it
    does not set the budget (it is logged); the chosen mixture being empty is an error."""
    if sizes.get(chosen, 0) == 0:
        raise ValueError(
            f"the {chosen} SFT mixture is empty: the data stage found no SFT examples for it "
            f"(full mixture sizes in tokens: {sizes}); pick another sft mixture or source language"
        )
    empty = sorted(name for name, size in sizes.items() if size == 0)
    if empty:
        log.warning("mixture: %s have no SFT data and do not set the token budget", empty)
    return min(size for size in sizes.values() if size > 0)


def token_counter(ctx: StageContext) -> tuple[mixtures.TokenCounter, str]:
    """Count with the study's tokenizer where one exists; the proxy otherwise."""
    source: str | Path | None = None
    revision = None
    if "pretrain" in ctx.inputs:
        source = Path(ctx.inputs["pretrain"]) / "model"
    elif ctx.spec.tokenizer is not None:
        source, revision = ctx.spec.tokenizer
    if source is None:
        log.warning(
            "mixture: no tokenizer (no pretrain input, model.path unset); matching mixtures in "
            "proxy tokens, which can differ from the model's tokens by a few percent"
        )
        return mixtures.example_tokens, "xlt.data.mixtures.proxy_tokens(prompt + response)"
    from xlt.models import load_tokenizer  # imports torch/transformers: only when needed

    tokenizer = load_tokenizer(source, revision=revision)

    def count(record: mixtures.Record) -> int:
        text = record["prompt"] + record["response"]
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count, f"tokenizer of {source}"


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open() as f:
        for line in f:
            yield json.loads(line)
