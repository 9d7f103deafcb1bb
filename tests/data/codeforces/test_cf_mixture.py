"""The CodeForces SFT pool through the shared mixture builder (`xlt.data.mixtures`) and stage."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xlt.data import mixtures
from xlt.pipeline import StageContext
from xlt.run import build_config
from xlt.stages import mixture as mixture_stage
from xlt.study import mixture_spec
from xlt.tracking.base import JsonlTracker

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_pool_is_grouped_by_task_and_free_of_held_out_languages(built):
    out, _ = built
    pool = _read(out / "sft.jsonl")
    groups = list(mixtures.group_by_task(pool))  # raises if a task is split
    assert len(groups) == 3
    assert list(mixtures.assert_absent(pool, ["rb"], "pool")) == pool
    units = list(mixtures.select("parallel", groups, languages=["py", "js"], parallel_k=2))
    assert [sorted(r["language"] for r in unit) for unit in units] == [["js", "py"]] * 3
    with pytest.raises(ValueError, match="held-out"):
        list(mixtures.select("multilingual", groups, languages=["py", "rb"], held_out=["rb"]))


def test_the_three_mixtures_are_token_matched_on_a_codeforces_pool(built, tmp_path):
    """The fixture pool's tasks, cloned 40 times in a seeded order, through the mixture stage."""
    out, _ = built
    base = list(mixtures.group_by_task(_read(out / "sft.jsonl")))
    clones = [
        [{**r, "task": f"{r['task']}#{k}"} for r in group] for k in range(40) for group in base
    ]
    random.Random(0).shuffle(clones)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for g in clones for r in g))
    budgets, tokens = {}, {}
    for kind in ("monolingual", "multilingual", "parallel"):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = build_config(
                compose(
                    config_name="config",
                    overrides=[
                        "data=codeforces",
                        "data.languages=[py,js,rb]",
                        "data.held_out=[rb]",
                        "data.parallel_k=2",
                        f"sft={kind}",
                    ],
                )
            )
        stage_out = tmp_path / kind
        stage_out.mkdir()
        tracker = JsonlTracker(tmp_path / f"{kind}.log")
        spec = mixture_spec(cfg)
        mixture_stage.run(StageContext(spec, {"data": data_dir}, stage_out, tracker, seed=0))
        tracker.close()
        summary = json.loads((stage_out / "mixture.json").read_text())
        budgets[kind], tokens[kind] = summary["budget_tokens"], summary["tokens"]
        assert "rb" not in summary["examples"]
    assert len(set(budgets.values())) == 1
    budget = budgets["parallel"]
    for kind, n in tokens.items():
        assert abs(n - budget) <= 0.02 * budget, (kind, n, budget)
