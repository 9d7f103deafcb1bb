"""Every experiment composes at every scale, every `_target_` binds, bad values fail early."""

import importlib
import inspect
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, ListConfig, OmegaConf

from xlt.config import XltConfig
from xlt.run import build_config
from xlt.spec import flatten

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
SCALES = sorted(p.stem for p in (CONF_DIR / "scale").glob("*.yaml"))


def compose_config(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def import_target(path: str):
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def nodes_with_target(node, where="<root>"):
    if isinstance(node, DictConfig):
        if "_target_" in node:
            yield where, node
        for key in node:
            yield from nodes_with_target(node[key], f"{where}.{key}")
    elif isinstance(node, ListConfig):
        for i, item in enumerate(node):
            yield from nodes_with_target(item, f"{where}[{i}]")


def test_the_study_experiments_exist():
    expected = {
        "parallel_sft",
        "monolingual_sft",
        "multilingual_sft",
        "rl_only",
        "oracle",
        "transfer_sweep",
    }
    assert expected <= set(EXPERIMENTS)
    assert set(SCALES) == {"micro", "rehearsal", "paper"}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_binds_and_instantiates(experiment, scale):
    dict_cfg = compose_config(f"+experiment={experiment}", f"scale={scale}")
    targets = list(nodes_with_target(dict_cfg))
    assert len(targets) >= 12  # the root and every config group
    for where, node in targets:
        target = import_target(node._target_)
        kwargs = {k: v for k, v in node.items() if not k.startswith("_")}
        try:
            inspect.signature(target).bind(**kwargs)
        except TypeError as error:
            pytest.fail(f"{where}: {node._target_} does not take these keys: {error}")
    cfg = build_config(dict_cfg)
    assert isinstance(cfg, XltConfig)
    assert cfg.scale == scale


def test_experiment_files_start_with_global_package_and_command():
    for name in EXPERIMENTS:
        lines = (CONF_DIR / "experiment" / f"{name}.yaml").read_text().splitlines()
        assert lines[0] == "# @package _global_", name
        assert any("python -m xlt.run" in line for line in lines[:6]), name


def test_scales_select_different_worlds():
    micro = build_config(compose_config("+experiment=parallel_sft"))
    paper = build_config(compose_config("+experiment=parallel_sft", "scale=paper"))
    assert micro.model.path is None and micro.rollout.backend == "hf"
    assert micro.parallelization.zero_stage == 0 and micro.pretrain.enabled
    assert paper.model.path == "meta-llama/Llama-3.1-8B-Instruct" and paper.model.chat
    assert paper.rollout.backend == "vllm" and paper.parallelization.zero_stage == 3
    assert paper.data.kind == "codeforces" and not paper.pretrain.enabled
    assert paper.eval.benchmark == "multipl-e"


def test_experiments_set_their_mixture():
    mixtures = {
        "parallel_sft": "parallel",
        "monolingual_sft": "monolingual",
        "multilingual_sft": "multilingual",
        "rl_only": "none",
    }
    for experiment, mixture in mixtures.items():
        assert build_config(compose_config(f"+experiment={experiment}")).sft.mixture == mixture


def test_sweep_declares_mixtures_sources_and_seeds():
    raw = OmegaConf.load(CONF_DIR / "experiment" / "transfer_sweep.yaml")
    params = OmegaConf.to_container(raw.hydra.sweeper.params)
    assert params["sft"].split(",") == ["monolingual", "multilingual", "parallel"]
    assert len(params["seed"].split(",")) >= 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["rl.source_language=xx"], "rl.source_language: unknown language 'xx'"),
        (["rl.source_language=rb"], "is held out"),
        (["rl.source_language=cpp"], "is not in data.languages"),
        (["rl.group_size=3"], "must be divisible by rl.micro_batch_size"),
        (["sft.batch_size=10", "sft.micro_batch_size=4"], "sft.batch_size=10 must be a multiple"),
        (["eval.k=[1,5]"], "raise eval.num_samples"),
        (["sft.seq_len=4096"], "exceeds model.max_seq_len"),
        (["data.held_out=[go]"], "not in data.languages"),
        (["parallelization.offload_optimizer=true"], "CPU offload needs zero_stage 2 or 3"),
        (["model.num_heads=3"], "divisible by model.num_heads"),
        (["eval.chat_answers=raw"], "eval.chat_answers='raw' is not one of"),
        (["+rl.learning_rate=1"], "unexpected keyword argument 'learning_rate'"),
    ],
)
def test_bad_values_fail_before_any_work_naming_the_key(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        build_config(compose_config("+experiment=parallel_sft", *overrides))


def test_oracle_may_train_on_a_held_out_language():
    cfg = build_config(compose_config("+experiment=oracle"))
    assert cfg.rl.oracle and cfg.rl.source_language in cfg.data.held_out


def test_group_yamls_list_only_differences_from_their_dataclass():
    """Each default has one home (the dataclass): a group's YAML restating a default would be a
    second copy that can drift from it."""
    import yaml

    from xlt.run import GROUP_BASES

    base_of = {group: cls for (group, name), cls in GROUP_BASES.items() if name == "base"}
    base_of["data"] = None  # two classes; checked through their own base names below
    restated = []
    for path in sorted(CONF_DIR.glob("*/*.yaml")):
        group = path.parent.name
        if group not in base_of:
            continue  # scale/ and experiment/ are deltas over whole configs
        node = yaml.safe_load(path.read_text()) or {}
        assert "_target_" not in node, f"{path}: the target comes from the base node"
        parents = [d for d in node.get("defaults", []) if d != "_self_"]
        assert len(parents) == 1, f"{path}: starts from one base or sibling, got {parents}"
        cls = base_of[group] or GROUP_BASES[("data", parents[0])]
        defaults = cls()
        for key, value in node.items():
            if (
                key != "defaults"
                and value == getattr(defaults, key)
                and parents[0].startswith("base")
            ):
                restated.append(f"{path.relative_to(CONF_DIR)}: {key}={value!r}")
    assert not restated, "restated dataclass defaults:\n" + "\n".join(restated)


# What scale=rehearsal may change against scale=paper: sizes, local paths, names, and the
# rollout backend (vLLM needs a GPU). Any other difference is a branch the rehearsal skips.
REHEARSAL_SIZE_KEYS = {
    "scale", "model.name", "model.path", "model.max_seq_len", "rollout.backend",
    "rollout.batch_size", "rollout.max_model_len", "data.local_path", "data.languages",
    "data.held_out", "data.max_candidates", "eval.data_path", "eval.k", "eval.max_new_tokens",
    "eval.max_problems", "eval.num_samples", "execution.memory_mb", "analysis.max_programs",
    "sft.batch_size", "sft.lr", "sft.max_steps", "sft.micro_batch_size", "sft.save_every",
    "sft.seq_len", "sft.warmup_steps", "rl.group_size", "rl.logprob_chunk_tokens", "rl.lr",
    "rl.max_new_tokens", "rl.micro_batch_size", "rl.prompts_per_step", "rl.save_every",
    "rl.steps", "rl.value_lr",
}  # fmt: skip


def test_the_rehearsal_differs_from_paper_scale_only_in_size():
    def leaves(cfg):
        return flatten({f.name: asdict(v) if is_dataclass(v := getattr(cfg, f.name)) else v
                        for f in fields(cfg)})  # fmt: skip

    paper = leaves(build_config(compose_config("+experiment=parallel_sft", "scale=paper")))
    rehearsal = leaves(build_config(compose_config("+experiment=parallel_sft", "scale=rehearsal")))
    differ = {k for k in paper.keys() | rehearsal.keys() if paper.get(k) != rehearsal.get(k)}
    assert differ <= REHEARSAL_SIZE_KEYS, sorted(differ - REHEARSAL_SIZE_KEYS)
    assert rehearsal["model.chat"] and rehearsal["parallelization.zero_stage"] == 3
