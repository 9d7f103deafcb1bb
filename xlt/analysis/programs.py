"""Parallel programs to analyse: the same problems solved in several languages.

Two sources:
- a `parallel.jsonl` artifact (one `{"task", "language", "program"}` object per
  line), written by the data stage from the micro suite or CodeForces submissions;
- benchmark canonical solutions (HumanEval-X, MBXP) through `xlt.data.benchmarks`,
  with a choice of text (`BENCHMARK_TEXTS`):
  - `solution` (default): the canonical solution alone, the code a model writes.
  - `prompt_solution`: signature + docstring + solution. The docstring is the same
    English text in every language, so it makes programs of one problem look alike
    for reasons that have nothing to do with code: on HumanEval-X, a randomly
    initialised tiny model's *embedding layer* already retrieves the parallel
    program ~69% of the time this way (docs/analysis.md).
  - `program`: the whole runnable program, tests included (mostly language-specific
    harness such as `assert.Equal(...)` or `#[test]`).

`select_programs` then keeps the chosen languages and the first `max_tasks`
problems that at least two of those languages share (a problem in one language
only cannot be retrieved across languages).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xlt.data.records import Problem

# What text of a benchmark problem is analysed (see the module docstring).
BENCHMARK_TEXTS = ("solution", "prompt_solution", "program")


@dataclass(frozen=True)
class ParallelProgram:
    task: str  # language-independent problem id, shared by the parallel versions
    language: str  # MultiPL-E code
    program: str


def read_parallel_jsonl(path: str | Path) -> list[ParallelProgram]:
    """Programs from a `{"task", "language", "program"}` JSONL file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no parallel-program file at {path} (expected the data stage's parallel.jsonl)"
        )
    programs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        missing = {"task", "language", "program"} - record.keys()
        if missing:
            raise ValueError(f"{path}:{number}: record lacks {sorted(missing)}")
        programs.append(ParallelProgram(str(record["task"]), record["language"], record["program"]))
    return programs


def programs_from_problems(
    problems: Iterable[Problem], *, text: str = "solution"
) -> list[ParallelProgram]:
    """One program per problem that has a known-good `solution` (others are skipped); see `BENCHMARK_TEXTS`."""
    if text not in BENCHMARK_TEXTS:
        raise ValueError(f"text={text!r}: use one of {', '.join(BENCHMARK_TEXTS)}")
    programs = []
    for problem in problems:
        if problem.solution is None:
            continue
        program = {
            "solution": problem.solution,
            "prompt_solution": problem.prompt + problem.solution,
            "program": problem.program(problem.solution),
        }[text]
        programs.append(ParallelProgram(problem.task, problem.language, program))
    return programs


def benchmark_programs(
    benchmark: str,
    languages: Sequence[str] = (),
    *,
    text: str = "solution",
    root: str | Path | None = None,
) -> list[ParallelProgram]:
    """Canonical solutions of `benchmark` ("humaneval-x" or "mbxp") in `languages` (() = all).

    Languages whose release has no canonical solutions (MBXP go, pl, scala, swift)
    contribute nothing; naming one explicitly raises.
    """
    from xlt.data.benchmarks import get_benchmark  # the data package is only needed here

    spec = get_benchmark(benchmark)
    chosen = tuple(languages) or spec.languages(root)
    programs = []
    for language in chosen:
        found = programs_from_problems(spec.load(language, root, None), text=text)
        if not found and languages:
            raise ValueError(
                f"{benchmark} has no canonical solutions in {language!r}; drop it from analysis.languages"
            )
        programs.extend(found)
    return programs


def select_programs(
    programs: Sequence[ParallelProgram],
    *,
    languages: Sequence[str] = (),
    max_tasks: int | None = None,
) -> list[ParallelProgram]:
    """Keep `languages` (() = all) and the first `max_tasks` problems shared by two or more of them.

    Problems are taken in order of first appearance, so the selection is
    deterministic for a given input. Raises when fewer than two languages remain.
    """
    if languages:
        present = {p.language for p in programs}
        absent = sorted(set(languages) - present)
        if absent:
            raise ValueError(
                f"no programs in {absent}; the source has {sorted(present)}. Fix analysis.languages"
            )
        programs = [p for p in programs if p.language in languages]
    languages_by_task: dict[str, set[str]] = {}
    for program in programs:
        languages_by_task.setdefault(program.task, set()).add(program.language)
    shared = [task for task, langs in languages_by_task.items() if len(langs) >= 2]
    if max_tasks is not None:
        shared = shared[:max_tasks]
    keep = set(shared)
    selected = [p for p in programs if p.task in keep]
    if len({p.language for p in selected}) < 2:
        raise ValueError(
            "cross-language analysis needs problems solved in at least two languages; "
            f"got languages {sorted({p.language for p in programs})} with no shared problems"
        )
    return selected
