"""Model outputs -> programs -> execution -> per-problem results.

Three output formats (`program_for`):
- `completion`: the text continues `problem.prompt` (base models, MultiPL-E style, and chat
  models whose answer was prefilled with a fence and the prompt); it is cut at the
  problem's first stop token and the program is `prompt + completion + "\n" + tests`.
- `chat`: a chat model's free answer; `xlt.generation.answers.program_from_chat_answer`
  makes the program (the language's chat rule: the right block, whole functions with
  their helpers, `main`s and example calls dropped; never MultiPL-E's stop sequences).
- `auto`: `chat` if the text has a fenced block or defines the requested function itself,
  else `completion`.

Every sample's result keeps the program that ran (`extracted_program`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from xlt.data.records import Problem
from xlt.eval.results import STDERR_CHARS, ProblemResult, SampleResult
from xlt.execution.types import Job, Result
from xlt.generation.answers import is_chat_answer, program_from_chat_answer
from xlt.generation.text import truncate_at_stop

FORMATS = ("completion", "chat", "auto")

ExecuteFn = Callable[..., list[Result]]


def program_for(problem: Problem, text: str, fmt: str = "completion") -> str:
    """The whole program that scores a model's output `text` on `problem`."""
    if fmt not in FORMATS:
        raise ValueError(f"output format {fmt!r} is not one of {FORMATS}")
    if fmt == "chat" or (fmt == "auto" and is_chat_answer(problem, text)):
        return program_from_chat_answer(problem, text)
    return problem.program(truncate_at_stop(text, problem.stop_tokens))


def default_execute() -> ExecuteFn:
    from xlt.execution import execute  # deferred: the engine starts worker pools lazily

    return execute


def score(
    items: Sequence[tuple[Problem, Sequence[str]]],
    *,
    fmt: str = "completion",
    execute_fn: ExecuteFn | None = None,
    workers: int | None = None,
    cache_dir: str | None = None,
    timeout_s: float | None = None,
    progress: bool = False,
) -> list[ProblemResult]:
    """Run every (problem, outputs) pair's programs in one batch; one result per problem.

    `outputs` are model texts in format `fmt` (see `program_for`).
    """
    execute_fn = execute_fn or default_execute()
    jobs: list[Job] = []
    for problem, texts in items:
        for index, text in enumerate(texts):
            job = problem.job("", id=f"{problem.name}#{index}", timeout_s=timeout_s)
            jobs.append(dataclasses.replace(job, program=program_for(problem, text, fmt)))
    outcomes = iter(execute_fn(jobs, workers=workers, cache_dir=cache_dir, progress=progress))
    programs = iter(job.program for job in jobs)
    results = []
    for problem, texts in items:
        samples = []
        for text in texts:
            outcome = next(outcomes)
            samples.append(
                SampleResult(
                    completion=text,
                    status=outcome.status,
                    exit_code=outcome.exit_code,
                    stderr=outcome.stderr[:STDERR_CHARS],
                    extracted_program=next(programs),
                )
            )
        results.append(ProblemResult(problem.name, problem.task, problem.language, samples))
    return results
