"""build_matrix and mixture_contrasts on small hand-made result files (no report, no plots).

Every expected number is computed here: pass@k by HumanEval's closed form
1 - C(n - c, k) / C(n, k), seeds pooled per problem, intervals as `np.percentile` of
resampled means drawn the way the docstrings state. Fast enough for `make mutate`.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from xlt.eval.contrast import mixture_contrasts
from xlt.eval.matrix import RowSource, build_matrix
from xlt.eval.results import ProblemResult, SampleResult, append_results, results_path
from xlt.eval.rows import RowId
from xlt.eval.stats import hierarchical_ci

N = 4  # samples per problem


def _row(stage="pre_rl", mixture="parallel", seed=0, data_seed=None, source="py"):
    post = stage == "post_rl"
    return RowId(stage=stage, sft_mixture=mixture, sft_language=None,
                 rl_algorithm="grpo" if post else None, rl_source=source if post else None,
                 oracle=False, seed=seed, model="tiny", scale="micro", data_seed=data_seed)  # fmt: skip


def _source(folder, row, counts, n=N, num_expected=None):
    """A RowSource whose language L has problems T/i with counts[L][i] passing of n."""
    languages = {}
    for language, passes in counts.items():
        records = [
            ProblemResult(f"P{i}", f"T/{i}", language,
                          [SampleResult("x", "ok" if s < c else "wrong_answer") for s in range(n)])
            for i, c in passes.items()
        ]  # fmt: skip
        append_results(results_path(folder, language), records)
        expected = len(records) if num_expected is None else num_expected
        languages[language] = {"num_expected": expected, "missing": None}
    return RowSource(row, folder, folder, languages)


def closed(c, k, n=N):
    return 1 - math.comb(n - c, k) / math.comb(n, k)


def resampled_percentiles(values, num_samples, seed, level=0.95):
    values = np.asarray(values, dtype=float)
    index = np.random.default_rng(seed).integers(0, values.size, size=(num_samples, values.size))
    tail = (1 - level) / 2 * 100
    return tuple(np.percentile(values[index].mean(axis=1), [tail, 100 - tail]))


# Two seeds, two languages; js lacks task 3 in both; seed 1 lacks py task 2.
SEED0 = {"py": {0: 0, 1: 1, 2: 2, 3: 4}, "js": {0: 3, 1: 0, 2: 1}}
SEED1 = {"py": {0: 2, 1: 3, 3: 0}, "js": {0: 4, 1: 2, 2: 1}}
POST0 = {"py": {0: 2, 1: 4, 2: 3, 3: 4}, "js": {0: 3, 1: 1, 2: 1}}
POST1 = {"py": {0: 4, 1: 3, 3: 2}, "js": {0: 4, 1: 2, 2: 0}}


@pytest.fixture
def two_seeds(tmp_path):
    return [
        _source(tmp_path / "pre0", _row(seed=0), SEED0),
        _source(tmp_path / "pre1", _row(seed=1), SEED1),
        _source(tmp_path / "post0", _row("post_rl", seed=0), POST0),
        _source(tmp_path / "post1", _row("post_rl", seed=1), POST1),
    ]


def _pooled(tables, language, k, tasks):
    """Per task: mean over seeds of the closed form; the tasks every seed has."""
    return {t: np.mean([closed(table[language][t], k) for table in tables]) for t in tasks}


@pytest.mark.parametrize("k", [1, 2, 4])
def test_cells_pool_seeds_per_problem_at_pass_at_k(two_seeds, k):
    matrix = build_matrix(two_seeds, k=k, subset="full", num_bootstrap=200)
    pre_row, post_row = matrix.rows
    assert (pre_row.stage, post_row.stage) == ("pre_rl", "post_rl") and pre_row.seed == -1
    assert matrix.k == k and matrix.languages == ["js", "py"]
    for row, tables in ((pre_row, (SEED0, SEED1)), (post_row, (POST0, POST1))):
        for language, tasks in (("py", [0, 1, 3]), ("js", [0, 1, 2])):  # present in both seeds
            per_task = _pooled(tables, language, k, tasks)
            cell = matrix.cell(row, language)
            assert cell.num_seeds == 2 and cell.num_tasks == len(tasks)
            assert cell.value == pytest.approx(np.mean(list(per_task.values())), abs=1e-12)
            assert matrix.task_values[(row.label, language)] == pytest.approx(
                {f"T/{t}": v for t, v in per_task.items()}
            )


def test_common_subset_keeps_the_tasks_every_column_has(two_seeds):
    common = build_matrix(two_seeds, k=1, subset="common", num_bootstrap=100)
    assert common.common_tasks == {"T/0", "T/1"} and common.num_common_tasks == 2
    row = common.rows[0]
    cell = common.cell(row, "py")
    per_task = _pooled((SEED0, SEED1), "py", 1, [0, 1])
    assert cell.num_tasks == 2 and cell.value == pytest.approx(np.mean(list(per_task.values())))
    with pytest.raises(ValueError, match="subset"):
        build_matrix(two_seeds, subset="some")


def seed_and_problem_percentiles(tables, signs, num_samples, seed, level=0.95):
    """One suite, as xlt.eval.stats documents its draws: per resample, S uniforms give the
    seed positions floor(u * S) (shared by the rows), then P problem indices; the statistic
    is sum_r sign_r * mean over drawn problems of the mean over drawn seeds."""
    rng = np.random.default_rng(seed)
    num_seeds, num_problems = np.asarray(tables[0]).shape
    positions = (rng.random((num_samples, num_seeds)) * num_seeds).astype(int)  # seeds first
    problems = rng.integers(0, num_problems, size=(num_samples, num_problems))
    means = []
    for b in range(num_samples):
        total = 0.0
        for sign, table in zip(signs, tables, strict=True):
            seed_mean = np.asarray(table)[positions[b]].mean(axis=0)
            total += sign * seed_mean[problems[b]].mean()
        means.append(total)
    tail = (1 - level) / 2 * 100
    return tuple(np.percentile(means, [tail, 100 - tail]))


def test_two_seeds_resample_seeds_and_problems_paired(two_seeds):
    matrix = build_matrix(two_seeds, k=1, subset="full", num_bootstrap=300)
    pre_row, post_row = matrix.rows
    tasks = [0, 1, 3]
    before = [[closed(table["py"][t], 1) for t in tasks] for table in (SEED0, SEED1)]
    after = [[closed(table["py"][t], 1) for t in tasks] for table in (POST0, POST1)]
    seed = zlib.crc32(f"{post_row.label}/py".encode())  # documented: crc32 of "label/language"
    cell = matrix.cell(post_row, "py")
    assert cell.num_suites == 1 and cell.num_seeds == 2
    assert cell.ci == pytest.approx(seed_and_problem_percentiles([after], [1], 300, seed))
    assert cell.delta == pytest.approx(np.mean(after) - np.mean(before))
    # Paired: seed s after RL is drawn with seed s before RL, problem p with problem p.
    assert cell.delta_ci == pytest.approx(
        seed_and_problem_percentiles([after, before], [1, -1], 300, seed)
    )
    # Resampling seeds widens the delta's interval beyond the problems-only one here: the
    # two seeds' deltas differ (seed 0: +0.42, seed 1: +0.33 per problem on average).
    differences = np.mean(after, axis=0) - np.mean(before, axis=0)
    problems_only = resampled_percentiles(differences, 300, seed)
    assert cell.delta_ci != pytest.approx(problems_only)
    pre_cell = matrix.cell(pre_row, "py")
    pre_seed = zlib.crc32(f"{pre_row.label}/py".encode())
    assert pre_cell.ci == pytest.approx(seed_and_problem_percentiles([before], [1], 300, pre_seed))
    assert pre_cell.delta is None and pre_cell.delta_ci is None  # the reference has no delta


def test_seeds_and_suites_are_kept_apart(tmp_path):
    # Two suites (data.seed 0 and 1) of one setting: their problems sit side by side.
    sources = [
        _source(tmp_path / "a", _row(seed=0, data_seed=0), {"py": {0: 4, 1: 0}}),
        _source(tmp_path / "b", _row(seed=0, data_seed=1), {"py": {0: 0, 1: 0, 2: 2}}),
    ]
    matrix = build_matrix(sources, k=1, subset="full", num_bootstrap=50)
    values = matrix.task_values[(matrix.rows[0].label, "py")]
    assert values == {"data0:T/0": 1.0, "data0:T/1": 0.0, "data1:T/0": 0.0, "data1:T/1": 0.0,
                      "data1:T/2": 0.5}  # fmt: skip
    assert matrix.cell(matrix.rows[0], "py").value == pytest.approx(1.5 / 5)


def test_two_suites_resample_suites_then_seeds_and_problems(tmp_path):
    # Suite 0 is easy, suite 1 hard: the interval must carry the spread between them, which
    # a bootstrap over the 8 pooled problems leaves out.
    easy, hard = {i: 4 - i % 2 for i in range(4)}, {i: i % 2 for i in range(4)}
    sources = [
        _source(tmp_path / "a0", _row(seed=0, data_seed=0), {"py": easy}),
        _source(tmp_path / "a1", _row(seed=1, data_seed=0), {"py": easy}),
        _source(tmp_path / "b0", _row(seed=0, data_seed=1), {"py": hard}),
        _source(tmp_path / "b1", _row(seed=1, data_seed=1), {"py": hard}),
    ]
    matrix = build_matrix(sources, k=1, subset="full", num_bootstrap=400)
    row = matrix.rows[0]
    cell = matrix.cell(row, "py")
    assert (cell.num_suites, cell.num_seeds, cell.num_tasks) == (2, 4, 8)
    tables = {0: np.array([[easy[i] / N for i in range(4)]] * 2),
              1: np.array([[hard[i] / N for i in range(4)]] * 2)}  # fmt: skip
    seed = zlib.crc32(f"{row.label}/py".encode())
    assert cell.ci == pytest.approx(hierarchical_ci([(1.0, tables)], num_samples=400, seed=seed))
    # By hand: suites drawn {0,0}, {0,1}, {1,1} give means near 0.875, 0.5, 0.125, so the
    # interval reaches well past the pooled problems' (about 0.25 to 0.75).
    assert cell.ci[0] < 0.2 and cell.ci[1] > 0.8
    problems_only = resampled_percentiles(list(matrix.task_values[(row.label, "py")].values()),
                                          400, seed)  # fmt: skip
    assert problems_only[0] > 0.2 and problems_only[1] < 0.8


def test_a_cell_is_missing_when_any_seed_lacks_complete_results(tmp_path):
    partial = _source(tmp_path / "p", _row(seed=1), {"py": {0: 1}}, num_expected=3)
    few = _source(tmp_path / "f", _row(seed=2), {"py": {0: 1, 1: 1, 2: 1}}, n=1)
    sources = [
        _source(tmp_path / "ok", _row(seed=0), {"py": {0: 1, 1: 2, 2: 3}, "js": {0: 1}}),
        partial,
        few,
        RowSource(_row(seed=3), tmp_path / "absent", missing="run not finished"),
    ]
    (tmp_path / "f" / "results" / "js.jsonl").unlink(missing_ok=True)
    few.languages["js"] = {"missing": "toolchain_missing"}
    matrix = build_matrix(sources, k=2, subset="full", num_bootstrap=50)
    cell = matrix.cell(matrix.rows[0], "py")
    assert cell.value is None and cell.num_seeds == 4
    assert "seed 1: partial: 1 of 3 problems" in cell.missing
    assert "seed 2: fewer than 2 samples per problem" in cell.missing
    assert "seed 3: run not finished" in cell.missing
    assert "seed 0" not in cell.missing
    js = matrix.cell(matrix.rows[0], "js")
    assert "seed 1: not evaluated" in js.missing and "seed 2: toolchain_missing" in js.missing
    (tmp_path / "ok" / "results" / "py.jsonl").unlink()
    alone = build_matrix(sources[:1], k=1, subset="full", num_bootstrap=50)
    assert alone.cell(alone.rows[0], "py").missing == "seed 0: results file missing"


def test_rows_are_ordered_base_then_each_sft_setting(tmp_path):
    rows = [_row("post_rl", "parallel", source="js"), _row("pre_rl", "multilingual"),
            _row("post_rl", "parallel", source="py"), _row("pre_rl", "none"),
            _row("pre_rl", "parallel")]  # fmt: skip
    sources = [_source(tmp_path / str(i), row, {"py": {0: 1}}) for i, row in enumerate(rows)]
    labels = [row.label for row in build_matrix(sources, num_bootstrap=20).rows]
    assert labels == ["base (no SFT)", "SFT multilingual", "SFT parallel",
                      "SFT parallel + GRPO js", "SFT parallel + GRPO py"]  # fmt: skip


def test_contrast_is_the_difference_of_paired_rl_deltas(tmp_path):
    # Same RL (GRPO py) after two mixtures; three tasks in py, two in js.
    tables = {
        ("pre_rl", "parallel"): {"py": {0: 0, 1: 2, 2: 4}, "js": {0: 1, 1: 1}},
        ("post_rl", "parallel"): {"py": {0: 4, 1: 3, 2: 4}, "js": {0: 3, 1: 2}},
        ("pre_rl", "multilingual"): {"py": {0: 1, 1: 1, 2: 1}, "js": {0: 0, 1: 4}},
        ("post_rl", "multilingual"): {"py": {0: 2, 1: 1, 2: 0}, "js": {0: 0, 1: 4}},
    }
    sources = [_source(tmp_path / f"{stage}_{mix}", _row(stage, mix), counts)
               for (stage, mix), counts in tables.items()]  # fmt: skip
    matrix = build_matrix(sources, k=1, subset="common", num_bootstrap=200)
    contrasts = {c.language: c for c in mixture_contrasts(matrix, num_bootstrap=200)}
    assert set(contrasts) == {"js", "py"}
    for language, tasks in (("py", [0, 1]), ("js", [0, 1])):  # common: tasks every column has
        per_task = [
            (tables[("post_rl", "parallel")][language][t] - tables[("pre_rl", "parallel")][language][t])
            / N
            - (tables[("post_rl", "multilingual")][language][t]
               - tables[("pre_rl", "multilingual")][language][t]) / N
            for t in tasks
        ]  # fmt: skip
        contrast = contrasts[language]
        assert (contrast.reference, contrast.other) == ("SFT parallel", "SFT multilingual")
        assert contrast.rl == "GRPO py" and contrast.source == "py"
        assert contrast.num_tasks == len(tasks)
        assert contrast.value == pytest.approx(np.mean(per_task))
        ref_label = "SFT parallel + GRPO py"
        seed = zlib.crc32(f"{ref_label}/SFT multilingual + GRPO py/{language}".encode())
        assert contrast.ci == pytest.approx(resampled_percentiles(per_task, 200, seed))
    # py by hand: task 0: (4-0)/4 - (2-1)/4 = 0.75; task 1: (3-2)/4 - (1-1)/4 = 0.25.
    assert contrasts["py"].value == pytest.approx(0.5)
    full = build_matrix(sources, k=1, subset="full", num_bootstrap=50)
    assert {c.language: c.num_tasks for c in mixture_contrasts(full, num_bootstrap=50)} == {
        "py": 3,
        "js": 2,
    }


# --- intervals on enough varied problems that the resampling seed and count matter ----------

PRE12 = [0, 1, 4, 2, 3, 0, 1, 4, 2, 2, 0, 3]
POST12 = [2, 1, 4, 4, 3, 1, 3, 4, 2, 4, 0, 4]


def test_intervals_use_the_cell_seed_and_the_resample_count(tmp_path):
    sources = [
        _source(tmp_path / "pre", _row(), {"py": dict(enumerate(PRE12))}),
        _source(tmp_path / "post", _row("post_rl"), {"py": dict(enumerate(POST12))}),
    ]
    matrix = build_matrix(sources, num_bootstrap=300)  # k = 1, subset = common by default
    assert (matrix.k, matrix.subset) == (1, "common")
    pre_row, post_row = matrix.rows
    # The matrix resamples problems in task-name order: T/0, T/1, T/10, T/11, T/2, ...
    order = sorted(range(12), key=lambda i: f"T/{i}")
    before, after = [PRE12[i] / N for i in order], [POST12[i] / N for i in order]
    for row, values in ((pre_row, before), (post_row, after)):
        seed = zlib.crc32(f"{row.label}/py".encode())
        assert matrix.cell(row, "py").ci == pytest.approx(resampled_percentiles(values, 300, seed))
    seed = zlib.crc32(f"{post_row.label}/py".encode())
    differences = [b - a for a, b in zip(before, after, strict=True)]
    assert matrix.cell(post_row, "py").delta_ci == pytest.approx(
        resampled_percentiles(differences, 300, seed)
    )
    default = build_matrix(sources)  # 1000 resamples unless told
    assert default.cell(post_row, "py").ci == pytest.approx(
        resampled_percentiles(after, 1000, zlib.crc32(f"{post_row.label}/py".encode()))
    )


def test_sources_reasons_and_tasks_without_overlap(tmp_path):
    # Row A has py and js; row B (multilingual) has js tasks disjoint from A's: under
    # `common` no task is in every column, so every cell says so (none is left blank).
    a = _source(tmp_path / "a", _row(), {"js": {0: 1}, "py": {0: 2}})
    b = _source(tmp_path / "b", _row(mixture="multilingual"), {"js": {5: 1}, "py": {0: 4}})
    del a.languages["py"]["num_expected"]  # a row.json without it: complete by definition
    matrix = build_matrix([a, b], num_bootstrap=20)
    row_a, row_b = matrix.rows[1], matrix.rows[0]  # multilingual sorts before parallel
    assert row_b.sft_mixture == "multilingual"
    assert matrix.cell(row_b, "js").missing == "no tasks in common with the other columns"
    assert matrix.cell(row_a, "js").missing == "no tasks in common with the other columns"
    for row in (row_a, row_b):
        assert matrix.cell(row, "py").missing == "no tasks in common with the other columns"
    full = build_matrix([a, b], subset="full", num_bootstrap=20)
    assert full.cell(full.rows[0], "py").value == 1.0 and full.cell(full.rows[1], "py").value == 0.5
    assert matrix.cell(row_a, "py").sources == [str(results_path(tmp_path / "a", "py"))]
    # Two seeds missing for two reasons: both named, in seed order, with where they looked.
    gone = RowSource(_row(seed=1), tmp_path / "run1", missing="run not finished")
    unevaluated = RowSource(_row(seed=2), tmp_path / "run2", tmp_path / "e2", {})
    matrix = build_matrix([a, gone, unevaluated], num_bootstrap=20)
    cell = matrix.cell(matrix.rows[0], "py")
    assert cell.missing == "seed 1: run not finished; seed 2: not evaluated"
    assert cell.sources == [str(results_path(tmp_path / "a", "py")), str(tmp_path / "run1"),
                            str(results_path(tmp_path / "e2", "py"))]  # fmt: skip


def test_a_post_rl_row_without_its_pre_rl_row_has_no_delta(tmp_path):
    post = _source(tmp_path / "post", _row("post_rl"), {"py": {0: 3}})
    matrix = build_matrix([post], num_bootstrap=20)
    cell = matrix.cell(matrix.rows[0], "py")
    assert cell.value == 0.75 and cell.delta is None and cell.delta_ci is None


def test_unknown_mixtures_sort_last_and_post_rl_rows_by_source(tmp_path):
    rows = [_row("post_rl", source="py"), _row("pre_rl", "custom"), _row("post_rl", source="js"),
            _row("pre_rl")]  # fmt: skip
    sources = [_source(tmp_path / str(i), row, {"py": {0: 1}}) for i, row in enumerate(rows)]
    labels = [row.label for row in build_matrix(sources, num_bootstrap=20).rows]
    assert labels == ["SFT parallel", "SFT parallel + GRPO js", "SFT parallel + GRPO py",
                      "SFT custom"]  # fmt: skip


def _contrast_sources(tmp_path, sources_rl=("py",), tasks=range(12), drop_js_from=None):
    """Two mixtures, each with a pre-RL row and GRPO rows per RL source; py counts vary."""
    sources = []
    for mixture, shift in (("parallel", 0), ("multilingual", 1)):
        pre = {"py": {t: PRE12[t] for t in tasks}, "js": {t: PRE12[t] for t in tasks}}
        if drop_js_from == (mixture, "pre_rl"):
            del pre["js"]
        sources.append(_source(tmp_path / f"{mixture}_pre", _row("pre_rl", mixture), pre))
        for number, source in enumerate(sources_rl):
            post = {lang: {t: min(N, (POST12[t] + shift * (t % 3) + number) % (N + 1))
                           for t in tasks} for lang in ("py", "js")}  # fmt: skip
            row = _row("post_rl", mixture, source=source)
            sources.append(_source(tmp_path / f"{mixture}_{source}", row, post))
    return sources


def test_contrast_intervals_and_one_contrast_per_rl_and_language(tmp_path):
    matrix = build_matrix(_contrast_sources(tmp_path, ("py", "js")), num_bootstrap=50)
    contrasts = mixture_contrasts(matrix, num_bootstrap=300)
    # Per RL source: one (reference, other) pair in each language; no pre-RL row takes part.
    assert sorted((c.rl, c.language) for c in contrasts) == [
        ("GRPO js", "js"), ("GRPO js", "py"), ("GRPO py", "js"), ("GRPO py", "py")
    ]  # fmt: skip
    order = sorted(range(12), key=lambda i: f"T/{i}")
    expected = {}
    for contrast in contrasts:
        ref_post, ref_pre, other_post, other_pre = (
            matrix.task_values[(label, contrast.language)]
            for label in (f"SFT parallel + {contrast.rl}", "SFT parallel",
                          f"SFT multilingual + {contrast.rl}", "SFT multilingual")
        )  # fmt: skip
        per_task = [(ref_post[f"T/{t}"] - ref_pre[f"T/{t}"]) - (other_post[f"T/{t}"] - other_pre[f"T/{t}"])
                    for t in order]  # fmt: skip
        ref = f"SFT parallel + {contrast.rl}"
        seed = zlib.crc32(f"{ref}/SFT multilingual + {contrast.rl}/{contrast.language}".encode())
        assert contrast.value == pytest.approx(np.mean(per_task))
        assert contrast.ci == pytest.approx(resampled_percentiles(per_task, 300, seed))
        expected[(contrast.rl, contrast.language)] = resampled_percentiles(per_task, 1000, seed)
    for contrast in mixture_contrasts(matrix):  # 1000 resamples unless told
        assert contrast.ci == pytest.approx(expected[(contrast.rl, contrast.language)])


def test_contrast_without_a_language_or_common_tasks_is_empty(tmp_path):
    sources = _contrast_sources(tmp_path, drop_js_from=("multilingual", "pre_rl"))
    matrix = build_matrix(sources, subset="full", num_bootstrap=20)
    by_language = {c.language: c for c in mixture_contrasts(matrix, num_bootstrap=20)}
    js = by_language["js"]
    assert (js.value, js.ci, js.num_tasks) == (None, None, 0)
    assert (js.rl, js.source, js.reference, js.other) == (
        "GRPO py",
        "py",
        "SFT parallel",
        "SFT multilingual",
    )
    assert by_language["py"].num_tasks == 12

    # Under `common`, a matrix whose columns share no task has no contrast anywhere.
    lonely = _source(tmp_path / "lonely", _row("pre_rl", "none"), {"py": {99: 1}, "js": {99: 1}})
    matrix = build_matrix([*sources, lonely], num_bootstrap=20)
    assert matrix.common_tasks == frozenset()
    for contrast in mixture_contrasts(matrix, num_bootstrap=20):
        assert (contrast.value, contrast.ci, contrast.num_tasks) == (None, None, 0)
        assert (contrast.rl, contrast.reference) == ("GRPO py", "SFT parallel")


def test_every_missing_reason_points_at_the_file_it_looked_for(tmp_path):
    folders = {name: tmp_path / name for name in ("ok", "partial", "few", "noresults")}
    sources = [
        _source(folders["ok"], _row(seed=0), {"js": {0: 1}, "py": {0: 1, 1: 2}}),
        _source(folders["partial"], _row(seed=1), {"js": {0: 1}, "py": {0: 1}}, num_expected=2),
        _source(folders["few"], _row(seed=2), {"js": {0: 1}, "py": {0: 1, 1: 1}}, n=1),
        _source(folders["noresults"], _row(seed=3), {"js": {0: 1}, "py": {0: 1, 1: 1}}),
    ]
    sources[0].languages["js"] = {"missing": "toolchain_missing"}  # js absent, py fine
    (folders["noresults"] / "results" / "py.jsonl").unlink()
    matrix = build_matrix(sources, k=2, subset="full", num_bootstrap=20)
    cell = matrix.cell(matrix.rows[0], "py")
    assert cell.sources == [str(results_path(folders[name], "py")) for name in folders]
    assert cell.missing == ("seed 1: partial: 1 of 2 problems; "
                            "seed 2: fewer than 2 samples per problem; "
                            "seed 3: results file missing")  # fmt: skip
    js = matrix.cell(matrix.rows[0], "js")
    assert js.sources[0] == str(results_path(folders["ok"], "js"))
    assert js.missing.startswith("seed 0: toolchain_missing")
    # A language missing in a row does not stop the row's later languages.
    alone = build_matrix(sources[:1], subset="full", num_bootstrap=20)
    assert alone.cell(alone.rows[0], "js").value is None
    assert alone.cell(alone.rows[0], "py").value == pytest.approx((0.25 + 0.5) / 2)
