"""The study's stage graph for one setting (SFT mixture x RL source language x seed).

    data -> [pretrain] -> mixture -> sft -> evaluate (pre-RL) -> rl -> evaluate (post-RL)
                                        \\-> analyze (base, SFT, RL checkpoints)

Each stage's cache key holds only what it reads, so settings share work: every
setting shares the data and pretraining stages; a sweep over source languages
shares each multilingual/parallel SFT model and its pre-RL evaluation.
Pretraining stands in for a pretrained LLM, so it is seeded by the data seed,
not the run seed: all seeds of a sweep start from the same base model.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from xlt.config import XltConfig
from xlt.pipeline import Artifact, Pipeline
from xlt.stages import load_stage
from xlt.stages.analyze import log_to_tracker as log_analysis
from xlt.stages.evaluate import log_to_tracker as log_evaluation

DATA_STAGE_BY_KIND = {"micro": "data", "codeforces": "data_paper"}


def planned_stages(cfg: XltConfig) -> list[str]:
    """The stages this setting runs, in order (used to fail fast before any work)."""
    stages = [DATA_STAGE_BY_KIND[cfg.data.kind]]
    if cfg.model.path is None:
        stages.append("pretrain")
    if cfg.sft.mixture != "none":
        stages += ["mixture", "sft"]
    stages.append("evaluate")
    if cfg.rl.algorithm != "none":
        stages.append("rl")
    if cfg.analysis.enabled:
        stages.append("analyze")
    return stages


def run_study(cfg: XltConfig, pipeline: Pipeline) -> dict[str, Artifact]:
    """Run (or reuse) every stage of the setting; return the artifacts by role."""
    stage = {name: load_stage(name) for name in planned_stages(cfg)}
    data_stage = DATA_STAGE_BY_KIND[cfg.data.kind]
    artifacts: dict[str, Artifact] = {}

    # ---- data: problems for every split and language, parallel programs, corpus
    data = pipeline.run(
        data_stage, stage[data_stage], {"data": asdict(cfg.data)}, seed=cfg.data.seed
    )
    artifacts["data"] = data

    # ---- base model: pretrained from scratch (micro) or a Hub/local checkpoint
    base = None
    if cfg.model.path is None:
        base = pipeline.run(
            "pretrain",
            stage["pretrain"],
            {"model": asdict(cfg.model), "pretrain": asdict(cfg.pretrain), **_parallel(cfg)},
            {"data": data},
            seed=cfg.data.seed,
            collective=True,
        )
        artifacts["base"] = base
    base_inputs = {"pretrain": base} if base is not None else {}

    # ---- SFT on the chosen mixture (token-matched: counted with the model's tokenizer)
    checkpoint = base
    if cfg.sft.mixture != "none":
        mixture_config: dict[str, Any] = {
            "sft_mixture": cfg.sft.mixture,
            "num_tokens": cfg.sft.num_tokens,
            "model": cfg.model.path,
        }
        if cfg.sft.mixture == "monolingual":  # only this mixture depends on the source language
            mixture_config["source_language"] = cfg.rl.source_language
        mixture = pipeline.run(
            "mixture",
            stage["mixture"],
            mixture_config,
            {"data": data, **base_inputs},
            seed=cfg.data.seed,
        )
        artifacts["mixture"] = mixture
        checkpoint = pipeline.run(
            "sft",
            stage["sft"],
            {"model": asdict(cfg.model), "sft": asdict(cfg.sft), **_parallel(cfg)},
            {**base_inputs, "data": mixture},
            seed=cfg.seed,
            collective=True,
        )
        artifacts["sft"] = checkpoint

    # ---- evaluation before RL (the row RL's deltas are measured against)
    artifacts["eval_pre_rl"] = _evaluate(
        cfg, pipeline, stage["evaluate"], checkpoint, data, "eval_pre_rl"
    )

    # ---- RL in the source language, then evaluation in every language
    if cfg.rl.algorithm != "none":
        rl_inputs = {"data": data, **({"sft": checkpoint} if checkpoint is not None else {})}
        trained = pipeline.run(
            "rl",
            stage["rl"],
            {
                "model": asdict(cfg.model),
                "rl": asdict(cfg.rl),
                "rollout": asdict(cfg.rollout),
                "execution": _execution(cfg),
                **_parallel(cfg),
            },
            rl_inputs,
            seed=cfg.seed,
            collective=True,
        )
        artifacts["rl"] = trained
        artifacts["eval_post_rl"] = _evaluate(
            cfg, pipeline, stage["evaluate"], trained, data, "eval_post_rl"
        )

    # ---- representation analysis of every checkpoint of this setting
    if cfg.analysis.enabled:
        for role in ("base", "sft", "rl"):
            model = artifacts.get(role)
            if model is None and role != "base":
                continue  # no such checkpoint in this setting (a Hub base model has no artifact)
            inputs = {"data": data, **({"model": model} if model is not None else {})}
            analysis = pipeline.run(
                "analyze",
                stage["analyze"],
                {"analysis": asdict(cfg.analysis), "model": asdict(cfg.model)},
                inputs,
                seed=cfg.seed,
                label=f"analysis_{role}",
            )
            if analysis.reused:
                log_analysis(pipeline.tracker, analysis.path)
            artifacts[f"analysis_{role}"] = analysis
    return artifacts


def _parallel(cfg: XltConfig) -> dict[str, Any]:
    return {"parallelization": asdict(cfg.parallelization)}


def _execution(cfg: XltConfig) -> dict[str, Any]:
    """The execution settings that can change a verdict (not pool sizes or cache location)."""
    settings = asdict(cfg.execution)
    for speed_only in ("workers", "heavy_workers", "cache_dir"):
        settings.pop(speed_only)
    return settings


def _evaluate(
    cfg: XltConfig, pipeline: Pipeline, fn, model: Artifact | None, data: Artifact, label: str
) -> Artifact:
    inputs = {"data": data, **({"model": model} if model is not None else {})}
    config = {
        "model": asdict(cfg.model),
        "eval": asdict(cfg.eval),
        "execution": _execution(cfg),
        "rollout": asdict(cfg.rollout),
    }
    artifact = pipeline.run("evaluate", fn, config, inputs, seed=cfg.seed, label=label)
    if artifact.reused:  # the stage did not run, so its metrics are not in this run's log yet
        log_evaluation(pipeline.tracker, artifact.path)
    return artifact
