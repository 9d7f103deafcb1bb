"""Known-good and known-bad programs from the real benchmarks, to check the runners.

- good: HumanEval-X / MBXP canonical solutions (`problem.program(problem.solution)`);
- wrong: the same prompts and tests with a solution that returns a default value
  (None, {}, 0, null...) and closes the function as the canonical one does: it
  compiles where the types allow, so the tests themselves must reject it;
- empty / wrong completions of MultiPL-E prompts.

Used by the slow test sweep, `python -m xlt.execution sweep` and the benchmark. It lives
in `xlt.data` because it loads benchmarks: the execution engine itself never imports data.
"""

from __future__ import annotations

from xlt.data.benchmarks import load_humaneval_x, load_mbxp, load_multipl_e
from xlt.data.records import Problem
from xlt.execution.types import Job
from xlt.languages import get_language


def default_body(language: str, prompt: str) -> str:
    """A body that returns the default value of the function's type (the language table's)."""
    make = get_language(language).default_body
    if make is None:
        raise ValueError(f"no default-returning body for language {language!r} (CI languages only)")
    return make(prompt)


def _closers(text: str, language: str) -> int:
    closer = get_language(language).closer
    if not closer:
        return 0
    if closer != "}":
        return 1
    return max(0, text.count("}") - text.count("{"))


def wrong_solution(problem: Problem) -> str:
    """A default-returning body, closed like the canonical solution closes it."""
    closer = get_language(problem.language).closer
    count = _closers(problem.solution or "", problem.language)
    return default_body(problem.language, problem.prompt) + "".join(
        closer + "\n" for _ in range(count)
    )


def wrong_completion(problem: Problem) -> str:
    """For MultiPL-E: close the function only where the tests do not start by closing it."""
    closer = get_language(problem.language).closer
    closes = not closer or problem.tests.lstrip().startswith(closer)
    return default_body(problem.language, problem.prompt) + ("" if closes else closer + "\n")


def canonical_problems(benchmark: str, language: str) -> list[Problem]:
    """Problems with a canonical solution and no known defect."""
    loader = {"humaneval-x": load_humaneval_x, "mbxp": load_mbxp}[benchmark]
    return [p for p in loader(language) if p.solution and "defect" not in p.meta]


def known_defects(benchmark: str, language: str) -> list[Problem]:
    loader = {"humaneval-x": load_humaneval_x, "mbxp": load_mbxp}[benchmark]
    return [p for p in loader(language) if p.solution and "defect" in p.meta]


def good_jobs(problems: list[Problem], tag: str = "") -> list[Job]:
    return [p.job(p.solution or "", id=f"{tag}{p.name}") for p in problems]


def wrong_jobs(problems: list[Problem], tag: str = "") -> list[Job]:
    return [p.job(wrong_solution(p), id=f"{tag}{p.name}") for p in problems]


def multipl_e_negative_jobs(language: str) -> tuple[list[Job], list[Job]]:
    """(empty completions, wrong completions) for MultiPL-E HumanEval in `language`."""
    problems = load_multipl_e(None, language)
    empty = [p.job("", id=f"empty:{p.name}") for p in problems]
    wrong = [p.job(wrong_completion(p), id=f"wrong:{p.name}") for p in problems]
    return empty, wrong
