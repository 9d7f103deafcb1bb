"""The `eval` config group: benchmark, languages, sampling and k (`xlt.stages.evaluate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlt.checks import check_choice, check_languages
from xlt.spec import outside_key


@dataclass(frozen=True)
class EvalConfig:
    benchmark: str = "micro"  # micro | multipl-e | humaneval-x | mbxp
    data_path: str | None = None  # local benchmark folder; None: the data stage / shared benchmarks
    revision: str | None = None  # Hub dataset revision (multipl-e from the Hub must pin one)
    languages: list[str] = field(default_factory=list)  # [] = every language of the data
    num_samples: int = 1
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    max_new_tokens: int = 96
    k: list[int] = field(default_factory=lambda: [1])
    max_problems: int | None = None  # per language; None: all
    # Chat models only: "prefill" opens the answer with a code fence and the prompt, so the
    # model continues the code (cut at MultiPL-E's stops); "free" asks the question alone and
    # scores the answer by the language's chat rule (docs/evaluation.md, chat answers).
    chat_answers: str = "prefill"
    bootstrap_samples: int = outside_key(1000)  # the report's intervals, not the stage's output

    def __post_init__(self) -> None:
        check_choice(
            self.benchmark, ("micro", "multipl-e", "humaneval-x", "mbxp"), "eval.benchmark"
        )
        check_languages(self.languages, "eval.languages")
        check_choice(self.chat_answers, ("prefill", "free"), "eval.chat_answers")
        too_big = [k for k in self.k if k > self.num_samples]
        if too_big:
            raise ValueError(
                f"eval.k has {too_big} > eval.num_samples={self.num_samples}: "
                "raise eval.num_samples or drop those k"
            )
        if self.num_samples > 1 and self.temperature == 0:
            raise ValueError("eval.num_samples > 1 with eval.temperature=0 gives identical samples")
