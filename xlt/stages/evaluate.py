"""The evaluate stage: one checkpoint -> one row of the transfer matrix.

Run by the study before RL (the reference row) and after RL:

    python -m xlt.run +experiment=parallel_sft                        # micro suite, greedy pass@1
    python -m xlt.run +experiment=parallel_sft eval=multipl_e eval.data_path=../shared/benchmarks/multipl-e-humaneval

Inputs:
- `ctx.inputs["model"] / "model"`: an HF folder written by pretrain, sft or rl; without
  a "model" input, `model.path` (Hub name or folder). The producer's stage name
  (`<artifacts>/<stage>/<key>`) says which row this is: `rl` -> post-RL, else pre-RL.
- problems: `eval.benchmark=micro` reads `ctx.inputs["data"] / "eval.jsonl"`; any other
  benchmark comes from `xlt.data.benchmarks` (`eval.data_path`: a local folder, or for
  multipl-e a Hub id with `eval.revision`; null: the shared local copy, or for
  multipl-e the Hub dataset `nuprl/MultiPL-E`).

Outputs in `ctx.out` (layout in `xlt.eval.results`): `results/<lang>.jsonl` (per problem,
every sample with its status) and `row.json` (the row's identity and pass@k per language,
on each language's full set and on the tasks common to all). An interrupted evaluation
resumes from its results files. Logs `eval/<benchmark>/<lang>/pass@k` (and `.../common/...`)
at step 0 and a per-language table.

Chat models (`model.chat`) get their chat template. With `eval.chat_answers=prefill` (the
default) the answer is prefilled by an opening code fence and the prompt, so they continue
the code like a base model, cut at the stop tokens plus "```". With `free` they are asked the
question alone and each answer becomes a program by the language's chat rule
(`xlt.generation.answers`), never cut at stop sequences.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlt.data.benchmarks import BENCHMARKS, MULTIPL_E_HUB_ID, load_benchmark
from xlt.data.records import Problem
from xlt.eval.config import EvalConfig
from xlt.eval.evaluate import evaluate_problems, metrics_of
from xlt.eval.results import read_row, write_row
from xlt.eval.rows import RowId
from xlt.execution.config import ExecutionConfig
from xlt.generation.config import RolloutConfig
from xlt.generation.text import chat_answer_prompt, chat_problem_prompt
from xlt.generation.types import SamplingParams
from xlt.model_config import ModelConfig
from xlt.pipeline import StageContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSpec:
    """Everything the evaluate stage reads (the checkpoint and data come as inputs)."""

    row: RowId  # which row of the transfer matrix this evaluation is (built by xlt.study)
    model: ModelConfig  # chat template or not; path/revision when there is no model input
    eval: EvalConfig
    execution: ExecutionConfig
    rollout: RolloutConfig


def run(ctx: StageContext) -> None:
    cfg: EvalSpec = ctx.spec
    row = cfg.row
    log.info("evaluating %s on %s", row.label, cfg.eval.benchmark)

    # ---- problems
    problems = load_problems(
        cfg.eval.benchmark, ctx.inputs.get("data"), cfg.eval.languages,
        data_path=cfg.eval.data_path, revision=cfg.eval.revision, max_problems=cfg.eval.max_problems,
    )  # fmt: skip

    # ---- model and generation backend
    generator, tokenizer = _generator(ctx)
    render_prompt, extra_stops, answer_format = None, (), "completion"
    if cfg.model.chat and cfg.eval.chat_answers == "free":  # scored by the chat rule, uncut
        render_prompt, answer_format = _chat_renderer(tokenizer, chat_answer_prompt), "chat"
    elif cfg.model.chat:  # prefilled: the model continues the code, cut at the stops
        render_prompt, extra_stops = _chat_renderer(tokenizer, chat_problem_prompt), ("```",)
    params = SamplingParams(
        max_new_tokens=cfg.eval.max_new_tokens,
        temperature=cfg.eval.temperature,
        top_p=cfg.eval.top_p,
        n=cfg.eval.num_samples,
        seed=ctx.seed,
    )

    # ---- generate, execute, score (resumes from ctx.out/results)
    summary = evaluate_problems(
        problems, generator, params, ctx.out, ks=cfg.eval.k,
        batch_size=cfg.rollout.batch_size, render_prompt=render_prompt, extra_stops=extra_stops,
        answer_format=answer_format,
        workers=cfg.execution.workers or None, cache_dir=cfg.execution.cache_dir,
        timeout_s=cfg.execution.timeout_s, execute_fn=engine_execute(cfg.execution),
        on_batch=lambda lang, done, total: log.info("%s: %d/%d problems", lang, done, total),
    )  # fmt: skip
    write_row(
        ctx.out, row.to_dict(), row.label, summary, benchmark=cfg.eval.benchmark,
        num_samples=cfg.eval.num_samples, k=list(cfg.eval.k), temperature=cfg.eval.temperature,
        model=str(_model_source(ctx)[0]),
    )  # fmt: skip

    # ---- log
    log_to_tracker(ctx.tracker, ctx.out)


def engine_execute(execution: ExecutionConfig):
    """The engine's `execute` with the configured limits and isolation bound."""
    from xlt.execution import execute  # deferred: the engine starts worker pools lazily

    return functools.partial(execute, **execution.engine_settings())


