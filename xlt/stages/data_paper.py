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
from pathlib import Path

from xlt.config import CodeforcesDataConfig, XltConfig
from xlt.data.codeforces.build import BuildParams, build
from xlt.data.codeforces.decontam import benchmark_files
from xlt.data.codeforces.load import TableSource
from xlt.data.codeforces.parallel import GeneratorTranslator, RunJobs, Translator
from xlt.data.codeforces.problems import DEFAULT_TIME_FACTORS
from xlt.paths import BENCHMARKS_DIR
from xlt.pipeline import StageContext

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


def build_params(
    data: CodeforcesDataConfig, seed: int = 0, benchmarks_dir: Path = BENCHMARKS_DIR
) -> BuildParams:
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
        benchmark_files=tuple(benchmark_files(benchmarks_dir, data.decontamination_benchmarks)),
        max_problems=data.max_problems,
        max_rating=data.max_rating,
        rl_verified_only=data.rl_verified_only,
        batch_problems=data.batch_problems,
        seed=seed,
    )


def _run_jobs(cfg: XltConfig) -> RunJobs:
    from xlt.execution import execute

    def run(jobs):
        return execute(
            jobs, workers=cfg.execution.workers or None, cache_dir=cfg.execution.cache_dir
        )

    return run


def _hf_generator(cfg: XltConfig, path: str):
    from xlt.generation.hf import HFGenerator
    from xlt.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(path, cfg.model.revision)
    return HFGenerator(
        load_model(path, cfg.model.revision), tokenizer, batch_size=cfg.rollout.batch_size
    ), tokenizer


def _vllm_generator(cfg: XltConfig, path: str):
    from xlt.generation.vllm import VLLMGenerator
    from xlt.models import load_tokenizer

    tokenizer = load_tokenizer(path, cfg.model.revision)
    generator = VLLMGenerator.load(
        path,
        tokenizer,
        gpu_memory_utilization=cfg.rollout.gpu_memory_utilization,
        # not the model's 131072: vLLM refuses a KV cache that large on one GPU
        max_model_len=cfg.rollout.max_model_len,
        enable_sleep_mode=False,
        colocated=False,  # the data stage trains nothing: vLLM may own the GPU
    )
    return generator, tokenizer


GENERATOR_BUILDERS: dict[str, Callable] = {"hf": _hf_generator, "vllm": _vllm_generator}


def _translator(cfg: XltConfig, seed: int) -> Translator:
    """The MultiPL-T translator: the configured model through the rollout backend."""
    from xlt.generation.text import chat_prompt
    from xlt.generation.types import SamplingParams

    data = cfg.data
    path = data.translator_model or cfg.model.path
    if path is None:
        raise ValueError(
            "data.translate_to is set but there is no model to translate with: set "
            "data.translator_model or model.path"
        )
    generator, tokenizer = GENERATOR_BUILDERS[cfg.rollout.backend](cfg, path)
    params = SamplingParams(
        max_new_tokens=data.translation_max_new_tokens,
        temperature=data.translation_temperature,
        n=data.translation_samples,
        seed=seed,
    )
    render = (lambda text: chat_prompt(tokenizer, text)) if cfg.model.chat else (lambda text: text)
    return GeneratorTranslator(generator, params, render)


def _token_counter(cfg: XltConfig) -> Callable[[str], int] | None:
    """Token counts for the manifest, with the study model's tokenizer (None: not counted)."""
    if cfg.model.path is None:
        return None  # a tokenizer trained by the pretrain stage does not exist yet
    from xlt.models import load_tokenizer

    tokenizer = load_tokenizer(cfg.model.path, cfg.model.revision)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def run(ctx: StageContext, *, run_jobs: RunJobs | None = None) -> None:
    data = ctx.cfg.data
    if not isinstance(data, CodeforcesDataConfig):
        raise ValueError(f"data_paper needs data=codeforces, got data.kind={data.kind!r}")
    params = build_params(data, ctx.seed)
    translator = _translator(ctx.cfg, ctx.seed) if data.translate_to else None
    manifest = build(
        params,
        ctx.out,
        run_jobs=run_jobs or _run_jobs(ctx.cfg),
        translator=translator,
        count_tokens=_token_counter(ctx.cfg),
        progress=True,
    )
    ctx.tracker.log(manifest["metrics"], step=0)
    coverage = [
        [language, manifest["parallel"].get(f"data/coverage/{language}", 0.0)]
        for language in data.languages
    ]
    ctx.tracker.log_table("data/coverage", ["language", "fraction_of_problems"], coverage)
    log.info("codeforces data: %s", manifest["counts"])
