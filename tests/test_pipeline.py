"""Stage caching: reuse, recompute on change, redo after a kill, one producer under concurrency."""

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from xlt.pipeline import DONE, Pipeline, StageContext, stage_key


def make_pipeline(tmp_path: Path) -> Pipeline:
    return Pipeline(artifacts_dir=tmp_path / "artifacts", tracker=None)


def counting_stage(counter: Path):
    """A stage that appends to `counter` each time it really runs and writes its input."""

    def run(ctx: StageContext) -> None:
        with counter.open("a") as f:
            f.write("x")
        (ctx.out / "value.txt").write_text(str(ctx.seed))

    return run


def runs(counter: Path) -> int:
    return len(counter.read_text()) if counter.exists() else 0


def test_a_finished_stage_is_reused_and_recomputed_when_an_input_changes(tmp_path):
    counter = tmp_path / "count"
    stage = counting_stage(counter)

    first = make_pipeline(tmp_path)
    data = first.run("data", stage, {"n": 1})
    sft = first.run("sft", stage, {"lr": 0.1}, {"data": data})
    assert runs(counter) == 2 and (sft.path / DONE).is_file()

    second = make_pipeline(tmp_path)  # a new run with the same config
    assert second.run("data", stage, {"n": 1}) == data
    assert second.run("sft", stage, {"lr": 0.1}, {"data": data}) == sft
    assert runs(counter) == 2
    assert [u["reused"] for u in second.used] == [True, True]
    assert second.run("data", stage, {"n": 1}).reused and not data.reused

    # Changing the upstream config changes the downstream key: both rerun.
    data2 = second.run("data", stage, {"n": 2})
    sft2 = second.run("sft", stage, {"lr": 0.1}, {"data": data2})
    assert runs(counter) == 4 and sft2.key != sft.key
    # Changing the seed alone is a change too.
    assert second.run("sft", stage, {"lr": 0.1}, {"data": data2}, seed=1).key != sft2.key


def test_the_key_ignores_dict_order_but_not_values():
    assert stage_key("s", {"a": 1, "b": 2}, {}) == stage_key("s", {"b": 2, "a": 1}, {})
    assert stage_key("s", {"a": 1}, {}) != stage_key("s", {"a": 2}, {})
    assert stage_key("s", {"a": 1}, {}) != stage_key("t", {"a": 1}, {})


def test_the_run_record_names_every_artifact_used(tmp_path):
    pipeline = make_pipeline(tmp_path)
    stage = counting_stage(tmp_path / "count")
    data = pipeline.run("data", stage, {})
    pipeline.run("evaluate", stage, {}, {"data": data}, label="eval_pre_rl")
    record = json.loads(pipeline.write_record(tmp_path).read_text())
    assert [r["label"] for r in record] == ["data", "eval_pre_rl"]
    assert all(Path(r["path"]).is_dir() for r in record)


def _slow_stage_process(artifacts_dir: str, counter: str, hold_s: float) -> None:
    def run(ctx: StageContext) -> None:
        with open(counter, "a") as f:
            f.write("x")
        (ctx.out / "partial.txt").write_text("half")
        time.sleep(hold_s)
        (ctx.out / "value.txt").write_text("done")

    Pipeline(artifacts_dir=Path(artifacts_dir), tracker=None).run("sft", run, {"lr": 1})


def test_a_stage_killed_midway_is_redone(tmp_path):
    counter = tmp_path / "count"
    proc = multiprocessing.get_context("spawn").Process(
        target=_slow_stage_process, args=(str(tmp_path / "artifacts"), str(counter), 60.0)
    )
    proc.start()
    deadline = time.time() + 30
    while runs(counter) == 0 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    [folder] = [p for p in (tmp_path / "artifacts" / "sft").iterdir() if p.is_dir()]
    assert not (folder / DONE).exists() and (folder / "partial.txt").exists()

    _slow_stage_process(str(tmp_path / "artifacts"), str(counter), 0.0)
    assert runs(counter) == 2  # the interrupted stage ran again
    assert (folder / DONE).exists() and (folder / "value.txt").read_text() == "done"


def test_two_processes_asking_for_one_stage_produce_one_artifact(tmp_path):
    counter = tmp_path / "count"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_slow_stage_process, args=(str(tmp_path / "artifacts"), str(counter), 1.0)
        )
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert runs(counter) == 1
    folders = [p for p in (tmp_path / "artifacts" / "sft").iterdir() if p.is_dir()]
    assert len(folders) == 1 and (folders[0] / "value.txt").read_text() == "done"


