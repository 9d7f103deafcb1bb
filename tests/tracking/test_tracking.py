"""The tracker factory, the mirror fan-out and the W&B mirror (offline, read back from its files)."""

import json

import pytest

from xlt.tracking import (
    JsonlTracker,
    MirroredTracker,
    make_tracker,
    read_jsonl_log,
    run_group,
    run_name,
    sweep_group,
    wandb_run_id,
)


class Broken:
    def log(self, metrics, step):
        raise ConnectionError("mirror down")

    log_table = log_image = log

    def close(self):
        raise AssertionError("a dropped mirror is not closed")


class Recording:
    def __init__(self):
        self.calls = []

    def log(self, metrics, step):
        self.calls.append(("log", step))

    def log_table(self, key, columns, rows):
        self.calls.append(("table", key))

    def log_image(self, key, path):
        self.calls.append(("image", key))

    def close(self):
        self.calls.append(("close",))


def test_jsonl_backend_is_the_plain_log(tmp_path):
    tracker = make_tracker("jsonl", tmp_path)
    assert isinstance(tracker, JsonlTracker)
    tracker.log({"train/loss": 1.0}, step=3)
    tracker.close()
    assert read_jsonl_log(tmp_path / "metrics.jsonl")[0]["metrics"] == {"train/loss": 1.0}


def test_unknown_backend_is_named(tmp_path):
    with pytest.raises(ValueError, match="tracking.backend='tensorboard'"):
        make_tracker("tensorboard", tmp_path)


def test_failing_mirror_is_dropped_and_log_keeps_everything(tmp_path, caplog):
    recording = Recording()
    tracker = MirroredTracker(JsonlTracker(tmp_path / "m.jsonl"), [Broken(), recording])
    tracker.log({"a": 1.0}, step=0)
    tracker.log_table("t", ["x"], [[1]])
    tracker.close()
    assert "mirror down" in caplog.text
    assert [r["kind"] for r in read_jsonl_log(tmp_path / "m.jsonl")] == ["metrics", "table"]
    assert recording.calls == [("log", 0), ("table", "t"), ("close",)]


def test_sweep_group_from_hydra_multirun_folder(tmp_path):
    sweep = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    (sweep / "0_seed=0").mkdir(parents=True)
    assert sweep_group(sweep / "0_seed=0") is None
    (sweep / "multirun.yaml").write_text("{}")
    assert sweep_group(sweep / "0_seed=0") == "2026-01-01_12-00-00"


def test_run_group_is_the_users_else_the_sweeps_else_the_experiments(tmp_path):
    sweep = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    assert run_group("mine", "parallel_sft", sweep) == "mine"
    assert run_group(None, "parallel_sft", sweep) == "parallel_sft_2026-01-01_12-00-00"
    assert run_group(None, None, sweep) == "2026-01-01_12-00-00"
    assert run_group(None, "parallel_sft", None) == "parallel_sft"


def test_run_name_is_the_overrides_else_the_experiment_else_the_folder(tmp_path):
    assert run_name("rl.source_language=js,seed=1", "parallel_sft", tmp_path / "3") == (
        "rl.source_language=js,seed=1"
    )
    assert run_name("", "parallel_sft", tmp_path / "3") == "parallel_sft"
    assert run_name("", None, tmp_path / "3") == "3"


def test_wandb_run_id_is_kept_in_the_run_folder(tmp_path):
    first = wandb_run_id(tmp_path / "a")
    assert wandb_run_id(tmp_path / "a") == first  # a rerun of the folder: the same W&B run
    assert wandb_run_id(tmp_path / "b") != first
    (tmp_path / "a" / "wandb_run_id").write_text("")  # a write cut short is not an id
    assert wandb_run_id(tmp_path / "a") not in ("", first)


def test_wandb_mirror_offline_run_files(tmp_path):
    """Group from the sweep, resolved config, out-of-order steps, a table and an image."""
    from xlt.tracking.wandb import wait_for_offline_run

    sweep = tmp_path / "multirun" / "day" / "time"
    run_dir = sweep / "0_rl.source_language=py"
    run_dir.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("{}")
    image = tmp_path / "plot.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot([0, 1], [1, 0])
    plt.savefig(image)
    plt.close()

    config = {"rl": {"source_language": "py", "steps": 40}, "seed": 0}
    tracker = make_tracker("wandb", run_dir, config=config)
    try:
        tracker.log({"rl/reward_mean": 0.5}, step=10)
        tracker.log({"eval/micro/py/pass@1": 0.25}, step=0)  # evaluation logged after training
        tracker.log_table("transfer/matrix", ["row", "py"], [["SFT parallel", 0.25]])
        tracker.log_image("transfer/heatmap", image)
    finally:
        tracker.close()

    (wandb_dir,) = (run_dir / "wandb").glob("offline-run-*")
    run = wait_for_offline_run(wandb_dir)
    assert run["group"] == "day_time"
    assert run["config"] == config
    steps = [(row.get("xlt/step"), key) for row in run["history"] for key in row if "/" in key]
    assert (10, "rl/reward_mean") in steps and (0, "eval/micro/py/pass@1") in steps
    logged = {key: value for row in run["history"] for key, value in row.items()}
    table = json.loads((wandb_dir / "files" / logged["transfer/matrix"]["path"]).read_text())
    assert table["columns"] == ["row", "py"] and table["data"] == [["SFT parallel", 0.25]]
    assert (
        wandb_dir / "files" / logged["transfer/heatmap"]["path"]
    ).read_bytes() == image.read_bytes()
    # The JSONL log has all of it too.
    kinds = [r["kind"] for r in read_jsonl_log(run_dir / "metrics.jsonl")]
    assert kinds == ["metrics", "metrics", "table", "image"]
