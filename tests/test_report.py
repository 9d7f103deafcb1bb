"""xlt.report on a synthetic sweep folder laid out the way runs write it."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from xlt import report
from xlt.eval.results import (
    ProblemResult,
    SampleResult,
    append_results,
    results_path,
    summarize,
    write_row,
)
from xlt.eval.rows import row_id_from_config
from xlt.eval.stats import holm

LANGUAGES = ["py", "js", "lua"]
NUM_TASKS = 30
NUM_SAMPLES = 4


def _config(mixture, source, seed=0, algorithm="grpo"):
    return {
        "model": {"name": "tiny"}, "scale": "micro", "seed": seed,
        "sft": {"mixture": mixture}, "rl": {"algorithm": algorithm, "source_language": source, "oracle": False},
    }  # fmt: skip


def _write_eval(folder, config, stage, skill, rng):
    """An evaluation folder whose problem t in language L has c ~ Binomial(n, skill[L])."""
    return _write_results(
        folder, config, stage, lambda language, t: int(rng.binomial(NUM_SAMPLES, skill[language]))
    )


def _write_results(folder, config, stage, passes, *, lua_lacks=3, benchmark="synthetic"):
    """An evaluation folder where problem t in language L has `passes(L, t)` passing samples
    of NUM_SAMPLES (lua lacks its last `lua_lacks` problems)."""
    results = {}
    for language in LANGUAGES:
        tasks = range(NUM_TASKS - (lua_lacks if language == "lua" else 0))
        records = []
        for t in tasks:
            c = passes(language, t)
            statuses = ["ok"] * c + ["wrong_answer"] * (NUM_SAMPLES - c)
            records.append(
                ProblemResult(f"P{t}", f"T/{t}", language, [SampleResult("x", s) for s in statuses])
            )
        append_results(results_path(folder, language), records)
        results[language] = records
    row = row_id_from_config(config, stage)
    write_row(folder, row.to_dict(), row.label, summarize(results, [1]), benchmark=benchmark)
    return folder


def _write_run(run_dir, config, pre, post):
    """A finished run folder: its resolved config and the evaluations it points at."""
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config))
    run = {"artifacts": {"eval_pre_rl": str(pre), "eval_post_rl": str(post)}}
    (run_dir / "run.json").write_text(json.dumps(run))


@pytest.fixture
def sweep(tmp_path):
    """Two runs sharing one pre-RL evaluation (RL in py, RL in js), like a Hydra multirun."""
    rng = np.random.default_rng(0)
    artifacts, sweep_dir = (
        tmp_path / "artifacts" / "evaluate",
        tmp_path / "multirun" / "day" / "time",
    )
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "multirun.yaml").write_text("{}")
    pre = _write_eval(
        artifacts / "pre",
        _config("parallel", "py"),
        "pre_rl",
        {"py": 0.3, "js": 0.3, "lua": 0.2},
        rng,
    )
    for number, source in enumerate(["py", "js"]):
        config = _config("parallel", source)
        skill = {"py": 0.3, "js": 0.3, "lua": 0.2, source: 0.6}
        post = _write_eval(artifacts / f"post_{source}", config, "post_rl", skill, rng)
        _write_run(sweep_dir / f"{number}_rl.source_language={source}", config, pre, post)
    return sweep_dir


def _cells(csv_path, subset="common"):
    with open(csv_path) as handle:
        return {
            (r["row"], r["language"]): r for r in csv.DictReader(handle) if r["subset"] == subset
        }


def test_cells_trace_back_to_per_problem_files(sweep):
    paths = report.make_report(sweep, num_bootstrap=200)
    cells = _cells(paths["csv"])
    labels = {label for label, _ in cells}
    assert labels == {"SFT parallel", "SFT parallel + GRPO py", "SFT parallel + GRPO js"}
    common = {f"T/{t}" for t in range(NUM_TASKS - 3)}
    for (label, language), cell in cells.items():
        (source,) = cell["sources"].split(";")
        records = [json.loads(line) for line in Path(source).read_text().splitlines()]
        expected = np.mean([r["c"] / r["n"] for r in records if r["task"] in common])
        assert float(cell["value"]) == pytest.approx(expected), (label, language)
        assert int(cell["num_tasks"]) == len(common)
        assert float(cell["ci_low"]) <= float(cell["value"]) <= float(cell["ci_high"])
    full = _cells(paths["csv"], "full")
    assert int(full[("SFT parallel", "py")]["num_tasks"]) == NUM_TASKS


def test_deltas_against_the_pre_rl_row_of_the_same_sft(sweep):
    cells = _cells(report.make_report(sweep, num_bootstrap=200)["csv"])
    pre, post = cells[("SFT parallel", "py")], cells[("SFT parallel + GRPO py", "py")]
    delta = float(post["delta"])
    assert delta == pytest.approx(float(post["value"]) - float(pre["value"]))
    assert delta > 0.15 and float(post["delta_ci_low"]) > 0  # RL in py raised py a lot
    assert pre["delta"] == ""  # the reference row has no delta
    assert abs(float(cells[("SFT parallel + GRPO py", "lua")]["delta"])) < 0.15


def test_deleted_results_mark_the_cell_missing_and_rerun_fills_it(sweep):
    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"])
    source = cells[("SFT parallel + GRPO js", "lua")]["sources"]
    saved = Path(source).read_text()
    (
        sweep.parent.parent.parent / "artifacts" / "evaluate" / "post_js" / "results" / "lua.jsonl"
    ).unlink()

    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"])
    missing = cells[("SFT parallel + GRPO js", "lua")]
    assert missing["value"] == "" and "results file missing" in missing["missing"]
    assert cells[("SFT parallel + GRPO js", "py")]["missing"] == ""  # the rest stands
    markdown = (sweep / "report" / "matrix.md").read_text()
    assert "SFT parallel + GRPO js / lua: seed 0: results file missing" in markdown

    with open(source, "w") as handle:  # the missing run finishes
        handle.write(saved)
    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"])
    assert cells[("SFT parallel + GRPO js", "lua")]["missing"] == ""


def test_unfinished_run_yields_missing_rows(sweep):
    run_dir = sweep / "2_rl.source_language=lua"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(_config("parallel", "lua")))  # no run.json yet
    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"])
    row = cells[("SFT parallel + GRPO lua", "py")]
    assert "run not finished" in row["missing"]
    # Its pre-RL row is shared with the finished runs: still present.
    assert cells[("SFT parallel", "py")]["missing"] == ""


def test_bare_evaluation_folder_is_reportable(sweep):
    evaluation = sweep.parent.parent.parent / "artifacts" / "evaluate" / "post_py"
    paths = report.make_report(evaluation, out=evaluation.parent / "single", num_bootstrap=100)
    assert {label for label, _ in _cells(paths["csv"])} == {"SFT parallel + GRPO py"}


def test_cli_writes_all_outputs_and_rejects_empty_folders(sweep, tmp_path, capsys):
    assert report.main([str(sweep), "--bootstrap", "100"]) == 0
    for name in ("matrix.csv", "matrix.md", "heatmap.png", "heatmap_full.png"):
        assert (sweep / "report" / name).stat().st_size > 0
    assert report.main([str(tmp_path / "nothing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report.main([str(tmp_path / "empty")]) == 2
    assert "no runs" in capsys.readouterr().err


def test_wandb_offline_run_holds_the_table_and_heatmap(sweep, tmp_path):
    from xlt.tracking.wandb import WandbTracker, wait_for_offline_run

    paths = report.make_report(sweep, num_bootstrap=100)
    tracker = WandbTracker(project="xlt-test", mode="offline", group="sweep-x", dir=tmp_path)
    try:
        report.log_report(paths, tracker)
    finally:
        tracker.close()
    run = wait_for_offline_run(tracker.run_dir)
    assert run["group"] == "sweep-x"
    logged = {key: value for row in run["history"] for key, value in row.items()}
    table_file = tracker.run_dir / "files" / logged["transfer/matrix"]["path"]
    image_file = tracker.run_dir / "files" / logged["transfer/heatmap"]["path"]
    table = json.loads(table_file.read_text())
    with open(paths["csv"]) as handle:
        expected = list(csv.reader(handle))
    assert table["columns"] == expected[0] and len(table["data"]) == len(expected) - 1
    assert image_file.read_bytes() == paths["heatmap"].read_bytes()


def _add_run(sweep_dir, name, mixture, source, pre, skill, rng):
    """A finished run of RL in `source` after `mixture` SFT, its post-RL skills `skill`."""
    config = _config(mixture, source)
    artifacts = sweep_dir.parent.parent.parent / "artifacts" / "evaluate"
    post = _write_eval(artifacts / f"post_{mixture}_{source}", config, "post_rl", skill, rng)
    _write_run(sweep_dir / name, config, pre, post)


def _contrasts(path):
    with open(path) as handle:
        return {(r["rl"], r["other"], r["language"]): r for r in csv.DictReader(handle)}


def test_contrast_is_the_difference_of_rl_deltas_between_mixtures(sweep):
    # RL in py after multilingual SFT: py rises as after Parallel-SFT, but js collapses.
    rng = np.random.default_rng(1)
    artifacts = sweep.parent.parent.parent / "artifacts" / "evaluate"
    base = {"py": 0.3, "js": 0.3, "lua": 0.2}
    pre = _write_eval(artifacts / "pre_multi", _config("multilingual", "py"), "pre_rl", base, rng)
    _add_run(sweep, "9_multi", "multilingual", "py", pre, {**base, "py": 0.6, "js": 0.0}, rng)

    paths = report.make_report(sweep, num_bootstrap=300)
    contrasts = _contrasts(paths["contrast"])
    assert set(contrasts) == {("GRPO py", "SFT multilingual", lang) for lang in LANGUAGES}
    cells = _cells(paths["csv"])
    for language in LANGUAGES:  # ΔΔ is the parallel delta minus the multilingual one
        c = contrasts[("GRPO py", "SFT multilingual", language)]
        expected = float(cells[("SFT parallel + GRPO py", language)]["delta"]) - float(
            cells[("SFT multilingual + GRPO py", language)]["delta"]
        )
        assert float(c["delta_delta"]) == pytest.approx(expected, abs=1e-9)
        assert float(c["ci_low"]) <= float(c["delta_delta"]) <= float(c["ci_high"])
    js = contrasts[("GRPO py", "SFT multilingual", "js")]
    assert float(js["ci_low"]) > 0.15  # js lost ~0.3 only after multilingual SFT
    py = contrasts[("GRPO py", "SFT multilingual", "py")]
    assert float(py["ci_low"]) < 0 < float(py["ci_high"])  # the same source gain after both
    markdown = paths["markdown"].read_text()
    assert "Does RL transfer better after Parallel-SFT?" in markdown
    # The pre-specified endpoints: the primary is the mean of the targets' ΔΔ (js and lua,
    # not the source py), and every contrast's p is Holm-adjusted as one family.
    section = markdown[markdown.index("## Pre-specified endpoints") :]
    expected = (float(js["delta_delta"]) + float(contrasts[("GRPO py", "SFT multilingual",
                                                            "lua")]["delta_delta"])) / 2  # fmt: skip
    assert f"targets js, lua): {100 * expected:+.1f} [" in section
    assert "equivalent to 0" in section and "Power: variance components" in section
    rows = list(contrasts.values())
    raw = [float(r["p_value"]) for r in rows]
    assert [float(r["p_holm"]) for r in rows] == pytest.approx(holm(raw))
    assert float(js["p_holm"]) < 0.05  # js collapsed only after multilingual SFT


def test_no_contrast_without_a_second_mixture(sweep):
    paths = report.make_report(sweep, num_bootstrap=100)
    assert "contrast" not in paths and not (sweep / "report" / "contrast.csv").exists()
    assert "Does RL transfer better" not in paths["markdown"].read_text()
    assert "Pre-specified endpoints" not in paths["markdown"].read_text()


def test_runs_on_two_micro_suites_keep_their_problems_apart(sweep):
    # A second suite (data.seed=1) reuses the task names with other tests: 30 more problems,
    # not 30 more seeds of the same ones.
    rng = np.random.default_rng(2)
    artifacts = sweep.parent.parent.parent / "artifacts" / "evaluate"
    first = _cells(report.make_report(sweep, num_bootstrap=100)["csv"], "full")
    config = {**_config("parallel", "py"), "data": {"seed": 1}}
    skill = {"py": 0.9, "js": 0.9, "lua": 0.9}
    pre = _write_eval(artifacts / "pre_suite1", config, "pre_rl", skill, rng)
    post = _write_eval(artifacts / "post_suite1", config, "post_rl", skill, rng)
    _write_run(sweep / "7_data.seed=1", config, pre, post)

    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"], "full")
    cell = cells[("SFT parallel", "py")]
    assert int(cell["num_tasks"]) == 2 * NUM_TASKS  # both suites' problems
    # The suites' problems are averaged side by side, not pooled as seeds of one problem.
    records = [json.loads(line) for line in (pre / "results" / "py.jsonl").read_text().splitlines()]
    suite1 = np.mean([r["c"] / r["n"] for r in records])
    expected = (float(first[("SFT parallel", "py")]["value"]) + suite1) / 2
    assert float(cell["value"]) == pytest.approx(expected)
    post_py = cells[("SFT parallel + GRPO py", "py")]  # deltas pair problems within a suite
    assert int(post_py["num_tasks"]) == 2 * NUM_TASKS and abs(float(post_py["delta"])) < 0.5


def _write_spec_run(run_dir, eval_root, rows, skills, rng):
    """A finished run folder as xlt.run writes it now: rows.json from xlt.study's rows, and
    evaluations whose row.json holds those rows."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(_config("parallel", "py")))
    (run_dir / "rows.json").write_text(json.dumps({s: r.to_dict() for s, r in rows.items()}))
    artifacts = {}
    for stage, row in rows.items():
        folder = eval_root / f"{row.sft_hash}_{row.rl_hash}_{stage}"
        if not (folder / "row.json").is_file():  # a shared pre-RL evaluation is written once
            results = {}
            for language in LANGUAGES:
                results[language] = [
                    ProblemResult(f"P{t}", f"T/{t}", language, [
                        SampleResult("x", "ok" if rng.random() < skills[stage][language]
                                     else "wrong_answer") for _ in range(NUM_SAMPLES)
                    ]) for t in range(NUM_TASKS)
                ]  # fmt: skip
                append_results(results_path(folder, language), results[language])
            write_row(folder, row.to_dict(), row.label, summarize(results, [1]), benchmark="s")
        artifacts[f"eval_{stage}"] = str(folder)
    (run_dir / "run.json").write_text(json.dumps({"artifacts": artifacts}))