def test_a_failing_stage_leaves_no_done_marker(tmp_path):
    def broken(ctx: StageContext) -> None:
        raise RuntimeError("boom")

    pipeline = make_pipeline(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        pipeline.run("sft", broken, {})
    folders = [p for p in (tmp_path / "artifacts" / "sft").iterdir() if p.is_dir()]
    assert folders and not (folders[0] / DONE).exists()


def _rank_process(artifacts_dir: str, log: str, rank: int, collective: bool) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29999", TORCHELASTIC_RUN_ID="t1")

    def run(ctx: StageContext) -> None:
        with open(log, "a") as f:
            f.write(f"{rank}\n")
        if collective:  # like a DeepSpeed collective: wait until both ranks are in
            deadline = time.time() + 20
            while len(Path(log).read_text().split()) < 2 and time.time() < deadline:
                time.sleep(0.05)

    pipeline = Pipeline(Path(artifacts_dir), tracker=None, rank=rank, world_size=2)
    pipeline.run("sft", run, {"lr": 1}, collective=collective)


@pytest.mark.parametrize(("collective", "expected_runs"), [(True, ["0", "1"]), (False, None)])
def test_multi_rank_launch_runs_collective_stages_on_every_rank_once(
    tmp_path, collective, expected_runs
):
    log = tmp_path / "ranks"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_rank_process, args=(str(tmp_path / "a"), str(log), rank, collective))
        for rank in (1, 0)  # rank 1 first: it must wait for rank 0's claim
    ]
    for proc in procs:
        proc.start()
        time.sleep(0.3)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    ran = sorted(log.read_text().split())
    if collective:
        assert ran == expected_runs  # both ranks ran the stage, each once
    else:
        assert len(ran) == 1  # one rank produced, the other reused
    [folder] = [p for p in (tmp_path / "a" / "sft").iterdir() if p.is_dir()]
    assert (folder / DONE).is_file() and not (folder / "CLAIM").exists()
    # A later single-process run reuses it.
    again = Pipeline(tmp_path / "a", tracker=None).run("sft", None, {"lr": 1})
    assert again.reused


# --- what a stage leaves on disk, and the multi-rank helpers, called in-process -------------


def test_stage_json_done_and_the_context_a_stage_gets(tmp_path):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Spec:
        lr: float
        where: Path  # not JSON: written as text

    seen = []

    def stage(ctx):
        seen.append(ctx)
        time.sleep(0.05)

    tracker = object()
    pipeline = Pipeline(tmp_path / "artifacts", tracker=tracker)
    data = pipeline.run("data", counting_stage(tmp_path / "count"), {"n": 1})
    started = time.time()
    artifact = pipeline.run("sft", stage, Spec(0.1, Path("/x")), {"data": data}, seed=3)
    assert artifact.reused is False and artifact.stage == "sft"
    (ctx,) = seen
    assert (ctx.seed, ctx.tracker, ctx.out, ctx.inputs) == (3, tracker, artifact.path,
                                                           {"data": data.path})  # fmt: skip
    record = {"stage": "sft", "spec": {"lr": 0.1, "where": "/x"}, "seed": 3,
              "inputs": {"data": str(data.path)}}  # fmt: skip
    text = (artifact.path / "stage.json").read_text()
    assert json.loads(text) == record and text == json.dumps(record, indent=2)
    done = json.loads((artifact.path / DONE).read_text())
    assert done["stage"] == "sft" and 0.05 <= done["seconds"] < 2.5  # the stage slept 0.05 s
    assert round(done["seconds"], 3) == done["seconds"]
    assert started <= done["finished"] <= time.time()
    # A plain (non-dataclass) spec is recorded as it is.
    other = pipeline.run("data", counting_stage(tmp_path / "count"), {"n": 2})
    assert json.loads((other.path / "stage.json").read_text())["spec"] == {"n": 2}
    # The run record: every use, indented JSON in artifacts.json.
    path = pipeline.write_record(tmp_path)
    assert path == tmp_path / "artifacts.json"
    assert path.read_text() == json.dumps(pipeline.used, indent=2)


def _within(call, timeout_s=10.0):
    """call() in a daemon thread; fails instead of hanging when it waits forever (a broken
    claim loop polls with sleep, which no CPU-time limit catches)."""
    import threading

    result = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert result, f"still waiting after {timeout_s} s"
    return result[0]


def test_a_non_collective_stage_runs_on_any_rank_without_a_claim(tmp_path, monkeypatch):
    # Rank 1 of 2: a non-collective stage (the default) must not wait for rank 0's claim.
    def no_claim(self, folder):
        raise AssertionError("a non-collective stage waited for a claim")

    monkeypatch.setattr(Pipeline, "_join_claim", no_claim)
    pipeline = Pipeline(tmp_path / "artifacts", tracker=None, rank=1, world_size=2)
    artifact = pipeline.run("data", counting_stage(tmp_path / "count"), {"n": 1})
    assert (artifact.path / DONE).is_file() and runs(tmp_path / "count") == 1


