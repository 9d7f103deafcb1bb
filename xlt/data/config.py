"""The `data` config group: the micro suite (`xlt.data.micro`, `xlt.stages.data`) or CodeForces
(`xlt.data.codeforces`, `xlt.stages.data_paper`). Defaults are the micro values."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlt.checks import check_languages, check_positive


@dataclass(frozen=True)
class MicroDataConfig:
    """The embedded synthetic suite of parallel programs (micro scale)."""

    kind: str = "micro"
    languages: list[str] = field(default_factory=lambda: ["py", "js", "lua", "rb", "php", "pl"])
    held_out: list[str] = field(default_factory=lambda: ["rb", "pl"])  # never in SFT or RL data
    num_tasks: int = 600
    split_fractions: list[float] = field(default_factory=lambda: [0.6, 0.2, 0.2])  # sft, rl, eval
    corpus_shares: dict[str, float] = field(
        default_factory=lambda: {
            "py": 0.35,
            "js": 0.2,
            "lua": 0.2,
            "php": 0.15,
            "rb": 0.05,
            "pl": 0.05,
        }
    )  # language -> share; {} = even
    corpus_documents: int = 4000  # pretraining documents (one function each)
    parallel_k: int = 3  # languages per problem in the parallel mixture
    num_tests: int = 5  # test cases per problem
    doc_examples: int = 0  # MultiPL-E style `>>> f(x)` examples in each prompt's doc comment
    verify: bool = False  # run every canonical and wrong solution through the engine (minutes)
    seed: int = 0

    def __post_init__(self) -> None:
        check_languages(self.languages, "data.languages")
        check_languages(self.held_out, "data.held_out")
        missing = sorted(set(self.held_out) - set(self.languages))
        if missing:
            raise ValueError(f"data.held_out has {missing}, which are not in data.languages")
        check_positive(self.num_tasks, "data.num_tasks")
        check_positive(self.corpus_documents, "data.corpus_documents")
        if len(self.split_fractions) != 3 or abs(sum(self.split_fractions) - 1) > 1e-6:
            raise ValueError(
                "data.split_fractions must be three numbers (sft, rl, eval) summing to 1"
            )
        from xlt.data.micro import MICRO_LANGUAGES  # the renderers are the source of truth

        unrendered = sorted(set(self.languages) - set(MICRO_LANGUAGES))
        if unrendered:
            raise ValueError(
                f"data.languages has {unrendered}, which the micro suite cannot render; "
                f"use some of {list(MICRO_LANGUAGES)}"
            )
        trainable = len(self.languages) - len(self.held_out)
        if not 2 <= self.parallel_k <= trainable:
            raise ValueError(
                f"data.parallel_k={self.parallel_k} must be between 2 and the {trainable} "
                "trainable (not held-out) languages"
            )
        if self.corpus_shares and set(self.corpus_shares) != set(self.languages):
            raise ValueError(
                f"data.corpus_shares must give every one of data.languages a share "
                f"(or be {{}} for even shares); got {dict(self.corpus_shares)}"
            )
        if self.num_tests < 2:
            raise ValueError(f"data.num_tests={self.num_tests} must be >= 2")

    @property
    def trainable_languages(self) -> list[str]:
        return [code for code in self.languages if code not in self.held_out]


@dataclass(frozen=True)
class CodeforcesDataConfig:
    """CodeForces problems and multi-language accepted submissions (paper scale; docs/data.md)."""

    kind: str = "codeforces"
    problems_dataset: str = "open-r1/codeforces"
    problems_config: str = "default"
    # Hub commits the schemas in docs/data.md were read from; override to move on.
    problems_revision: str | None = "8fd706e298b713125ac8df18cd5d847440fe3fb9"
    train_split: str = "train"
    eval_split: str | None = "test"  # held-out problems -> eval.jsonl; None: no CodeForces eval
    submissions_dataset: str = "open-r1/codeforces-submissions"
    submissions_config: str = "selected_accepted"
    submissions_revision: str | None = "07e7bf31f284b0e90e02dfc7ab675d5821e1c068"
    # A local copy in the Hub format instead of the Hub: a folder holding
    # problems/<split>* and submissions/* (.parquet files or .jsonl(.gz) files).
    local_path: str | None = None
    languages: list[str] = field(default_factory=lambda: ["py", "cpp", "java", "go", "php", "rb"])
    held_out: list[str] = field(default_factory=lambda: ["go", "php", "rb"])
    parallel_k: int = 3
    seed: int = 0
    # Harvested parallel programs: candidates verified per (problem, language), programs kept.
    max_candidates: int = 3
    solutions_per_language: int = 1
    # Translated parallel programs (MultiPL-T): target languages, and the model that
    # translates (null: the study's model.path) through the rollout backend.
    translate_to: list[str] = field(default_factory=list)
    translator_model: str | None = None
    translation_samples: int = 4
    translation_temperature: float = 0.4
    translation_max_new_tokens: int = 2048
    # Decontamination: word n-gram size, and benchmark globs under XLT_BENCHMARKS.
    decontamination_ngram: int = 13
    decontamination_benchmarks: list[str] = field(
        default_factory=lambda: [
            "multipl-e-humaneval/*.jsonl.gz",
            "humaneval-x/*.jsonl.gz",
            "mbxp/*.jsonl.gz",
        ]
    )
    time_limit_factors: dict[str, float] = field(default_factory=dict)  # overrides per language
    max_problems: int | None = None  # training problems used; None: all
    max_rating: int | None = None  # drop harder problems; None: keep all
    rl_verified_only: bool = True  # RL problems need a verified program (sane tests)
    batch_problems: int = 64  # problems per verification batch

    def __post_init__(self) -> None:
        check_languages(self.languages, "data.languages")
        check_languages(self.held_out, "data.held_out")
        check_languages(self.translate_to, "data.translate_to")
        check_languages(list(self.time_limit_factors), "data.time_limit_factors")
        for key, codes in (("held_out", self.held_out), ("translate_to", self.translate_to)):
            missing = sorted(set(codes) - set(self.languages))
            if missing:
                raise ValueError(f"data.{key} has {missing}, which are not in data.languages")
        for key in (
            "max_candidates",
            "solutions_per_language",
            "translation_samples",
            "batch_problems",
            "decontamination_ngram",
        ):
            check_positive(getattr(self, key), f"data.{key}")
        if self.solutions_per_language > self.max_candidates:
            raise ValueError(
                f"data.solutions_per_language={self.solutions_per_language} exceeds "
                f"data.max_candidates={self.max_candidates}; raise max_candidates"
            )
        if self.local_path is None:
            for key in ("problems_revision", "submissions_revision"):
                if not getattr(self, key):
                    raise ValueError(f"data.{key} must pin a Hub commit (or set data.local_path)")

    @property
    def trainable_languages(self) -> list[str]:
        return [code for code in self.languages if code not in self.held_out]


DataConfig = MicroDataConfig | CodeforcesDataConfig
