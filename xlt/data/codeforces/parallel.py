"""Parallel programs for CodeForces problems: harvested submissions and translations, both verified.

Harvested: accepted submissions are re-run on the problem's official tests in `io` mode
(the execution engine's token-wise comparison); only those that pass are kept, up to
`per_language` per (problem, language). A submission CodeForces accepted may still fail
here (other compiler, other limits, a dataset error), which is why nothing is trusted
unverified.

Translated (the MultiPL-T recipe, Cassano et al. 2024): for each language a problem
still lacks, a verified program in another language is translated by a model, and a
translation is kept only if it passes the same tests. The translator is any callable
`(requests) -> [request][candidate program]`; `GeneratorTranslator` adapts a generation
backend (`xlt.generation`), and tests use a scripted one.

`run_jobs` is `xlt.execution.execute` unless given: `(jobs) -> results`, same order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xlt.data.codeforces.problems import CFProblem, timeout_for
from xlt.execution.types import Job, Result
from xlt.languages import get_language

RunJobs = Callable[[Sequence[Job]], list[Result]]


@dataclass(frozen=True)
class Verified:
    """A program that passed all official tests of its problem."""

    problem_id: str
    language: str
    program: str
    origin: str  # "harvested" or "translated"
    ref: str  # submission id, or "<source language>:<submission id>" for a translation


@dataclass(frozen=True)
class TranslationRequest:
    problem: CFProblem
    source_language: str
    source_program: str
    target_language: str
    ref: str  # the source program's ref


Translator = Callable[[list[TranslationRequest]], list[list[str]]]


def default_run_jobs(jobs: Sequence[Job]) -> list[Result]:
    from xlt.execution import execute  # the engine pulls in its pool; import it only when used

    return execute(jobs, progress=False)


def _job(
    problem: CFProblem, language: str, program: str, factors: dict[str, float], tag: str
) -> Job:
    return Job(
        language=language,
        program=program,
        mode="io",
        cases=problem.cases,
        timeout_s=timeout_for(problem, language, factors),
        id=f"{problem.id}|{language}|{tag}",
    )


@dataclass
class ParallelStats:
    """Counts per language; `metrics()` gives the slash-keyed view."""

    tried: Counter  # (origin, language) -> programs run
    passed: Counter  # (origin, language) -> programs that passed
    statuses: Counter  # (origin, language, status) -> programs
    covered: Counter  # language -> problems with >= 1 verified program

    @classmethod
    def empty(cls) -> ParallelStats:
        return cls(Counter(), Counter(), Counter(), Counter())

    def record(self, origin: str, language: str, result: Result) -> None:
        self.tried[origin, language] += 1
        self.passed[origin, language] += result.passed
        self.statuses[origin, language, result.status] += 1

    def metrics(self, num_problems: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for (origin, language), tried in sorted(self.tried.items()):
            out[f"data/{origin}/{language}/tried"] = float(tried)
            out[f"data/{origin}/{language}/yield"] = self.passed[origin, language] / tried
        for (origin, language, status), n in sorted(self.statuses.items()):
            out[f"data/{origin}/{language}/{status}_frac"] = n / self.tried[origin, language]
        for language, n in sorted(self.covered.items()):
            out[f"data/coverage/{language}"] = n / max(num_problems, 1)
        return out


def harvest(
    batch: Sequence[tuple[CFProblem, list[tuple[str, str, str]]]],
    *,
    per_language: int,
    factors: dict[str, float],
    run_jobs: RunJobs,
    stats: ParallelStats,
) -> list[Verified]:
    """Verified submissions of a batch of (problem, [(language, submission id, source)])."""
    jobs, owners = [], []
    for problem, candidates in batch:
        for language, submission_id, source in candidates:
            jobs.append(_job(problem, language, source, factors, submission_id))
            owners.append((problem, language, submission_id, source))
    kept: list[Verified] = []
    per_key: Counter = Counter()
    for (problem, language, submission_id, source), result in zip(
        owners, run_jobs(jobs), strict=True
    ):
        stats.record("harvested", language, result)
        if result.passed and per_key[problem.id, language] < per_language:
            per_key[problem.id, language] += 1
            kept.append(Verified(problem.id, language, source, "harvested", submission_id))
    return kept


def translation_requests(
    problem: CFProblem,
    verified: Sequence[Verified],
    targets: Sequence[str],
    pivot_order: Sequence[str],
) -> list[TranslationRequest]:
    """One request per target language the problem lacks, from its best pivot program."""
    by_language = {}
    for item in verified:
        by_language.setdefault(item.language, item)
    if not by_language:
        return []
    ranked = [lang for lang in pivot_order if lang in by_language] + sorted(by_language)
    pivot = by_language[ranked[0]]
    return [
        TranslationRequest(problem, pivot.language, pivot.program, target, pivot.ref)
        for target in targets
        if target not in by_language
    ]


def translate_and_verify(
    requests: Sequence[TranslationRequest],
    *,
    translator: Translator,
    factors: dict[str, float],
    run_jobs: RunJobs,
    stats: ParallelStats,
) -> list[Verified]:
    """Translations that pass the tests: at most one per request (the first passing candidate)."""
    if not requests:
        return []
    outputs = translator(list(requests))
    if len(outputs) != len(requests):
        raise ValueError(
            f"the translator returned {len(outputs)} answers for {len(requests)} requests; "
            "it must return one list of candidates per request, in order"
        )
    jobs, owners = [], []
    for index, (request, candidates) in enumerate(zip(requests, outputs, strict=True)):
        for n, program in enumerate(candidates):
            jobs.append(_job(request.problem, request.target_language, program, factors, f"t{n}"))
            owners.append((index, program))
    kept: dict[int, Verified] = {}
    for (index, program), result in zip(owners, run_jobs(jobs), strict=True):
        request = requests[index]
        stats.record("translated", request.target_language, result)
        if result.passed and index not in kept:
            ref = f"{request.source_language}:{request.ref}"
            kept[index] = Verified(
                request.problem.id, request.target_language, program, "translated", ref
            )
    return [kept[i] for i in sorted(kept)]


def translation_prompt(request: TranslationRequest) -> str:
    """MultiPL-T-style instruction: the problem, the verified source program, the target language."""
    source = get_language(request.source_language).name
    target = get_language(request.target_language).name
    return (
        f"Translate this {source} solution of a programming problem into {target}. "
        "Keep the same input and output behaviour.\n\n"
        f"# {request.problem.title}\n{request.problem.statement}\n\n"
        f"{source} solution:\n```\n{request.source_program.rstrip()}\n```\n\n"
        f"Answer with the complete {target} program in one code block."
    )


class GeneratorTranslator:
    """A `Translator` backed by a generation backend (HF or vLLM) in chat or plain mode.

    `render(text) -> prompt` wraps the instruction (e.g. `xlt.generation.chat_prompt` with
    the model's tokenizer for an instruct model); the code block of the target language is
    extracted from each sample.
    """

    def __init__(self, generator, params, render: Callable[[str], str] = lambda text: text):
        self.generator = generator
        self.params = params
        self.render = render

    def __call__(self, requests: list[TranslationRequest]) -> list[list[str]]:
        from xlt.generation.text import extract_code

        prompts = [self.render(translation_prompt(request)) for request in requests]
        samples = self.generator.generate(prompts, self.params)
        return [
            [extract_code(completion.text, request.target_language) for completion in per_prompt]
            for request, per_prompt in zip(requests, samples, strict=True)
        ]
