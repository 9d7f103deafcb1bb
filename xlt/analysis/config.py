"""The `analysis` config group: representation analysis of each checkpoint (`xlt.analysis`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlt.checks import check_choice, check_languages, check_positive


@dataclass(frozen=True)
class AnalysisConfig:
    """Representation analysis of every checkpoint (xlt.stages.analyze; docs/analysis.md)."""

    enabled: bool = True
    source: str = "data"  # data (the data stage's parallel.jsonl) | humaneval-x | mbxp
    languages: list[str] = field(default_factory=list)  # [] = all available
    pooling: str = "mean"  # mean (over program tokens) | last (last program token)
    batch_size: int = 16  # programs per forward pass
    max_programs: int | None = 200  # problems analysed, so at most this many programs per language
    # Benchmark sources only: solution (code alone) | prompt_solution (+ signature and the
    # English docstring shared by all languages) | program (+ tests).
    text: str = "solution"
    max_tokens: int | None = None  # programs are cut to this many tokens; None = model context
    center: bool = False  # subtract each layer's mean embedding before the metrics
    device: str = "auto"  # auto (cuda when available) | cpu | cuda
    save_embeddings: bool = False  # also write embeddings.npz (all layers, float32)

    def __post_init__(self) -> None:
        check_choice(self.source, ("data", "humaneval-x", "mbxp"), "analysis.source")
        check_choice(self.pooling, ("mean", "last"), "analysis.pooling")
        check_choice(self.text, ("solution", "prompt_solution", "program"), "analysis.text")
        check_choice(self.device, ("auto", "cpu", "cuda"), "analysis.device")
        check_languages(self.languages, "analysis.languages")
        check_positive(self.batch_size, "analysis.batch_size")
        for key in ("max_programs", "max_tokens"):
            if getattr(self, key) is not None:
                check_positive(getattr(self, key), f"analysis.{key}")
