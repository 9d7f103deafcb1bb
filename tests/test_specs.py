"""Each stage sees exactly what its cache key hashes: its frozen spec, nothing else.

The specs come from `xlt.study` on composed configs (micro and paper scale), so these tests
cover what a real run hashes. Every leaf of every spec is changed in turn: a setting the
stage can read must change its key; a setting declared `outside_key` (speed or storage
only) must not.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

import pytest

import xlt.stages.data
import xlt.study as study
from xlt.pipeline import Pipeline, StageContext, stage_key
from xlt.run import compose
from xlt.spec import key_dict
from xlt.stages import analyze, pretrain, rl, sft

PAPER_TRANSLATING = ("scale=paper", "data.translate_to=[java]", "data.languages=[py,cpp,java]",
                     "data.held_out=[]")  # fmt: skip


def _specs(cfg) -> dict[str, Any]:
    """Every stage's spec for one setting, as `run_study` builds them."""
    rows = study.row_ids(cfg)
    specs = {
        "data": study.data_spec(cfg),
        "pretrain": pretrain.PretrainSpec(cfg.model, cfg.pretrain, cfg.parallelization),
        "mixture": study.mixture_spec(cfg),
        "sft": sft.SFTSpec(cfg.model, cfg.sft, cfg.parallelization),
        "eval_pre_rl": study.eval_spec(cfg, rows["pre_rl"]),
        "rl": rl.RLSpec(cfg.model, cfg.rl, cfg.rollout, cfg.execution, cfg.parallelization),
        "analyze": analyze.AnalyzeSpec(cfg.analysis, cfg.model),
    }
    return specs


def _leaves(value: Any, path: tuple = ()):
    """(path, field, value) of every non-dataclass field under a spec, recursively."""
    for f in dataclasses.fields(value):
        child = getattr(value, f.name)
        if dataclasses.is_dataclass(child):
            yield from _leaves(child, (*path, f.name))
        else:
            yield (*path, f.name), f, child


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "_changed"
    if value is None:
        return "changed"
    if isinstance(value, list | tuple):
        return type(value)([*value, "extra"])
    if isinstance(value, dict):
        return {**value, "extra": 1}
    raise AssertionError(f"no change rule for {value!r}")


def _with(spec: Any, path: tuple, value: Any) -> Any:
    """A copy of `spec` with the leaf at `path` set to `value` (checks bypassed: only the
    key is computed from it)."""
    copied = copy.deepcopy(spec)
    parent = copied
    for name in path[:-1]:
        parent = getattr(parent, name)
    object.__setattr__(parent, path[-1], value)
    return copied


@pytest.mark.parametrize("overrides", [("+experiment=parallel_sft",), PAPER_TRANSLATING])
def test_every_setting_a_stage_reads_changes_its_key_and_no_other_does(overrides):
    specs = _specs(compose(*overrides))
    checked = 0
    for stage, spec in specs.items():
        key = stage_key(stage, spec, {})
        for path, field, value in _leaves(spec):
            other = stage_key(stage, _with(spec, path, _changed(value)), {})
            where = f"{stage}: {'.'.join(path)}"
            if field.metadata.get("outside_key"):
                assert other == key, f"{where} is speed-only but changed the key"
            else:
                assert other != key, f"{where} can change the stage's output but not its key"
            checked += 1
    assert checked > 150  # every leaf of seven specs, not a handful


def test_speed_only_settings_are_the_declared_few():
    cfg = compose("+experiment=parallel_sft")
    outside = {
        f"{stage}: {'.'.join(path)}"
        for stage, spec in _specs(cfg).items()
        for path, field, _ in _leaves(spec)
        if field.metadata.get("outside_key")
    }
    # Pool sizes, the cache folder, checkpoint cadence, a preset's name, the report's
    # bootstrap count: nothing that can change what a stage computes.
    names = {entry.split(": ")[1] for entry in outside}
    assert names == {
        "execution.workers", "execution.heavy_workers", "execution.cache_dir",
        "pretrain.save_every", "pretrain.keep_last", "pretrain.log_every",
        "sft.save_every", "sft.keep_last", "sft.log_every",
        "rl.save_every", "rl.keep_last", "parallelization.name", "eval.bootstrap_samples",
    }  # fmt: skip