def test_launch_id_names_the_launch(monkeypatch):
    from xlt.pipeline import launch_id

    for name in ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT", "SLURM_JOB_ID",
                 "SLURM_RESTART_COUNT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert launch_id() == "none@:@.0"
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "r1")
    monkeypatch.setenv("MASTER_ADDR", "host")
    monkeypatch.setenv("MASTER_PORT", "29500")
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    assert launch_id() == "r1@host:29500@77.0"


def test_join_claim_joins_this_launch_and_reuses_a_finished_stage(tmp_path, monkeypatch):
    import threading

    from xlt import pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "CLAIM_POLL_S", 0.01)
    rank1 = Pipeline(tmp_path, tracker=None, rank=1, world_size=2)
    mine, theirs, done = tmp_path / "mine", tmp_path / "theirs", tmp_path / "done"
    for folder in (mine, theirs, done):
        folder.mkdir()
    (mine / "CLAIM").write_text(pipeline_module.launch_id())
    assert _within(lambda: rank1._join_claim(mine)) is False  # this launch's claim: join
    (done / DONE).write_text("{}")
    assert _within(lambda: rank1._join_claim(done)) is True  # finished: reuse
    # Claimed by another launch: wait (polling) until that launch finishes it.
    (theirs / "CLAIM").write_text("another@launch:1@")
    threading.Timer(0.1, lambda: (theirs / DONE).write_text("{}")).start()
    assert _within(lambda: rank1._join_claim(theirs)) is True


def test_collective_stage_on_two_ranks_in_process(tmp_path):
    """The multi-rank branches of Pipeline.run in this process (the multi-process test above
    runs them in subprocesses, which mutation testing cannot see): rank 0 claims and
    writes the markers, rank 1 joins the claim and writes nothing."""
    from xlt.pipeline import CLAIM, launch_id

    seen = {}

    def stage(ctx):
        folder = ctx.out
        seen[len(seen)] = {
            "claim": (folder / CLAIM).read_text() if (folder / CLAIM).is_file() else None,
            "locked": Path(str(folder) + ".lock").exists(),
            "seed": ctx.seed,
            "spec": ctx.spec,
        }

    # Rank 1 first: it finds rank 0's claim (written here by hand) and runs the stage too.
    rank1 = Pipeline(tmp_path, tracker=None, rank=1, world_size=2)
    folder = tmp_path / "sft" / stage_key("sft", {"lr": 1}, {}, 5)
    folder.mkdir(parents=True)
    (folder / CLAIM).write_text(launch_id())
    artifact = _within(lambda: rank1.run("sft", stage, {"lr": 1}, seed=5, collective=True))
    assert artifact.path == folder and artifact.reused is False
    assert seen[0]["seed"] == 5 and seen[0]["spec"] == {"lr": 1}
    assert not (folder / DONE).exists() and not (folder / "stage.json").exists()  # rank 0 writes
    (folder / CLAIM).unlink()

    # Rank 0: takes the lock, claims for this launch, runs, writes the markers, drops the claim.
    rank0 = Pipeline(tmp_path, tracker=None, rank=0, world_size=2)
    artifact = _within(lambda: rank0.run("sft", stage, {"lr": 1}, seed=5, collective=True))
    assert seen[1]["claim"] == launch_id() and seen[1]["locked"]
    assert (folder / DONE).is_file() and (folder / "stage.json").is_file()
    assert not (folder / CLAIM).exists()
    # A non-collective stage on rank 0 of 2 claims nothing.
    rank0.run("data", stage, {"n": 1})
    assert seen[2]["claim"] is None and seen[2]["locked"]
    # One process (world size 1): a collective stage claims nothing either.
    Pipeline(tmp_path / "one", tracker=None).run("sft", stage, {"lr": 2}, collective=True)
    assert seen[3]["claim"] is None


def test_the_run_record_of_each_use_and_the_default_seed(tmp_path):
    pipeline = make_pipeline(tmp_path)

    def stage(ctx):
        time.sleep(0.05)

    artifact = pipeline.run("data", stage, {"n": 1}, label="the data")
    (use,) = pipeline.used
    assert set(use) == {"label", "stage", "key", "path", "reused", "seconds"}
    assert (use["label"], use["stage"], use["key"], use["path"], use["reused"]) == (
        "the data", "data", artifact.key, str(artifact.path), False
    )  # fmt: skip
    assert 0.05 <= use["seconds"] < 2.5 and round(use["seconds"], 3) == use["seconds"]
    # Without a seed, the key is seed 0's (what Pipeline.run passes by default).
    assert stage_key("data", {"n": 1}, {}) == stage_key("data", {"n": 1}, {}, 0) == artifact.key
