"""The one problem record every benchmark, the micro suite and RL share.

A `tests`-mode problem follows MultiPL-E: the program that runs is
`prompt + completion + "\\n" + tests`. An `io`-mode problem (CodeForces style)
runs the completion itself as a whole program against stdin cases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from xlt.execution.types import Case, Job, Mode


@dataclass(frozen=True)
class Problem:
    name: str  # unique within (benchmark, language), e.g. "HumanEval_0_has_close_elements"
    task: str  # language-independent id shared by the parallel versions of one problem
    language: str  # MultiPL-E code
    prompt: str  # what the model continues (completion mode) or is asked (chat mode)
    tests: str = ""  # appended after prompt + completion in tests mode
    stop_tokens: tuple[str, ...] = ()
    mode: Mode = "tests"
    cases: tuple[Case, ...] = ()  # io mode
    solution: str | None = None  # a known-good completion, where the source has one
    description: str = ""  # natural-language statement
    meta: dict[str, Any] = field(default_factory=dict)

    def program(self, completion: str) -> str:
        if self.mode == "io":
            return completion
        return self.prompt + completion + "\n" + self.tests

    def job(self, completion: str, *, id: str = "", timeout_s: float | None = None) -> Job:
        return Job(
            language=self.language,
            program=self.program(completion),
            mode=self.mode,
            cases=self.cases,
            timeout_s=timeout_s,
            id=id or self.name,
        )

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["stop_tokens"] = list(self.stop_tokens)
        record["cases"] = [asdict(case) for case in self.cases]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Problem:
        record = dict(record)
        record["stop_tokens"] = tuple(record.get("stop_tokens", ()))
        record["cases"] = tuple(Case(**case) for case in record.get("cases", ()))
        return cls(**record)
