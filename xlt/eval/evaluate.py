"""Evaluate a model: sample n completions per problem, run them, pass@k per language.

    summary = evaluate_problems(problems, HFGenerator(model, tokenizer), params, out_dir, ks=[1])

Problems are generated in batches of one language (a language's problems share
their stop tokens); each finished batch is appended to `results/<lang>.jsonl`
before the next starts, so an interrupted evaluation resumes where it stopped:
problems already in the results file are skipped. Sampling seeds derive from
(params.seed, language, first problem of the batch), so a resumed batch samples
what the uninterrupted run would have, given the same batch boundaries.
The summary reports each language on its full problem set and every language
on the tasks common to all of them (`xlt.eval.results.summarize`).
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xlt.data.records import Problem
from xlt.eval.results import append_results, read_results, results_path, summarize
from xlt.eval.scoring import ExecuteFn, score
from xlt.generation.text import truncate_at_stop
from xlt.generation.types import Generator, SamplingParams

log = logging.getLogger(__name__)


def by_language(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for problem in problems:
        grouped.setdefault(problem.language, []).append(problem)
    return grouped


def batch_seed(seed: int, language: str, first_problem: str) -> int:
    return (seed + zlib.crc32(f"{language}/{first_problem}".encode())) % 2**31


def evaluate_problems(
    problems: Sequence[Problem],
    generator: Generator,
    params: SamplingParams,
    out_dir: str | Path,
    *,
    ks: Sequence[int] = (1,),
    batch_size: int = 16,
    render_prompt: Callable[[Problem], str] | None = None,
    extra_stops: tuple[str, ...] = (),
    answer_format: str = "completion",
    execute_fn: ExecuteFn | None = None,
    workers: int | None = None,
    cache_dir: str | None = None,
    timeout_s: float | None = None,
    on_batch: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Fill `out_dir/results/<lang>.jsonl` for every problem (resuming) and return the summary.

    `render_prompt`: the model's input for a problem (default `problem.prompt`; chat
    models get their template with the prompt prefilled). `extra_stops` are added to
    each problem's stop tokens (e.g. "```" after a prefilled fence).
    `answer_format`: "completion" (the output continues the prompt, also after a prefilled
    fence: cut at the stop tokens) or "chat" (a free chat answer: no stop tokens, the
    program is made by `xlt.generation.answers.program_from_chat_answer`).
    `on_batch(language, done, total)` is called after each batch (progress, logging).
    """
    if answer_format not in ("completion", "chat"):
        raise ValueError(f"answer_format must be 'completion' or 'chat', got {answer_format!r}")
    free = answer_format == "chat"
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    render_prompt = render_prompt or (lambda problem: problem.prompt)
    grouped = by_language(problems)
    for language, language_problems in grouped.items():
        path = results_path(out_dir, language)
        done = {result.name for result in read_results(path)}
        todo = [problem for problem in language_problems if problem.name not in done]
        if done:
            log.info(
                "%s: resuming, %d of %d problems done", language, len(done), len(language_problems)
            )
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            # A free chat answer is never cut: its fences and blank lines are part of it.
            stops = () if free else tuple(dict.fromkeys(batch[0].stop_tokens + extra_stops))
            batch_params = dataclasses.replace(
                params, stop=stops, seed=batch_seed(params.seed, language, batch[0].name)
            )
            samples_BN = generator.generate([render_prompt(p) for p in batch], batch_params)
            items = [
                (problem, [truncate_at_stop(sample.text, stops) for sample in samples])
                for problem, samples in zip(batch, samples_BN, strict=True)
            ]
            results = score(
                items,
                fmt=answer_format,
                execute_fn=execute_fn,
                workers=workers,
                cache_dir=cache_dir,
                timeout_s=timeout_s,
            )
            append_results(path, results)
            if on_batch is not None:
                on_batch(language, len(done) + start + len(batch), len(language_problems))
    results_by_language = {
        language: read_results(results_path(out_dir, language)) for language in grouped
    }
    expected = {language: len(items) for language, items in grouped.items()}
    return summarize(results_by_language, ks, expected)


def metrics_of(summary: dict[str, Any], benchmark: str) -> dict[str, float]:
    """Slash-keyed scalars for a tracker: eval/<benchmark>/<lang>/pass@k (full and common sets)."""
    metrics: dict[str, float] = {}
    for subset, languages in (
        ("", summary["languages"]),
        ("common/", summary["common"]["languages"]),
    ):
        for language, stats in languages.items():
            for key, value in stats.items():
                if key.startswith("pass@") and value is not None:
                    metrics[f"eval/{benchmark}/{subset}{language}/{key}"] = float(value)
    return metrics
