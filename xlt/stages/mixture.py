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
from pathlib import Path

from xlt.data import mixtures
from xlt.pipeline import StageContext

log = logging.getLogger(__name__)


def run(ctx: StageContext) -> None:
    data, sft = ctx.cfg.data, ctx.cfg.sft
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
    budget = sft.num_tokens or min(sizes.values())
    source = ctx.cfg.rl.source_language if sft.mixture == "monolingual" else None
    examples = list(
        mixtures.build_mixture(
            sft.mixture,
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
        "kind": sft.mixture,
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
    log.info("SFT mixture %s: %s", sft.mixture, summary)


def token_counter(ctx: StageContext) -> tuple[mixtures.TokenCounter, str]:
    """Count with the study's tokenizer where one exists; the proxy otherwise."""
    source: str | Path | None = None
    if "pretrain" in ctx.inputs:
        source = Path(ctx.inputs["pretrain"]) / "model"
    elif ctx.cfg.model.path:
        source = ctx.cfg.model.path
    if source is None:
        log.warning(
            "mixture: no tokenizer (no pretrain input, model.path unset); matching mixtures in "
            "proxy tokens, which can differ from the model's tokens by a few percent"
        )
        return mixtures.example_tokens, "xlt.data.mixtures.proxy_tokens(prompt + response)"
    from xlt.models import load_tokenizer  # imports torch/transformers: only when needed

    revision = None if "pretrain" in ctx.inputs else ctx.cfg.model.revision
    tokenizer = load_tokenizer(source, revision=revision)

    def count(record: mixtures.Record) -> int:
        text = record["prompt"] + record["response"]
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count, f"tokenizer of {source}"


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open() as f:
        for line in f:
            yield json.loads(line)
