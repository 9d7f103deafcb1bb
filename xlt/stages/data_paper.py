"""The paper-scale data stage: CodeForces tables -> the data artifact (as the micro data stage).

    python -m xlt.run +experiment=parallel_sft scale=paper          # runs it first
    python -m xlt.run +experiment=parallel_sft scale=paper data.local_path=/data/cf

Writes `sft.jsonl` (the verified SFT pool in trainable languages: the mixture stage draws
from it), `rl.jsonl` (io problems per trainable source language, time limits scaled),
`rl_oracle.jsonl` (the same for held-out languages: oracle runs only), `eval.jsonl`
(held-out CodeForces problems in every language), `parallel.jsonl` (every verified
program, held-out languages included, for representation analysis), `provenance.jsonl`,
`decontamination.json` and `manifest.json` (sources with revisions, row accounting,
coverage and yields). See docs/data.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xlt.data.codeforces.build import BuildParams, build
from xlt.data.codeforces.decontam import benchmark_files
from xlt.data.codeforces.load import TableSource
from xlt.data.codeforces.parallel import GeneratorTranslator, RunJobs, Translator
from xlt.data.codeforces.problems import DEFAULT_TIME_FACTORS
from xlt.data.config import CodeforcesDataConfig
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.pipeline import StageContext
from xlt.spec import outside_key

log = logging.getLogger(__name__)


def sources(data: CodeforcesDataConfig) -> tuple[TableSource, TableSource | None, TableSource]:
    """(training problems, evaluation problems or None, submissions), from the Hub or `local_path`."""

    def problems(split: str) -> TableSource:
        if data.local_path:
            return TableSource(str(Path(data.local_path) / "problems" / f"{split}*"), split=split)
        return TableSource(
            data.problems_dataset, data.problems_config, split, data.problems_revision
        )

    if data.local_path:
        submissions = TableSource(str(Path(data.local_path) / "submissions"))
    else:
        submissions = TableSource(
            data.submissions_dataset, data.submissions_config, "train", data.submissions_revision
        )
    for source in (problems(data.train_split), submissions):
        if data.local_path and not source.is_local:
            raise ValueError(
                f"data.local_path={data.local_path!r} has nothing at {source.path}; expected "
                "problems/<split>* and submissions/ (Parquet or JSONL files in the Hub schema)"
            )
    eval_source = problems(data.eval_split) if data.eval_split else None
    return problems(data.train_split), eval_source, submissions


def build_params(data: CodeforcesDataConfig, seed: int, benchmarks_dir: str | Path) -> BuildParams:
    train, eval_source, submissions = sources(data)
    return BuildParams(
        train_problems=train,
        submissions=submissions,
        eval_problems=eval_source,
        languages=tuple(data.languages),
        held_out=tuple(data.held_out),
        max_candidates=data.max_candidates,
        per_language=data.solutions_per_language,
        translate_to=tuple(data.translate_to),
        time_factors={**DEFAULT_TIME_FACTORS, **data.time_limit_factors},
        ngram_n=data.decontamination_ngram,
        benchmark_files=tuple(
            benchmark_files(Path(benchmarks_dir), data.decontamination_benchmarks)
        ),
        max_problems=data.max_problems,
        max_rating=data.max_rating,
        rl_verified_only=data.rl_verified_only,
        batch_problems=data.batch_problems,
        seed=seed,
    )


@dataclass(frozen=True)
class TranslatorSpec:
    """The model that translates programs into `data.translate_to` (MultiPL-T)."""

    path: str  # data.translator_model, or the study's model.path
    revision: str | None
    chat: bool  # render prompts with its chat template
    rollout: RolloutConfig


@dataclass(frozen=True)
class DataPaperSpec:
    """Everything the paper-scale data stage reads."""

    data: CodeforcesDataConfig
    execution: ExecutionConfig  # verifying accepted submissions and translations
    # Where the benchmark files for decontamination are (XLT_BENCHMARKS); their content is a
    # pinned copy, so the location is not part of the key.
    benchmarks_dir: str = outside_key()
    tokenizer: tuple[str, str | None] | None  # (model.path, revision) for token counts; None: none
    translator: TranslatorSpec | None  # None when data.translate_to is empty


def _run_jobs(execution: ExecutionConfig) -> RunJobs:
    from xlt.execution import execute

    def run(jobs):
        return execute(
            jobs, workers=execution.workers or None, cache_dir=execution.cache_dir,
            **execution.engine_settings(),
        )  # fmt: skip

    return run


def _hf_generator(spec: TranslatorSpec):
    from xlt.generation.hf import HFGenerator
    from xlt.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(spec.path, spec.revision)
    model = load_model(spec.path, spec.revision)
    return HFGenerator(model, tokenizer, batch_size=spec.rollout.batch_size), tokenizer


def _vllm_generator(spec: TranslatorSpec):
    from xlt.generation.vllm import VLLMGenerator
    from xlt.models import load_tokenizer

    tokenizer = load_tokenizer(spec.path, spec.revision)
    generator = VLLMGenerator.load(
        spec.path,
        tokenizer,
        gpu_memory_utilization=spec.rollout.gpu_memory_utilization,
        # not the model's 131072: vLLM refuses a KV cache that large on one GPU
        max_model_len=spec.rollout.max_model_len,
        enable_sleep_mode=False,
        colocated=False,  # the data stage trains nothing: vLLM may own the GPU
    )
    return generator, tokenizer


GENERATOR_BUILDERS: dict[str, Callable] = {"hf": _hf_generator, "vllm": _vllm_generator}


def _translator(spec: TranslatorSpec, data: CodeforcesDataConfig, seed: int) -> Translator:
    """The MultiPL-T translator: the configured model through the rollout backend."""
    from xlt.generation.text import chat_prompt
    from xlt.generation.types import SamplingParams

    generator, tokenizer = GENERATOR_BUILDERS[spec.rollout.backend](spec)
    params = SamplingParams(
        max_new_tokens=data.translation_max_new_tokens,
        temperature=data.translation_temperature,
        n=data.translation_samples,
        seed=seed,
    )
    render = (lambda text: chat_prompt(tokenizer, text)) if spec.chat else (lambda text: text)
    return GeneratorTranslator(generator, params, render)


def _token_counter(source: tuple[str, str | None] | None) -> Callable[[str], int] | None:
    """Token counts for the manifest, with the study model's tokenizer (None: not counted)."""
    if source is None:
        return None  # a tokenizer trained by the pretrain stage does not exist yet
    from xlt.models import load_tokenizer

    tokenizer = load_tokenizer(*source)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def run(ctx: StageContext, *, run_jobs: RunJobs | None = None) -> None:
    spec: DataPaperSpec = ctx.spec
    data = spec.data
    params = build_params(data, ctx.seed, spec.benchmarks_dir)
    translator = _translator(spec.translator, data, ctx.seed) if spec.translator else None
    manifest = build(
        params,
        ctx.out,
        run_jobs=run_jobs or _run_jobs(spec.execution),
        translator=translator,
        count_tokens=_token_counter(spec.tokenizer),
        progress=True,
    )
    ctx.tracker.log(manifest["metrics"], step=0)
    coverage = [
        [language, manifest["parallel"].get(f"data/coverage/{language}", 0.0)]
        for language in data.languages
    ]
    ctx.tracker.log_table("data/coverage", ["language", "fraction_of_problems"], coverage)
    log.info("codeforces data: %s", manifest["counts"])