@pytest.mark.parametrize(
    ("setting", "values", "shared_pre"),
    [("rl.lr", ("0.0002", "0.0001"), True), ("sft.lr", ("0.001", "0.0005"), False)],
)
def test_runs_differing_in_one_hyperparameter_are_two_rows_named_by_it(
    tmp_path, setting, values, shared_pre
):
    from xlt.run import compose
    from xlt.study import row_ids

    rng = np.random.default_rng(1)
    sweep = tmp_path / "sweep"
    # Run 0 gains in py after RL; run 1 does not: pooling them would hide which did what.
    gains = {values[0]: 0.5, values[1]: 0.0}
    for number, value in enumerate(values):
        rows = row_ids(compose("+experiment=parallel_sft", f"{setting}={value}"))
        skills = {"base": {"py": 0.1, "js": 0.1, "lua": 0.1},
                  "pre_rl": {"py": 0.3, "js": 0.3, "lua": 0.3},
                  "post_rl": {"py": 0.3 + gains[value], "js": 0.3, "lua": 0.3}}  # fmt: skip
        _write_spec_run(sweep / str(number), tmp_path / "evals", rows, skills, rng)
    cells = _cells(report.make_report(sweep, num_bootstrap=100)["csv"])
    labels = sorted({label for label, _ in cells})
    post = {v: f"SFT parallel + GRPO py [{setting}={float(v)}]" for v in values}
    assert set(post.values()) <= set(labels)
    # The base model's row is shared by both runs unless the setting is a pre-SFT one.
    assert "base (no SFT)" in labels
    if shared_pre:  # RL settings do not touch the pre-RL row: one row, no variant
        assert "SFT parallel" in labels and len(labels) == 4
    else:
        assert {f"SFT parallel [{setting}={float(v)}]" for v in values} <= set(labels)
        assert len(labels) == 5
    # Each post-RL row is paired with its own pre-RL row: the gain shows in one run only.
    assert float(cells[(post[values[0]], "py")]["delta"]) > 0.3
    assert abs(float(cells[(post[values[1]], "py")]["delta"])) < 0.15
    assert all(cells[(label, "py")]["num_seeds"] == "1" for label in labels)


