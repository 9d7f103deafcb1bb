"""Typed configuration: one dataclass per config group, built once at the entry point.

Each YAML file under `conf/<group>/` names its dataclass with `_target_`, so
`hydra.utils.instantiate` turns the composed config into these objects and the
checks in `__post_init__` run before any work. Library code never sees a
DictConfig: stages pick the plain values they need from these objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from xlt.generation.config import RolloutConfig
from xlt.languages import check_language
from xlt.rl.config import RLConfig

SFT_MIXTURES = ("none", "monolingual", "multilingual", "parallel")
ZERO_STAGES = (0, 1, 2, 3)


def _check_choice(value: object, choices: tuple, key: str) -> None:
    if value not in choices:
        raise ValueError(f"{key}={value!r} is not one of {list(choices)}; pick one of those")


def _check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise ValueError(f"{key}={value} must be > 0")


def _check_languages(codes: list[str], key: str) -> None:
    for code in codes:
        check_language(code, key)


# --------------------------------------------------------------------------- model


@dataclass
class ModelConfig:
    """A Hub/local checkpoint (`path`), or a tiny Llama built from scratch (`path: null`)."""

    name: str = "tiny-llama"
    path: str | None = None  # Hub name or local folder; None: build from scratch (micro scale)
    revision: str | None = None
    chat: bool = False  # instruct model: prompts go through its chat template
    # Architecture of a model built from scratch (ignored when `path` is set).
    vocab_size: int = 512
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    max_seq_len: int = 512

    def __post_init__(self) -> None:
        for key in ("vocab_size", "hidden_size", "num_layers", "num_heads", "max_seq_len"):
            _check_positive(getattr(self, key), f"model.{key}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"model.hidden_size={self.hidden_size} must be divisible by "
                f"model.num_heads={self.num_heads}"
            )


# --------------------------------------------------------------------------- data


@dataclass
class MicroDataConfig:
    """The embedded synthetic suite of parallel programs (micro scale)."""

    kind: str = "micro"
    languages: list[str] = field(default_factory=lambda: ["py", "js", "lua", "rb", "php", "pl"])
    held_out: list[str] = field(default_factory=lambda: ["rb", "pl"])  # never in SFT or RL data
    num_tasks: int = 600
    split_fractions: list[float] = field(default_factory=lambda: [0.6, 0.2, 0.2])  # sft, rl, eval
    corpus_shares: dict[str, float] = field(default_factory=dict)  # language -> share; {} = even
    corpus_documents: int = 4000  # pretraining documents (one function each)
    parallel_k: int = 3  # languages per problem in the parallel mixture
    num_tests: int = 5  # test cases per problem
    doc_examples: int = 0  # MultiPL-E style `>>> f(x)` examples in each prompt's doc comment
    verify: bool = False  # run every canonical and wrong solution through the engine (minutes)
    seed: int = 0

    def __post_init__(self) -> None:
        _check_languages(self.languages, "data.languages")
        _check_languages(self.held_out, "data.held_out")
        missing = sorted(set(self.held_out) - set(self.languages))
        if missing:
            raise ValueError(f"data.held_out has {missing}, which are not in data.languages")
        _check_positive(self.num_tasks, "data.num_tasks")
        _check_positive(self.corpus_documents, "data.corpus_documents")
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


@dataclass
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
        _check_languages(self.languages, "data.languages")
        _check_languages(self.held_out, "data.held_out")
        _check_languages(self.translate_to, "data.translate_to")
        _check_languages(list(self.time_limit_factors), "data.time_limit_factors")
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
            _check_positive(getattr(self, key), f"data.{key}")
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


# --------------------------------------------------------------------------- training


@dataclass
class PretrainConfig:
    """Training from scratch on the corpus: micro scale stands in for a pretrained LLM."""

    enabled: bool = True
    max_steps: int = 300
    batch_size: int = 16  # sequences per optimizer step, summed over ranks and accumulation
    micro_batch_size: int = 16  # sequences per forward pass per rank
    seq_len: int = 256
    lr: float = 3e-3
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    save_every: int = 100
    keep_last: int = 2

    def __post_init__(self) -> None:
        _check_micro_batch(self.batch_size, self.micro_batch_size, "pretrain")
        _check_rank_split(self.batch_size, self.micro_batch_size, "pretrain")


@dataclass
class SFTConfig:
    mixture: str = "parallel"  # none | monolingual | multilingual | parallel
    num_tokens: int | None = None  # token budget shared by all mixtures; None: the smallest one's
    max_steps: int = 200
    batch_size: int = 16
    micro_batch_size: int = 16
    seq_len: int = 256
    lr: float = 1e-3
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    save_every: int = 100
    keep_last: int = 2
    min_lr_ratio: float = 0.1  # cosine decays the LR to this fraction of lr
    gradient_checkpointing: bool = False  # recompute activations in backward (paper scale: on)

    def __post_init__(self) -> None:
        _check_choice(self.mixture, SFT_MIXTURES, "sft.mixture")
        _check_micro_batch(self.batch_size, self.micro_batch_size, "sft")
        _check_rank_split(self.batch_size, self.micro_batch_size, "sft")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"sft.min_lr_ratio={self.min_lr_ratio} must lie in [0, 1]")
        if self.warmup_steps > self.max_steps:
            raise ValueError(
                f"sft.warmup_steps={self.warmup_steps} exceeds sft.max_steps={self.max_steps}; "
                "lower sft.warmup_steps"
            )


def _check_rank_split(batch_size: int, micro_batch_size: int, group: str) -> None:
    """Under a launcher (torchrun/deepspeed set WORLD_SIZE) the batch must split over the ranks:
    every rank runs micro_batch_size sequences per accumulation step (ZeRO-2/3 included)."""
    num_ranks = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = micro_batch_size * num_ranks
    if batch_size % per_step:
        raise ValueError(
            f"{group}.batch_size={batch_size} does not split over {num_ranks} ranks x "
            f"{group}.micro_batch_size={micro_batch_size} = {per_step} sequences per "
            f"accumulation step; set {group}.batch_size to a multiple of {per_step}, or change "
            f"{group}.micro_batch_size or the number of processes"
        )


def _check_micro_batch(batch_size: int, micro_batch_size: int, group: str) -> None:
    _check_positive(batch_size, f"{group}.batch_size")
    _check_positive(micro_batch_size, f"{group}.micro_batch_size")
    if batch_size % micro_batch_size:
        raise ValueError(
            f"{group}.batch_size={batch_size} must be a multiple of "
            f"{group}.micro_batch_size={micro_batch_size} (the rest is gradient accumulation)"
        )


@dataclass
class ParallelizationConfig:
    """How training is spread over devices; rendered into a DeepSpeed config."""

    name: str = "single"
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    bf16: bool | None = None  # None: bf16 on GPU, fp32 on CPU

    def __post_init__(self) -> None:
        _check_choice(self.zero_stage, ZERO_STAGES, "parallelization.zero_stage")
        if (self.offload_optimizer or self.offload_params) and self.zero_stage < 2:
            raise ValueError(
                "parallelization: CPU offload needs zero_stage 2 or 3 "
                "(use parallelization=zero3_offload)"
            )
        if self.offload_params and self.zero_stage != 3:
            raise ValueError("parallelization.offload_params needs zero_stage=3")


# --------------------------------------------------------------------------- evaluation


@dataclass
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
    bootstrap_samples: int = 1000

    def __post_init__(self) -> None:
        _check_choice(
            self.benchmark, ("micro", "multipl-e", "humaneval-x", "mbxp"), "eval.benchmark"
        )
        _check_languages(self.languages, "eval.languages")
        too_big = [k for k in self.k if k > self.num_samples]
        if too_big:
            raise ValueError(
                f"eval.k has {too_big} > eval.num_samples={self.num_samples}: "
                "raise eval.num_samples or drop those k"
            )
        if self.num_samples > 1 and self.temperature == 0:
            raise ValueError("eval.num_samples > 1 with eval.temperature=0 gives identical samples")


# --------------------------------------------------------------------------- execution


@dataclass
class ExecutionConfig:
    workers: int = 0  # 0: one per CPU core
    heavy_workers: int = 1  # concurrent compilations for heavy toolchains (javac, scalac, ...)
    timeout_s: float = 10.0
    memory_mb: int = 1024
    output_limit_bytes: int = 65536
    network_isolation: str = "auto"  # auto | on | off
    cache_dir: str | None = None  # None: ~/.cache/xlt/exec

    def __post_init__(self) -> None:
        _check_choice(self.network_isolation, ("auto", "on", "off"), "execution.network_isolation")
        _check_positive(self.timeout_s, "execution.timeout_s")
        _check_positive(self.memory_mb, "execution.memory_mb")


# --------------------------------------------------------------------------- analysis, tracking


@dataclass
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
        _check_choice(self.source, ("data", "humaneval-x", "mbxp"), "analysis.source")
        _check_choice(self.pooling, ("mean", "last"), "analysis.pooling")
        _check_choice(self.text, ("solution", "prompt_solution", "program"), "analysis.text")
        _check_choice(self.device, ("auto", "cpu", "cuda"), "analysis.device")
        _check_languages(self.languages, "analysis.languages")
        _check_positive(self.batch_size, "analysis.batch_size")
        for key in ("max_programs", "max_tokens"):
            if getattr(self, key) is not None:
                _check_positive(getattr(self, key), f"analysis.{key}")


@dataclass
class TrackingConfig:
    backend: str = "jsonl"  # jsonl | wandb (the JSONL log is always written)
    project: str = "xlt"
    entity: str | None = None
    mode: str = "offline"  # offline | online
    group: str | None = None  # runs of one sweep share a group

    def __post_init__(self) -> None:
        _check_choice(self.backend, ("jsonl", "wandb"), "tracking.backend")
        _check_choice(self.mode, ("offline", "online"), "tracking.mode")


# --------------------------------------------------------------------------- root


@dataclass
class XltConfig:
    """One study setting: SFT mixture x RL source language x seed, at a scale."""

    model: ModelConfig
    data: DataConfig
    pretrain: PretrainConfig
    sft: SFTConfig
    rl: RLConfig
    rollout: RolloutConfig
    eval: EvalConfig
    parallelization: ParallelizationConfig
    execution: ExecutionConfig
    analysis: AnalysisConfig
    tracking: TrackingConfig
    scale: str = "micro"
    seed: int = 0
    artifacts_dir: str = "artifacts"  # shared stage cache: reused across runs and sweeps
    run_dir: str = "."  # this run's folder (Hydra's output dir)

    def __post_init__(self) -> None:
        _check_choice(self.scale, ("micro", "paper"), "scale")
        if self.rl.algorithm != "none":
            source = self.rl.source_language
            if source not in self.data.languages:
                raise ValueError(
                    f"rl.source_language={source!r} is not in data.languages={self.data.languages}; "
                    "add it there or pick another source language"
                )
            if source in self.data.held_out and not self.rl.oracle:
                raise ValueError(
                    f"rl.source_language={source!r} is held out (data.held_out={self.data.held_out}); "
                    "a held-out language never appears in SFT or RL data. For an oracle run "
                    "(RL directly in the target) use +experiment=oracle"
                )
        unknown_eval = sorted(set(self.eval.languages) - set(self.data.languages))
        if self.eval.benchmark == "micro" and unknown_eval:
            raise ValueError(
                f"eval.languages has {unknown_eval}, which the micro suite does not render "
                f"(data.languages={self.data.languages})"
            )
        if self.model.path is None and self.scale == "micro" and not self.pretrain.enabled:
            raise ValueError(
                "model.path is null (build from scratch) but pretrain.enabled=false: "
                "a model built from scratch must be pretrained"
            )
        seq_len = max(self.pretrain.seq_len, self.sft.seq_len)
        if self.model.path is None and seq_len > self.model.max_seq_len:
            raise ValueError(
                f"pretrain/sft seq_len={seq_len} exceeds model.max_seq_len={self.model.max_seq_len}"
            )
