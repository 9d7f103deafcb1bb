"""The micro data stage: the synthetic suite, its pretraining corpus and problems, on disk.

    python -m xlt.run +experiment=parallel_sft            # runs it first (micro scale)

Or without the pipeline: `build_micro_data(out_dir, languages=[...], held_out=[...])`.

Writes (the same layout as the paper-scale stage, `xlt.stages.data_paper`):
- `corpus.jsonl`: `{"text", "language"}` pretraining documents (train + spare programs);
- `sft.jsonl`: the SFT pool, `{"prompt", "response", "language", "task", "source"}`, train
  tasks in the trainable languages, grouped by task in a seeded order (the mixture stage
  draws from it);
- `rl.jsonl`: RL-split problems (`Problem.to_dict()`) in the trainable languages;
- `rl_oracle.jsonl`: the same in the held-out languages, for oracle runs only;
- `eval.jsonl`: eval-split problems in every language;
- `parallel.jsonl`: `{"task", "language", "program"}`, eval tasks in every language;
- `manifest.json`: counts per split and language, corpus shares and tokens, the three
  mixtures' full token counts (proxy tokenizer), seed, and verification results if run.
Held-out languages are checked absent from `sft.jsonl` and `rl.jsonl` after writing.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlt.data import mixtures
from xlt.data.config import MicroDataConfig
from xlt.data.micro.corpus import build_corpus
from xlt.data.micro.programs import enumerate_programs
from xlt.data.micro.render import SYNTAXES
from xlt.data.micro.suite import MicroSuite, build_suite, render_problem
from xlt.data.records import Problem
from xlt.pipeline import StageContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSpec:
    """Everything the micro data stage reads."""

    data: MicroDataConfig


def run(ctx: StageContext) -> None:
    data = ctx.spec.data
    manifest = build_micro_data(
        ctx.out,
        languages=data.languages,
        held_out=data.held_out,
        num_tasks=data.num_tasks,
        split_fractions=data.split_fractions,
        corpus_shares=data.corpus_shares,
        corpus_documents=data.corpus_documents,
        parallel_k=data.parallel_k,
        num_tests=data.num_tests,
        doc_examples=data.doc_examples,
        verify=data.verify,
        seed=ctx.seed,
    )
    metrics = {f"data/{split}/tasks": n for split, n in manifest["tasks"].items()}
    metrics |= {f"data/corpus/{lang}/share": s for lang, s in manifest["corpus"]["shares"].items()}
    ctx.tracker.log(metrics, step=0)


def build_micro_data(
    out_dir: str | Path,
    *,
    languages: Sequence[str],
    held_out: Sequence[str],
    num_tasks: int = 600,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    corpus_shares: dict[str, float] | None = None,
    corpus_documents: int = 4000,
    parallel_k: int = 3,
    num_tests: int = 5,
    doc_examples: int = 0,
    verify: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Generate everything into `out_dir`; return the manifest (also written there)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainable = [lang for lang in languages if lang not in held_out]
    suite = build_suite(
        num_tasks, split_fractions, seed, num_tests=num_tests, num_examples=doc_examples
    )

    # ---- problems per split
    by_split = {
        split: [render_problem(task, lang) for task in suite.split(split) for lang in languages]
        for split in ("train", "rl", "eval")
    }
    rl = [p for p in by_split["rl"] if p.language in trainable]
    rl_oracle = [p for p in by_split["rl"] if p.language in held_out]
    _write_jsonl(out / "rl.jsonl", (p.to_dict() for p in rl))
    _write_jsonl(out / "rl_oracle.jsonl", (p.to_dict() for p in rl_oracle))
    _write_jsonl(out / "eval.jsonl", (p.to_dict() for p in by_split["eval"]))
    parallel = (
        {"task": p.task, "language": p.language, "program": p.prompt + p.solution + _closing(p)}
        for p in by_split["eval"]
    )
    _write_jsonl(out / "parallel.jsonl", parallel)

    # ---- SFT pool: train tasks, trainable languages, grouped by task in a seeded order
    pool = sft_pool(by_split["train"], trainable, seed)
    _write_jsonl(out / "sft.jsonl", pool)

    # ---- pretraining corpus
    corpus = build_corpus(suite, languages, corpus_shares or {}, corpus_documents, seed)
    _write_jsonl(out / "corpus.jsonl", corpus)

    # ---- checks and manifest
    for name in ("sft.jsonl", "rl.jsonl"):
        for _ in mixtures.assert_absent(_read_jsonl(out / name), held_out, name):
            pass
    manifest = _manifest(suite, by_split, pool, corpus, trainable, parallel_k, seed)
    if verify:
        from xlt.data.micro.verify import verify_problems  # imports the execution engine

        report = verify_problems([p for problems in by_split.values() for p in problems])
        manifest["verification"] = report
        if report["failures"]:
            raise RuntimeError(f"micro suite verification failed: {report['failures'][:5]}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    log.info("micro data: %s", manifest["tasks"])
    return manifest


def sft_pool(problems: Iterable[Problem], languages: Sequence[str], seed: int) -> list[dict]:
    """SFT examples (prompt -> canonical completion), grouped by task, tasks in a seeded order."""
    by_task: dict[str, dict[str, Problem]] = {}
    for problem in problems:
        if problem.language in languages:
            by_task.setdefault(problem.task, {})[problem.language] = problem
    order = sorted(by_task)
    random.Random(f"{seed}:sft-pool").shuffle(order)
    return [
        {
            "prompt": p.prompt,
            "response": p.solution,
            "language": p.language,
            "task": p.task,
            "source": "micro",
        }
        for task in order
        for p in (by_task[task][lang] for lang in languages if lang in by_task[task])
    ]


def _manifest(
    suite: MicroSuite,
    by_split: dict[str, list[Problem]],
    pool: list[dict],
    corpus: list[dict],
    trainable: list[str],
    parallel_k: int,
    seed: int,
) -> dict[str, Any]:
    sizes = mixtures.full_sizes(
        lambda: mixtures.group_by_task(pool),
        mixtures.example_tokens,
        languages=trainable,
        parallel_k=parallel_k,
    )
    corpus_docs = Counter(doc["language"] for doc in corpus)
    corpus_tokens = Counter()
    for doc in corpus:
        corpus_tokens[doc["language"]] += mixtures.proxy_tokens(doc["text"])
    return {
        "seed": seed,
        "space_size": sum(1 for _ in enumerate_programs()),
        "tasks": {split: len(suite.split(split)) for split in ("train", "rl", "eval")},
        "spare_programs": len(suite.spare),
        "families": dict(Counter(t.program.family for t in suite.tasks)),
        "problems": {
            split: dict(Counter(p.language for p in problems))
            for split, problems in by_split.items()
        },
        "sft_pool": dict(Counter(r["language"] for r in pool)),
        "corpus": {
            "documents": dict(corpus_docs),
            "proxy_tokens": dict(corpus_tokens),
            "shares": {lang: n / len(corpus) for lang, n in corpus_docs.items()},
        },
        "mixture_full_proxy_tokens": sizes,
        "matched_budget_proxy_tokens": min(sizes.values()),
        "token_counter": "xlt.data.mixtures.proxy_tokens(prompt + response)",
    }


def _closing(problem: Problem) -> str:
    """What closes the function after the completion (C++: its tests open with the brace)."""
    return SYNTAXES[problem.language].closing


def _write_jsonl(path: Path, records: Iterable[dict]) -> None:
    with path.open("w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def _read_jsonl(path: Path) -> Iterable[dict]:
    with path.open() as f:
        for line in f:
            yield json.loads(line)