# --- two seeds with different results, and k > 1: expected values by HumanEval's closed form ---


def _closed_pass_at_k(n, c, k):
    """HumanEval's unbiased estimator, 1 - C(n - c, k) / C(n, k), in exact integers."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


def _counts(seed, stage, language, t):
    """A hand-made table of passing samples (of NUM_SAMPLES): the two seeds disagree on every
    problems and RL adds passes only in py."""
    c = t % 3 + 2 * seed  # seed 0: 0, 1, 2 passes; seed 1: 2, 3, 4
    if stage == "post_rl" and language == "py":
        c = min(NUM_SAMPLES, c + 1 + seed)
    return c


def _write_counted_eval(folder, config, stage):
    def passes(language, t):
        return _counts(config["seed"], stage, language, t)

    return _write_results(folder, config, stage, passes, lua_lacks=0, benchmark="counted")


@pytest.mark.parametrize("k", [1, 2, 3])
def test_two_seeds_are_pooled_per_problem_at_pass_at_k(tmp_path, k):
    sweep = tmp_path / "multirun"
    sweep.mkdir()
    for seed in (0, 1):  # each seed has its own pre-RL evaluation (the seed reaches SFT)
        config = _config("parallel", "py", seed=seed)
        evals = tmp_path / "artifacts" / f"seed{seed}"
        pre = _write_counted_eval(evals / "pre", config, "pre_rl")
        post = _write_counted_eval(evals / "post", config, "post_rl")
        _write_run(sweep / f"{seed}_seed={seed}", config, pre, post)
    cells = _cells(report.make_report(sweep, k=k, num_bootstrap=50)["csv"])

    def pooled(stage, language):  # per problem: the mean over seeds; then the mean over problems
        per_task = [
            np.mean(
                [_closed_pass_at_k(NUM_SAMPLES, _counts(s, stage, language, t), k) for s in (0, 1)]
            )
            for t in range(NUM_TASKS)
        ]
        return float(np.mean(per_task))

    for language in LANGUAGES:
        pre, post = cells[("SFT parallel", language)], cells[("SFT parallel + GRPO py", language)]
        assert (pre["num_seeds"], post["num_seeds"]) == ("2", "2")
        assert float(pre["value"]) == pytest.approx(pooled("pre_rl", language), abs=1e-12)
        assert float(post["value"]) == pytest.approx(pooled("post_rl", language), abs=1e-12)
        expected_delta = pooled("post_rl", language) - pooled("pre_rl", language)
        assert float(post["delta"]) == pytest.approx(expected_delta, abs=1e-12)
    # The seeds really differ (pooling only seed 0, or either seed alone, gives other numbers).
    only_seed0 = np.mean([_closed_pass_at_k(NUM_SAMPLES, _counts(0, "pre_rl", "js", t), k)
                          for t in range(NUM_TASKS)])  # fmt: skip
    assert abs(only_seed0 - pooled("pre_rl", "js")) > 0.01
