"""A training stage's curves reach every run that uses it: recorded in its artifact folder when it
runs, replayed into the tracker of a run that reuses it (`xlt.tracking.history`)."""

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from tests.rl.helpers import BASE, EXECUTION, ROLLOUT, constant_problems
from tests.train import tiny
from xlt.config import ModelConfig, ParallelPlan, PretrainConfig, SFTConfig
from xlt.pipeline import Pipeline
from xlt.stages import pretrain, rl, sft
from xlt.study import train_stage
from xlt.tracking import JsonlTracker, read_jsonl_log
from xlt.tracking.history import HISTORY_FILE, record_history, replay_history


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def curves(log: Path) -> list[tuple[int, dict]]:
    """(step, metrics) of every metrics record in a run's log, in order."""
    return [(r["step"], r["metrics"]) for r in read_jsonl_log(log) if r["kind"] == "metrics"]


def run_in(run_dir: Path, stages) -> Pipeline:
    """`stages(pipeline, run_dir)` as a run in `run_dir` (its log appended to, as a rerun's is),
    with the artifact cache beside it."""
    tracker = JsonlTracker(run_dir / "metrics.jsonl")
    pipeline = Pipeline(artifacts_dir=run_dir.parent / "artifacts", tracker=tracker)
    try:
        stages(pipeline, run_dir)
    finally:
        tracker.close()
    return pipeline


def run_twice(tmp_path: Path, stages) -> tuple[list, list, Pipeline]:
    """`stages` in two runs sharing one artifact cache; each run's curves and the second
    run's pipeline."""
    run_in(tmp_path / "first", stages)
    pipeline = run_in(tmp_path / "second", stages)
    return (
        curves(tmp_path / "first" / "metrics.jsonl"),
        curves(tmp_path / "second" / "metrics.jsonl"),
        pipeline,
    )


def test_reused_pretrain_and_sft_stages_replay_their_curves(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "corpus.jsonl", [{"text": t, "language": "py"} for t in tiny.corpus()])
    write_jsonl(data / "sft.jsonl", [{**r, "language": "py"} for r in tiny.sft_records()])
    # Shrunk for speed: the tiny model of tests/train, 3 steps each, one process, no checkpoints.
    model = ModelConfig(vocab_size=300, hidden_size=32, num_layers=2, num_heads=4,
                        intermediate_size=64, max_seq_len=64)  # fmt: skip
    train = dict(
        max_steps=3, warmup_steps=1, batch_size=4, micro_batch_size=2, seq_len=32, save_every=0
    )
    plan = ParallelPlan.preset("single")

    def stages(pipeline, run_dir):
        data_art = pipeline.run("data", lambda ctx: None, {"folder": str(data)})
        data_art = replace(data_art, path=data)  # the files written above
        spec = pretrain.PretrainSpec(model, PretrainConfig(**train), plan)
        base = train_stage(pipeline, "pretrain", pretrain.run, spec, {"data": data_art}, 0, run_dir)
        spec = sft.SFTSpec(model, SFTConfig(**train), plan)
        inputs = {"pretrain": base, "data": data_art}
        train_stage(pipeline, "sft", sft.run, spec, inputs, 0, run_dir)

    first, second, pipeline = run_twice(tmp_path, stages)
    assert [use["reused"] for use in pipeline.used] == [True, True, True]  # nothing ran again
    keys = [sorted(metrics) for _, metrics in first]
    assert (
        keys.count(["pretrain/grad_norm", "pretrain/loss", "pretrain/lr", "pretrain/tokens_per_s"])
        == 3
    )
    assert ["sft/dropped", "sft/examples", "sft/truncated"] in keys
    assert sum("train/loss" in k for k in keys) == 3
    assert second == first


def test_a_reused_rl_stage_replays_its_curves(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "rl.jsonl", [p.to_dict() for p in constant_problems()])
    start = tmp_path / "start"  # an untrained tiny model: the curves matter here, not learning
    tok = tiny.tokenizer()
    tiny.model(tok).save_pretrained(start / "model")
    tok.save_pretrained(start / "model")
    # Shrunk for speed: 2 steps of 2 prompts x 4 samples.
    settings = replace(BASE, steps=2, prompts_per_step=2, group_size=4, micro_batch_size=4)
    spec = rl.RLSpec(ModelConfig(chat=False), settings, ROLLOUT, EXECUTION, ParallelPlan())

    def stages(pipeline, run_dir):
        inputs = {
            name: replace(pipeline.run(name, lambda ctx: None, {"folder": str(path)}), path=path)
            for name, path in (("data", data), ("sft", start))
        }
        train_stage(pipeline, "rl", rl.run, spec, inputs, 0, run_dir)

    first, second, _ = run_twice(tmp_path, stages)
    assert [step for step, _ in first] == [1, 2] and "rl/reward_mean" in first[0][1]
    assert second == first


