"""A CodeForces problem as xlt uses it, and its rendering into `io`-mode `Problem`s.

`CFProblem` keeps what the study needs from a Hub row (statement, limits, official
tests). `to_xlt_problem(problem, language, factors)` renders it for one language: the
prompt asks for a complete program in that language, the cases are the official tests,
and `meta["timeout_s"]` is the CodeForces time limit scaled for the language
(interpreted languages get more time, as judges that accept them do).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from xlt.data.records import Problem
from xlt.execution.types import Case
from xlt.languages import LANGUAGES, get_language

# How much longer than the CodeForces limit each language may run (`Language.time_factor`).
DEFAULT_TIME_FACTORS: dict[str, float] = {
    code: lang.time_factor for code, lang in LANGUAGES.items()
}


@dataclass(frozen=True)
class CFProblem:
    id: str  # "1623/D"
    title: str
    statement: str  # description + input/output format + note
    examples: tuple[Case, ...]
    cases: tuple[Case, ...]  # the official tests
    time_limit_s: float
    memory_limit_mb: float
    rating: int | None
    tags: tuple[str, ...]
    aliases: tuple[str, ...]

    @property
    def task(self) -> str:
        """The language-independent task id shared by this problem's parallel programs."""
        return f"cf/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["examples"] = [asdict(case) for case in self.examples]
        record["cases"] = [asdict(case) for case in self.cases]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> CFProblem:
        record = dict(record)
        record["examples"] = tuple(Case(**case) for case in record["examples"])
        record["cases"] = tuple(Case(**case) for case in record["cases"])
        record["tags"] = tuple(record["tags"])
        record["aliases"] = tuple(record["aliases"])
        return cls(**record)


def _cases(tests: list[dict[str, str]] | None) -> tuple[Case, ...]:
    return tuple(Case(stdin=t["input"], expected=t["output"]) for t in tests or ())


def from_row(row: dict[str, Any]) -> CFProblem:
    """A CFProblem from a Hub row that passed `schema.check_problem_row`."""
    sections = [row.get("description") or ""]
    for heading, key in (("Input", "input_format"), ("Output", "output_format"), ("Note", "note")):
        if row.get(key):
            sections.append(f"{heading}\n{row[key]}")
    return CFProblem(
        id=row["id"],
        title=row.get("title") or row["id"],
        statement="\n\n".join(sections),
        examples=_cases(row.get("examples")),
        cases=_cases(row["official_tests"]),
        time_limit_s=float(row["time_limit"]),
        memory_limit_mb=float(row.get("memory_limit") or 256.0),
        rating=row.get("rating"),
        tags=tuple(row.get("tags") or ()),
        aliases=tuple(row.get("aliases") or ()),
    )


def render_prompt(problem: CFProblem, language: str) -> str:
    """The task as a chat-style instruction: statement, examples, and the language to write in."""
    name = get_language(language).name
    parts = [f"# {problem.title}", problem.statement]
    for i, case in enumerate(problem.examples, start=1):
        parts.append(f"Example {i}\nInput:\n{case.stdin}\nOutput:\n{case.expected}")
    parts.append(
        f"Time limit: {problem.time_limit_s:g} s. Memory limit: {problem.memory_limit_mb:g} MB.\n"
        f"Write a complete {name} program that reads the input from standard input and "
        f"writes the answer to standard output. Answer with one ```{get_language(language).fence_tags[0]} "
        "code block."
    )
    return "\n\n".join(parts)


def fenced(program: str, language: str) -> str:
    """A program as the response of an SFT example: one fenced block of the right language."""
    return f"```{get_language(language).fence_tags[0]}\n{program.rstrip()}\n```"


def timeout_for(problem: CFProblem, language: str, factors: dict[str, float]) -> float:
    """The CodeForces time limit scaled for `language` (1.0 where the table has no entry)."""
    return problem.time_limit_s * factors.get(language, 1.0)


def to_xlt_problem(problem: CFProblem, language: str, factors: dict[str, float]) -> Problem:
    """The `io`-mode Problem of `problem` in `language`, as RL and evaluation consume it."""
    return Problem(
        name=f"cf_{problem.id.replace('/', '_')}_{language}",
        task=problem.task,
        language=language,
        prompt=render_prompt(problem, language),
        mode="io",
        cases=problem.cases,
        description=problem.statement,
        meta={
            "source": "codeforces",
            "cf_id": problem.id,
            "time_limit_s": problem.time_limit_s,
            "timeout_s": timeout_for(problem, language, factors),
            "memory_limit_mb": problem.memory_limit_mb,
            "rating": problem.rating,
            "tags": list(problem.tags),
        },
    )
