"""The analyze stage: one checkpoint's hidden states on parallel programs, per-layer metrics.

Run by the study for every checkpoint of a setting (base, SFT, RL) when
`analysis.enabled` (the default):

    python -m xlt.run +experiment=parallel_sft                         # micro suite programs
    python -m xlt.run +experiment=parallel_sft analysis.source=humaneval-x

Inputs:
- `ctx.inputs["model"] / "model"`: a Hugging Face folder written by pretrain, sft or
  rl. Without a "model" input the base model `model.path` (Hub name or folder) is
  analysed. The checkpoint's name in logs and plots is its producer's role:
  "base" (pretrain or `model.path`), "sft", "rl".
- `ctx.inputs["data"] / "parallel.jsonl"` when `analysis.source=data`; otherwise the
  benchmark's canonical solutions from `xlt.paths.BENCHMARKS_DIR`.

Outputs in `ctx.out`: `analysis.json` (schema in `xlt.analysis.analyze`),
`plots/<metric>.png` and `plots/overview.png`, `embeddings.npz` when
`analysis.save_embeddings`. Logs `analysis/<checkpoint>/layer<i>/<metric>` (step 0:
the analysis has no training step), a per-layer table and the PNGs.
Comparing checkpoints (base vs SFT vs RL, across runs) is `xlt.analysis.compare`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from xlt.analysis import (
    LAYER_METRICS,
    analyze_programs,
    benchmark_programs,
    plot_analyses,
    read_analysis,
    read_parallel_jsonl,
    select_programs,
    tracker_metrics,
    write_analysis,
)
from xlt.analysis.config import AnalysisConfig
from xlt.model_config import ModelConfig
from xlt.models import load_model, load_tokenizer
from xlt.pipeline import StageContext

log = logging.getLogger(__name__)

# The upstream stage that wrote a model -> the checkpoint's name in logs and plots.
CHECKPOINT_BY_STAGE = {"pretrain": "base", "sft": "sft", "rl": "rl"}


@dataclass(frozen=True)
class AnalyzeSpec:
    """Everything the analyze stage reads (the checkpoint and data come as inputs)."""

    analysis: AnalysisConfig
    model: ModelConfig  # path/revision when there is no model input (a Hub base model)


def run(ctx: StageContext) -> None:
    cfg = ctx.spec.analysis

    # ---- the checkpoint
    checkpoint = checkpoint_name(ctx.inputs)
    if "model" in ctx.inputs:
        model_path, revision = ctx.inputs["model"] / "model", None
    elif ctx.spec.model.path is not None:
        model_path, revision = ctx.spec.model.path, ctx.spec.model.revision
    else:
        raise ValueError("analyze needs a 'model' input or model.path set to a Hub name or folder")
    device = _device(cfg.device)
    dtype = torch.bfloat16 if device.type == "cuda" else None  # fp32 on CPU
    model = load_model(model_path, revision=revision, dtype=dtype).to(device)
    tokenizer = load_tokenizer(model_path, revision=revision)

    # ---- the parallel programs
    if cfg.source == "data":
        programs = read_parallel_jsonl(ctx.inputs["data"] / "parallel.jsonl")
    else:
        programs = benchmark_programs(cfg.source, cfg.languages, text=cfg.text)
    programs = select_programs(programs, languages=cfg.languages, max_tasks=cfg.max_programs)
    log.info(
        "analysing %s on %d programs from %s (%s)", checkpoint, len(programs), cfg.source, device
    )

    # ---- hidden states -> per-layer metrics
    analysis = analyze_programs(
        model,
        tokenizer,
        programs,
        pooling=cfg.pooling,
        batch_size=cfg.batch_size,
        max_tokens=cfg.max_tokens,
        center=cfg.center,
        checkpoint=checkpoint,
        embeddings_path=ctx.out / "embeddings.npz" if cfg.save_embeddings else None,
    )
    analysis["source"] = cfg.source if cfg.source == "data" else f"{cfg.source}:{cfg.text}"
    analysis["model"] = str(model_path)
    write_analysis(analysis, ctx.out / "analysis.json")
    plot_analyses({checkpoint: analysis}, ctx.out / "plots")
    if analysis["num_truncated"]:
        log.warning("%d programs were cut to max_tokens", analysis["num_truncated"])

    # ---- log
    log_to_tracker(ctx.tracker, ctx.out)


def checkpoint_name(inputs: dict[str, Path]) -> str:
    """ "base", "sft" or "rl", from the stage that produced the model input (`<artifacts>/<stage>/<key>`)."""
    if "model" not in inputs:
        return "base"
    producer = Path(inputs["model"]).parent.name
    return CHECKPOINT_BY_STAGE.get(producer, producer)


def log_to_tracker(tracker, folder: Path) -> None:
    """Log a finished analyze artifact: scalars, a per-layer table and its PNGs.

    Also for the study to call on an artifact reused from the cache, whose stage
    function did not run in this run.
    """
    analysis = read_analysis(folder)
    checkpoint = analysis["checkpoint"]
    tracker.log(tracker_metrics(analysis), step=0)
    columns = ["layer", *LAYER_METRICS, "retrieval_chance"]
    rows = [[entry[column] for column in columns] for entry in analysis["layers"]]
    tracker.log_table(f"analysis/{checkpoint}/layers", columns, rows)
    for png in sorted((Path(folder) / "plots").glob("*.png")):
        tracker.log_image(f"analysis/{checkpoint}/{png.stem}", png)


def _device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("analysis.device=cuda but no CUDA device is visible; use auto or cpu")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())  # the launcher's GPU for this rank