def test_the_translator_model_is_in_the_data_key():
    # Before specs, the paper data stage's key was the data config alone, while the stage
    # also read model.path, model.chat and rollout.backend to translate.
    base = compose(*PAPER_TRANSLATING)
    keys = {
        stage_key("data", study.data_spec(compose(*PAPER_TRANSLATING, *extra)), {})
        for extra in [(), ("data.translator_model=other/model",), ("model.chat=false",),
                      ("rollout=hf",), ("model.revision=abc123",)]
    }  # fmt: skip
    assert len(keys) == 5
    # Without translation the model is only the token counter's tokenizer.
    plain = compose("scale=paper")
    assert study.data_spec(plain).translator is None
    assert study.data_spec(base).translator.path == base.model.path


def test_the_mixture_key_holds_the_model_revision():
    pinned = [compose("scale=paper", f"model.revision={rev}") for rev in ("aaa", "bbb")]
    keys = {stage_key("mixture", study.mixture_spec(cfg), {}) for cfg in pinned}
    assert len(keys) == 2


def test_a_stage_gets_its_spec_and_nothing_else(tmp_path):
    cfg = compose("+experiment=parallel_sft")
    spec = study.data_spec(cfg)
    seen: list[StageContext] = []
    Pipeline(tmp_path, tracker=None).run("data", seen.append, spec, seed=cfg.data.seed)
    (ctx,) = seen
    assert ctx.spec is spec
    assert {f.name for f in dataclasses.fields(ctx)} == {"spec", "inputs", "out", "tracker", "seed"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.spec.data.num_tasks = 1  # specs and the configs in them are frozen
    assert not hasattr(ctx.spec, "rl") and not hasattr(ctx.spec, "model")


# Configs are frozen, so one composition per override list serves every test (Hydra's
# compose is most of this file's run time, and `make mutate` reruns it per mutant).
_composed = functools.cache(compose)

ALL_STAGES = frozenset({"data", "pretrain", "eval_base", "mixture", "sft", "eval_pre_rl", "rl",
                        "eval_post_rl", "analysis_base", "analysis_sft", "analysis_rl"})  # fmt: skip
AFTER_DATA = ALL_STAGES - {"data"}
AFTER_SFT = frozenset({"sft", "eval_pre_rl", "rl", "eval_post_rl", "analysis_sft", "analysis_rl"})
RL_AND_AFTER = frozenset({"rl", "eval_post_rl", "analysis_rl"})
EVALS = frozenset({"eval_base", "eval_pre_rl", "eval_post_rl"})
ANALYSES = frozenset({"analysis_base", "analysis_sft", "analysis_rl"})


@pytest.fixture
def recorded_study(tmp_path, monkeypatch):
    """run_study with every stage replaced by a no-op that records which role it ran as;
    returns run(*overrides) -> the set of roles that ran (not reused from the cache)."""
    ran: list[str] = []
    roles = {"pretrain": "base", "sft": "sft", "rl": "rl"}  # an analysed model's stage -> role

    def recorder(module):
        def run(ctx):
            if module == "evaluate":
                row = ctx.spec.row
                ran.append("eval_base" if row.sft_mixture == "none" else f"eval_{row.stage}")
            elif module == "analyze":
                ran.append(f"analysis_{roles[ctx.inputs['model'].parent.name]}")  # <stage>/<key>
            else:
                ran.append(module)
            (ctx.out / "model").mkdir(exist_ok=True)

        return run

    for module in ("data", "pretrain", "mixture", "sft", "evaluate", "rl", "analyze"):
        monkeypatch.setattr(f"xlt.stages.{module}.run", recorder(module))
    monkeypatch.setattr(xlt.stages.evaluate, "log_to_tracker", lambda *a: None)
    monkeypatch.setattr(xlt.stages.analyze, "log_to_tracker", lambda *a: None)
    pipeline = Pipeline(tmp_path, tracker=None)

    def run(*overrides):
        ran.clear()
        study.run_study(_composed("+experiment=parallel_sft", *overrides), pipeline)
        assert len(ran) == len(set(ran)), f"a role ran twice: {ran}"
        return set(ran)

    assert run() == ALL_STAGES  # the first run computes everything
    return run


# One setting of each config group changed from the micro study's: the stages that rerun,
# worked out from the stage graph (docs/config.md), not from the keys.
@pytest.mark.parametrize(
    ("override", "reruns"),
    [
        ("data.num_tasks=300", ALL_STAGES),
        ("data.seed=1", ALL_STAGES),  # the suite, and the seed of pretraining and the mixture
        ("model.hidden_size=32", AFTER_DATA),  # the micro data is model-free
        ("pretrain.lr=1e-3", AFTER_DATA),  # everything downstream of the base model
        ("sft.num_tokens=1000", AFTER_SFT | {"mixture"}),
        ("sft.lr=5e-4", AFTER_SFT),
        ("seed=1", AFTER_SFT | {"analysis_base"}),  # data, pretraining and mixture are shared
        ("rl.lr=1e-4", RL_AND_AFTER),
        ("rl.source_language=js", RL_AND_AFTER),  # a parallel mixture does not depend on it
        ("rollout.max_model_len=2048", RL_AND_AFTER | EVALS),  # RL and evaluation generate
        ("eval.max_new_tokens=48", EVALS),
        ("execution.timeout_s=5", RL_AND_AFTER | EVALS),  # rewards and evaluation run programs
        ("analysis.pooling=last", ANALYSES),
        # speed or storage only: every stage is reused
        ("execution.workers=1", frozenset()),
        ("execution.heavy_workers=3", frozenset()),
        ("execution.cache_dir=/tmp/elsewhere", frozenset()),
        ("pretrain.save_every=7", frozenset()),
        ("sft.keep_last=5", frozenset()),
        ("rl.save_every=3", frozenset()),
        ("eval.bootstrap_samples=50", frozenset()),
    ],
)
def test_which_stages_rerun_when_one_setting_changes(recorded_study, override, reruns):
    assert recorded_study(override) == reruns
    assert recorded_study() == set()  # and going back reuses every stage


def test_row_hashes_separate_settings_and_pool_seeds():
    rows = {
        name: study.row_ids(compose("+experiment=parallel_sft", *extra))
        for name, extra in [("base", ()), ("seed", ("seed=1",)), ("rl_lr", ("rl.lr=1e-4",)),
                            ("sft_lr", ("sft.lr=5e-4",)), ("suite", ("data.seed=1",))]
    }  # fmt: skip
    base = rows["base"]
    for name in ("seed", "suite"):  # seeds and suites pool into one row
        assert rows[name]["post_rl"].setting_key == base["post_rl"].setting_key
    assert rows["rl_lr"]["pre_rl"].setting_key == base["pre_rl"].setting_key
    assert rows["rl_lr"]["post_rl"].setting_key != base["post_rl"].setting_key
    assert rows["sft_lr"]["post_rl"].sft_key != base["post_rl"].sft_key
    assert rows["rl_lr"]["post_rl"].settings["rl.lr"] == 1e-4
    assert "seed" not in base["post_rl"].settings and "data.seed" not in base["post_rl"].settings
    assert key_dict(base["post_rl"])["sft_hash"] == base["pre_rl"].sft_hash


def test_every_setting_with_sft_has_one_shared_base_row():
    rows = {
        name: study.row_ids(compose(*overrides))
        for name, overrides in {
            "parallel": ("+experiment=parallel_sft",),
            "multilingual_seed1": ("+experiment=multilingual_sft", "seed=1", "sft.lr=5e-4"),
            "rl_only": ("+experiment=rl_only",),
            "other_suite": ("+experiment=parallel_sft", "data.seed=1"),
        }.items()
    }
    base = rows["parallel"]["base"]
    assert base.sft_mixture == "none" and base.stage == "pre_rl" and base.seed == 0
    assert not any(key.startswith("sft.") for key in base.settings)
    # the same row whatever SFT, RL or run seed follows, and the rl_only run's pre-RL row
    assert rows["multilingual_seed1"]["base"] == base
    assert "base" not in rows["rl_only"]
    assert rows["rl_only"]["pre_rl"].sft_hash == base.sft_hash
    # a new suite is a new base model, seeded by the data seed, told apart by data_seed
    other = rows["other_suite"]["base"]
    assert (other.data_seed, other.seed) == (1, 1) and (base.data_seed, base.seed) == (0, 0)
