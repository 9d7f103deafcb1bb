"""Completions -> programs -> execution -> per-problem results.

Two completion formats:
- `completion`: the text continues `problem.prompt` (base models, MultiPL-E style);
  it is cut at the problem's first stop token.
- `chat`: a chat answer. Its code block for the problem's language is taken
  (`xlt.generation.extract_code`); if the block repeats the prompt, the part after
  the prompt's last line (the function header, or the docstring's end in Python)
  is the completion; then it is cut at the stop tokens as above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xlt.data.records import Problem
from xlt.eval.results import STDERR_CHARS, ProblemResult, SampleResult
from xlt.execution.types import Job, Result
from xlt.generation.text import extract_code, truncate_at_stop

FORMATS = ("completion", "chat")

ExecuteFn = Callable[..., list[Result]]


def _after_prompt(code: str, prompt: str) -> str:
    """The part of `code` after the line that ends `prompt`, or all of it if absent."""
    prompt_lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    if not prompt_lines:
        return code
    last = prompt_lines[-1]
    lines = code.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == last:
            return "".join(lines[index + 1 :])
    return code


def completion_code(problem: Problem, text: str, fmt: str = "completion") -> str:
    """What goes between `problem.prompt` and `problem.tests` for a model's output `text`."""
    if fmt not in FORMATS:
        raise ValueError(f"completion format {fmt!r} is not one of {FORMATS}")
    if fmt == "chat":
        text = _after_prompt(extract_code(text, problem.language), problem.prompt)
    return truncate_at_stop(text, problem.stop_tokens) if problem.stop_tokens else text


def default_execute() -> ExecuteFn:
    from xlt.execution import execute  # deferred: the engine starts worker pools lazily

    return execute


def score(
    items: Sequence[tuple[Problem, Sequence[str]]],
    *,
    execute_fn: ExecuteFn | None = None,
    workers: int | None = None,
    cache_dir: str | None = None,
    timeout_s: float | None = None,
    progress: bool = False,
) -> list[ProblemResult]:
    """Run every (problem, completions) pair's programs in one batch; one result per problem.

    `completions` are already in `completion` form (see `completion_code`).
    """
    execute_fn = execute_fn or default_execute()
    jobs: list[Job] = []
    for problem, completions in items:
        for index, completion in enumerate(completions):
            jobs.append(problem.job(completion, id=f"{problem.name}#{index}", timeout_s=timeout_s))
    outcomes = iter(execute_fn(jobs, workers=workers, cache_dir=cache_dir, progress=progress))
    results = []
    for problem, completions in items:
        samples = []
        for completion in completions:
            outcome = next(outcomes)
            samples.append(
                SampleResult(
                    completion=completion,
                    status=outcome.status,
                    exit_code=outcome.exit_code,
                    stderr=outcome.stderr[:STDERR_CHARS],
                )
            )
        results.append(ProblemResult(problem.name, problem.task, problem.language, samples))
    return results