def preflight(cfg: EvalConfig) -> None:
    """Settings that would only fail once evaluation starts, after hours of training."""
    if cfg.benchmark == "multipl-e" and cfg.data_path is None and cfg.revision is None:
        raise ValueError(
            f"eval.benchmark=multipl-e reads the Hub dataset {MULTIPL_E_HUB_ID} (eval.data_path "
            "is null) but eval.revision is null: pin a commit of the dataset with "
            "eval.revision=<sha>, or read local files with eval.data_path=<folder of "
            "humaneval-<lang>-reworded.jsonl.gz>"
        )


def load_problems(
    benchmark: str,
    data_dir: Path | None,
    languages: list[str],
    *,
    data_path: str | None = None,
    revision: str | None = None,
    max_problems: int | None = None,
) -> list[Problem]:
    """The evaluation problems: the data stage's eval split (micro) or a benchmark's."""
    if benchmark == "micro":
        if data_dir is None:
            raise ValueError("eval.benchmark=micro needs the data stage's folder (eval.jsonl)")
        path = Path(data_dir) / "eval.jsonl"
        with path.open(encoding="utf-8") as handle:
            problems = [Problem.from_dict(json.loads(line)) for line in handle if line.strip()]
        available = sorted({p.language for p in problems})
        unknown = sorted(set(languages) - set(available))
        if unknown:
            raise ValueError(f"eval.languages has {unknown}, not in {path} (it has {available})")
        chosen = languages or available
        problems = [p for p in problems if p.language in chosen]
    else:
        spec = BENCHMARKS[benchmark]
        root = data_path or (MULTIPL_E_HUB_ID if benchmark == "multipl-e" else None)
        chosen = languages or list(spec.languages(data_path))
        problems = [
            p
            for lang in chosen
            for p in load_benchmark(benchmark, lang, root=root, revision=revision)
        ]
    if max_problems is not None:  # the first max_problems of each language
        seen: dict[str, int] = {}
        kept = []
        for problem in problems:
            seen[problem.language] = seen.get(problem.language, 0) + 1
            if seen[problem.language] <= max_problems:
                kept.append(problem)
        problems = kept
    return problems


def log_to_tracker(tracker, folder: Path) -> None:
    """Log a finished evaluation folder's pass@k (step 0) and a per-language table.

    Also for the study to call on an evaluation reused from the cache."""
    record = read_row(Path(folder) / "row.json")
    summary = {"languages": record["languages"], "common": record["common"]}
    tracker.log(metrics_of(summary, record["benchmark"]), step=0)
    keys = [f"pass@{k}" for k in record["k"]]
    columns = [
        "row",
        "language",
        *keys,
        *[f"common_{key}" for key in keys],
        "num_problems",
        "missing",
    ]
    rows = []
    for language, stats in record["languages"].items():
        common = record["common"]["languages"].get(language, {})
        rows.append([record["label"], language, *[stats.get(k) for k in keys],
                     *[common.get(k) for k in keys], stats["num_problems"], stats["missing"]])  # fmt: skip
    row = record["row"]
    name = "base" if row["stage"] == "pre_rl" and row["sft_mixture"] == "none" else row["stage"]
    tracker.log_table(f"eval/{record['benchmark']}/{name}", columns, rows)


def _model_source(ctx: StageContext) -> tuple[Any, str | None]:
    if "model" in ctx.inputs:
        return ctx.inputs["model"] / "model", None
    if ctx.spec.model.path is None:
        raise ValueError("evaluate: no model input and model.path is null: nothing to evaluate")
    return ctx.spec.model.path, ctx.spec.model.revision


def _generator(ctx: StageContext):
    from xlt.models import load_model, load_tokenizer  # deferred: torch/transformers are heavy

    path, revision = _model_source(ctx)
    tokenizer = load_tokenizer(path, revision=revision)
    if ctx.spec.rollout.backend == "vllm":
        from xlt.generation.vllm import VLLMGenerator

        # under a launcher each rank's engine sits on its own GPU (vLLM's external_launcher)
        generator = VLLMGenerator.load(str(path), tokenizer, seed=ctx.seed,
                                       gpu_memory_utilization=ctx.spec.rollout.gpu_memory_utilization,
                                       max_model_len=ctx.spec.rollout.max_model_len,
                                       enable_sleep_mode=False, colocated="LOCAL_RANK" in os.environ)  # fmt: skip
        return generator, tokenizer
    import torch

    from xlt.generation import HFGenerator

    model = load_model(path, revision=revision).eval()
    if torch.cuda.is_available():  # this rank's GPU under a launcher
        model = model.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    return HFGenerator(model, tokenizer, batch_size=ctx.spec.rollout.batch_size), tokenizer


def _chat_renderer(tokenizer, render):
    """A problem's chat prompt: `chat_problem_prompt` (prefilled, as RL asks `tests` problems)
    or `chat_answer_prompt` (the question alone)."""
    return lambda problem: render(tokenizer, problem.prompt, problem.language)
