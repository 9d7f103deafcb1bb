"""The study's stage graph for one setting (SFT mixture x RL source language x seed).

    data -> [pretrain] -> mixture -> sft -> evaluate (pre-RL) -> rl -> evaluate (post-RL)
                                        \\-> analyze (base, SFT, RL checkpoints)

This is the one place that reads the whole config: it cuts a frozen spec for each stage
(`*Spec` in each stage module) holding exactly what that stage reads, and the pipeline
keys the stage's artifact by that spec. Settings therefore share work only when nothing
a stage reads differs: every setting shares the data and pretraining stages; a sweep over
source languages shares each multilingual/parallel SFT model and its pre-RL evaluation.
Pretraining stands in for a pretrained LLM, so it is seeded by the data seed, not the run
seed: all seeds of a sweep start from the same base model.

Each evaluation's spec also carries its row of the transfer matrix (`row_ids`), built
here from the same config, with every setting that can change its numbers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from xlt.config import XltConfig
from xlt.eval.rows import RowId
from xlt.paths import BENCHMARKS_DIR
from xlt.pipeline import Artifact, Pipeline, StageFn
from xlt.spec import digest, flatten, key_dict
from xlt.stages import analyze, data, data_paper, evaluate, mixture, pretrain, rl, sft
from xlt.tracking.history import logged_stages, note_logged, replay_history


def data_spec(cfg: XltConfig) -> data.DataSpec | data_paper.DataPaperSpec:
    if cfg.data.kind == "micro":
        return data.DataSpec(cfg.data)
    translator = None
    if cfg.data.translate_to:
        path = cfg.data.translator_model or cfg.model.path
        if path is None:
            raise ValueError(
                "data.translate_to is set but there is no model to translate with: set "
                "data.translator_model or model.path"
            )
        translator = data_paper.TranslatorSpec(
            path=path,
            revision=cfg.model.revision if path == cfg.model.path else None,
            chat=cfg.model.chat,
            rollout=cfg.rollout,
        )
    return data_paper.DataPaperSpec(
        data=cfg.data,
        execution=cfg.execution,
        benchmarks_dir=str(BENCHMARKS_DIR),
        tokenizer=cfg.model.source,
        translator=translator,
    )


def mixture_spec(cfg: XltConfig) -> mixture.MixtureSpec:
    return mixture.MixtureSpec(
        data=cfg.data,
        mixture=cfg.sft.mixture,
        num_tokens=cfg.sft.num_tokens,
        # Only the monolingual mixture depends on the source language.
        source_language=cfg.rl.source_language if cfg.sft.mixture == "monolingual" else None,
        # A pretrained-from-scratch model brings its own tokenizer as an input.
        tokenizer=cfg.model.source,
    )


def eval_spec(cfg: XltConfig, row: RowId) -> evaluate.EvalSpec:
    return evaluate.EvalSpec(row, cfg.model, cfg.eval, cfg.execution, cfg.rollout)


def row_ids(cfg: XltConfig) -> dict[str, RowId]:
    """The rows this setting produces: "base" (the model before SFT, when there is SFT),
    "pre_rl", and "post_rl" with RL; each with the settings of every stage behind it.

    Seeds are left out of the settings (seeds of one setting pool into one row; micro
    suites, `data.seed`, are told apart by `data_seed`). The base row is the same row
    in every setting of a sweep (and the `rl_only` experiment's pre-RL row): its model is
    seeded by the data seed, and without SFT the SFT settings do not enter a row.
    """
    pre_groups = {
        "model": cfg.model,
        "data": {k: v for k, v in key_dict(cfg.data).items() if k != "seed"},
        "sft": cfg.sft,
        "eval": cfg.eval,
        "execution": cfg.execution,
        "rollout": cfg.rollout,
        "parallelization": cfg.parallelization,
    }
    if cfg.model.path is None:
        pre_groups["pretrain"] = cfg.pretrain
    if cfg.sft.mixture == "none":  # nothing of SFT's reaches the model
        del pre_groups["sft"]
    pre_settings = flatten(key_dict(pre_groups))
    mixture_kind = cfg.sft.mixture
    pre = RowId(
        stage="pre_rl",
        sft_mixture=mixture_kind,
        sft_language=cfg.rl.source_language if mixture_kind == "monolingual" else None,
        rl_algorithm=None,
        rl_source=None,
        oracle=False,
        seed=cfg.seed,
        model=cfg.model.name,
        scale=cfg.scale,
        data_seed=cfg.data.seed,
        settings=pre_settings,
        sft_hash=digest(pre_settings),
    )
    rows = {"pre_rl": pre}
    if mixture_kind != "none":
        base_settings = {k: v for k, v in pre_settings.items() if not k.startswith("sft.")}
        rows["base"] = replace(
            pre, sft_mixture="none", sft_language=None, seed=cfg.data.seed,
            settings=base_settings, sft_hash=digest(base_settings),
        )  # fmt: skip
    if cfg.rl.algorithm != "none":
        rl_settings = flatten(key_dict({"rl": cfg.rl}))
        rows["post_rl"] = replace(
            pre,
            stage="post_rl",
            rl_algorithm=cfg.rl.algorithm,
            rl_source=cfg.rl.source_language,
            oracle=cfg.rl.oracle,
            settings={**pre_settings, **rl_settings},
            rl_hash=digest(rl_settings),
        )
    return rows


def run_study(cfg: XltConfig, pipeline: Pipeline) -> dict[str, Artifact]:
    """Run (or reuse) every stage of the setting; return the artifacts by role."""
    artifacts: dict[str, Artifact] = {}
    rows = row_ids(cfg)
    run_dir = Path(cfg.run_dir)

    # ---- data: problems for every split and language, parallel programs, corpus
    spec = data_spec(cfg)
    data_fn = data.run if cfg.data.kind == "micro" else data_paper.run
    artifacts["data"] = data_artifact = pipeline.run("data", data_fn, spec, seed=cfg.data.seed)

    # ---- base model: pretrained from scratch (micro) or a Hub/local checkpoint
    checkpoint = None
    if cfg.model.path is None:
        spec = pretrain.PretrainSpec(cfg.model, cfg.pretrain, cfg.parallelization)
        inputs = {"data": data_artifact}
        checkpoint = artifacts["base"] = train_stage(
            pipeline, "pretrain", pretrain.run, spec, inputs, cfg.data.seed, run_dir
        )
    base_inputs = {"pretrain": checkpoint} if checkpoint is not None else {}

    # ---- the base model's row (before SFT): what SFT and RL are measured against
    if "base" in rows:
        artifacts["eval_base"] = _evaluate(
            cfg, pipeline, rows["base"], checkpoint, data_artifact, seed=cfg.data.seed,
            label="eval_base",
        )  # fmt: skip

    # ---- SFT on the chosen mixture (token-matched: counted with the model's tokenizer)
    if cfg.sft.mixture != "none":
        sft_data = artifacts["mixture"] = pipeline.run(
            "mixture", mixture.run, mixture_spec(cfg), {"data": data_artifact, **base_inputs},
            seed=cfg.data.seed,
        )  # fmt: skip
        spec = sft.SFTSpec(cfg.model, cfg.sft, cfg.parallelization)
        inputs = {**base_inputs, "data": sft_data}
        checkpoint = artifacts["sft"] = train_stage(
            pipeline, "sft", sft.run, spec, inputs, cfg.seed, run_dir
        )

    # ---- evaluation before RL (the row RL's deltas are measured against)
    artifacts["eval_pre_rl"] = _evaluate(cfg, pipeline, rows["pre_rl"], checkpoint, data_artifact)

    # ---- RL in the source language, then evaluation in every language
    if cfg.rl.algorithm != "none":
        spec = rl.RLSpec(cfg.model, cfg.rl, cfg.rollout, cfg.execution, cfg.parallelization)
        rl_inputs = {"data": data_artifact, **({"sft": checkpoint} if checkpoint else {})}
        trained = artifacts["rl"] = train_stage(
            pipeline, "rl", rl.run, spec, rl_inputs, cfg.seed, run_dir
        )
        artifacts["eval_post_rl"] = _evaluate(
            cfg, pipeline, rows["post_rl"], trained, data_artifact
        )

    # ---- representation analysis of every checkpoint of this setting
    if cfg.analysis.enabled:
        spec = analyze.AnalyzeSpec(cfg.analysis, cfg.model)
        for role in ("base", "sft", "rl"):
            model = artifacts.get(role)
            if model is None and role != "base":
                continue  # no such checkpoint in this setting (a Hub base model has no artifact)
            inputs = {"data": data_artifact, **({"model": model} if model is not None else {})}
            analysis = pipeline.run(
                "analyze", analyze.run, spec, inputs, seed=cfg.seed, label=f"analysis_{role}"
            )
            if analysis.reused:
                analyze.log_to_tracker(pipeline.tracker, analysis.path)
            artifacts[f"analysis_{role}"] = analysis
    return artifacts


def train_stage(
    pipeline: Pipeline,
    stage: str,
    fn: StageFn,
    spec: Any,
    inputs: dict[str, Artifact],
    seed: int,
    run_dir: Path,
) -> Artifact:
    """Run a training stage on every rank together, or reuse it and replay the curves it
    recorded (`xlt.tracking.history`) into this run's tracker, unless this run folder's log
    holds them already (a requeued run that trained or replayed it before being stopped)."""
    artifact = pipeline.run(stage, fn, spec, inputs, seed=seed, collective=True)
    name = f"{artifact.stage}/{artifact.key}"
    if name in logged_stages(run_dir):
        return artifact
    if artifact.reused:  # it did not run, so its curves are not in this run's log yet
        replay_history(pipeline.tracker, artifact.path)
    if pipeline.rank == 0:  # the rank that writes the run's files
        note_logged(run_dir, name)
    return artifact


def _evaluate(
    cfg: XltConfig,
    pipeline: Pipeline,
    row: RowId,
    model: Artifact | None,
    data_art: Artifact,
    *,
    seed: int | None = None,
    label: str | None = None,
) -> Artifact:
    inputs = {"data": data_art, **({"model": model} if model is not None else {})}
    spec = eval_spec(cfg, row)
    artifact = pipeline.run(
        "evaluate", evaluate.run, spec, inputs, seed=cfg.seed if seed is None else seed,
        label=label or f"eval_{row.stage}",
    )  # fmt: skip
    if artifact.reused:  # the stage did not run, so its metrics are not in this run's log yet
        evaluate.log_to_tracker(pipeline.tracker, artifact.path)
    return artifact