def test_an_interrupted_stage_replays_each_step_once_with_its_last_values(tmp_path):
    """A stage killed after step 3 resumes from its step-2 checkpoint: steps 3 and 4 ran twice."""
    attempts = iter([[(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 0.6), (4, 0.5)]])

    def stage(ctx):
        steps = next(attempts)
        with record_history(ctx.tracker, ctx.out) as tracker:
            for step, loss in steps:
                tracker.log({"train/loss": loss}, step=step)
        if steps[-1][0] == 3:
            raise KeyboardInterrupt("killed")

    def stages(pipeline, run_dir):
        train_stage(pipeline, "sft", stage, {"steps": 4}, {}, 0, run_dir)

    with pytest.raises(KeyboardInterrupt):
        run_in(tmp_path / "killed", stages)
    first, second, _ = run_twice(tmp_path, stages)
    assert first == [(3, {"train/loss": 0.6}), (4, {"train/loss": 0.5})]  # the resumed attempt
    losses = [(1, 0.9), (2, 0.8), (3, 0.6), (4, 0.5)]
    assert second == [(step, {"train/loss": loss}) for step, loss in losses]


def test_a_rerun_of_a_run_folder_does_not_log_its_curves_twice(tmp_path):
    """A requeued run continues its log (and W&B run), which holds the curves of the stages it
    trained or replayed before it was stopped."""

    def stage(ctx):
        with record_history(ctx.tracker, ctx.out) as tracker:
            tracker.log({"train/loss": 0.5}, step=1)

    def stages(pipeline, run_dir):
        train_stage(pipeline, "sft", stage, {"steps": 1}, {}, 0, run_dir)

    run_in(tmp_path / "trained", stages)  # trains it
    run_in(tmp_path / "trained", stages)  # requeued: reuses it
    run_in(tmp_path / "reused", stages)  # reuses it
    run_in(tmp_path / "reused", stages)  # requeued: reuses it again
    for run in ("trained", "reused"):
        assert curves(tmp_path / run / "metrics.jsonl") == [(1, {"train/loss": 0.5})]


def test_tables_and_images_are_replayed_too(tmp_path):
    with record_history(JsonlTracker(tmp_path / "live.jsonl"), tmp_path) as tracker:
        tracker.log_table("rl/samples", ["prompt", "reward"], [["def f():", 1.0]])
        tracker.log_image("rl/plot", tmp_path / "plot.png")
    replayed = JsonlTracker(tmp_path / "replayed.jsonl")
    assert replay_history(replayed, tmp_path) == 2
    replayed.close()
    drop_time = [{k: v for k, v in r.items() if k != "time"} for r in read_jsonl_log(replayed.path)]
    assert drop_time == [
        {"kind": "table", "key": "rl/samples", "columns": ["prompt", "reward"],
         "rows": [["def f():", 1.0]]},
        {"kind": "image", "key": "rl/plot", "path": str(tmp_path / "plot.png")},
    ]  # fmt: skip


def test_only_the_logging_rank_records(tmp_path):
    live = JsonlTracker(tmp_path / "live.jsonl")
    with record_history(live, tmp_path, enabled=False) as tracker:
        assert tracker is live  # other ranks share the folder and log nothing
    assert not (tmp_path / HISTORY_FILE).exists()


def test_a_stage_cached_before_histories_were_kept_replays_nothing_and_says_so(tmp_path, caplog):
    tracker = JsonlTracker(tmp_path / "run.jsonl")
    with caplog.at_level(logging.WARNING):
        assert replay_history(tracker, tmp_path / "old_stage") == 0
    assert "old_stage has no history.jsonl" in caplog.text
    tracker.close()
    assert read_jsonl_log(tmp_path / "run.jsonl") == []


def test_replayed_curves_reach_the_wandb_mirror(tmp_path):
    from xlt.tracking import make_tracker
    from xlt.tracking.wandb import wait_for_offline_run

    write_jsonl(
        tmp_path / "stage" / HISTORY_FILE,
        [{"kind": "metrics", "step": s, "metrics": {"rl/reward_mean": s / 10}} for s in (1, 2)],
    )
    tracker = make_tracker("wandb", tmp_path / "run")
    try:
        replay_history(tracker, tmp_path / "stage")
    finally:
        tracker.close()
    (wandb_dir,) = (tmp_path / "run" / "wandb").glob("offline-run-*")
    rows = wait_for_offline_run(wandb_dir)["history"]
    assert [(row["xlt/step"], row["rl/reward_mean"]) for row in rows] == [(1, 0.1), (2, 0.2)]
