"""Assemble the transfer matrix from evaluation rows on disk: cells, deltas, bootstrap CIs.

Rows are settings (seeds pooled), columns are languages, a cell is pass@k (k=1 by
default) computed from the per-problem results files, never from a summary.
Every cell is computed on the tasks present in every column (`subset="common"`,
comparable columns) or on its language's full set (`subset="full"`). A post-RL
cell's delta is the paired difference with the pre-RL row of the same SFT
setting over the same tasks. Intervals are percentile bootstraps that resample suites, then
seeds and problems within each suite (`xlt.eval.stats`; a delta's two rows share every
draw); with one suite and one seed, problems alone, as before seeds and suites were pooled.
A cell is missing (with the reason) when any seed of its row lacks complete
results for the language: an absent run, a deleted results file, a partial
evaluation or a missing toolchain. Rerunning the report after the missing run
finishes fills it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xlt.eval.passk import pass_at_k
from xlt.eval.results import read_results, results_path
from xlt.eval.rows import RowId
from xlt.eval.stats import SuiteTable, hierarchical_ci


@dataclass
class RowSource:
    """One evaluation (one seed of one row) found on disk, or expected there and absent."""

    row: RowId
    origin: Path  # where it was found: a run folder or a row.json
    eval_dir: Path | None = None
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)  # row.json's summaries
    missing: str | None = None  # why the whole row is missing


@dataclass
class Cell:
    value: float | None = None
    ci: tuple[float, float] | None = None
    delta: float | None = None
    delta_ci: tuple[float, float] | None = None
    num_tasks: int = 0
    num_seeds: int = 0
    num_suites: int = 0
    missing: str | None = None
    sources: list[str] = field(default_factory=list)  # the per-problem files behind the cell


@dataclass
class Matrix:
    rows: list[RowId]  # one per setting, seed set to -1 (pooled), in display order
    languages: list[str]
    cells: dict[tuple[str, str], Cell]  # (row label, language) -> cell
    k: int
    subset: str  # common | full
    num_common_tasks: int
    task_values: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    # (row label, language) -> per-task pass@k, seeds pooled (all tasks, before subsetting)
    common_tasks: frozenset[str] = frozenset()  # the tasks present in every column
    seed_values: dict[tuple[str, str], dict[int | None, SuiteSeeds]] = field(default_factory=dict)
    # (row label, language) -> suite -> its seeds' per-task values (what `task_values` pools)

    def cell(self, row: RowId, language: str) -> Cell:
        return self.cells[(row.label, language)]

    def tables(self, label: str, language: str, keys: list[str]) -> SuiteTable:
        """suite -> seeds x problems of a row over the task `keys` (in that order), for
        `xlt.eval.stats`; suites without any of the keys are left out."""
        tables = {}
        for suite, seeds in self.seed_values[(label, language)].items():
            columns = [seeds.values[key] for key in keys if key in seeds.values]
            if columns:
                tables[suite] = np.stack(columns, axis=1)
        return tables


@dataclass(frozen=True)
class SuiteSeeds:
    """The seeds of one row in one suite: pooled task key -> value per seed, seeds in order."""

    seeds: tuple[int, ...]
    values: dict[str, np.ndarray]


def _task_values(
    source: RowSource, language: str, k: int
) -> tuple[dict[str, float] | None, str | None, str]:
    """Per-task pass@k of one seed's results, or (None, why missing, path)."""
    if source.missing is not None:
        return None, source.missing, str(source.origin)
    path = results_path(source.eval_dir, language)
    summary = source.languages.get(language)
    if summary is None:
        return None, "not evaluated", str(path)
    if summary.get("missing"):
        return None, summary["missing"], str(path)
    if not path.is_file():
        return None, "results file missing", str(path)
    results = read_results(path)
    if len(results) < summary.get("num_expected", 0):
        return None, f"partial: {len(results)} of {summary['num_expected']} problems", str(path)
    if any(result.n < k for result in results):
        return None, f"fewer than {k} samples per problem", str(path)
    return {result.task: pass_at_k(result.n, result.c, k) for result in results}, None, str(path)


def _by_suite(
    seed_values: list[tuple[int | None, int, dict[str, float]]],
) -> dict[int | None, SuiteSeeds]:
    """Each suite's seeds (in seed order) on the tasks all of them have.

    Runs on different micro suites (`data.seed`) evaluate different problems, even where a
    task name recurs (its tests are drawn anew), so each suite's tasks are kept apart as
    `data<seed>:<task>`; fixed data (suite None) keeps plain task names.
    """
    runs_by_suite: dict[int | None, list[tuple[int, dict[str, float]]]] = {}
    for suite, seed, values in seed_values:
        runs_by_suite.setdefault(suite, []).append((seed, values))
    by_suite = {}
    for suite, runs in runs_by_suite.items():
        runs.sort(key=lambda run: run[0])
        prefix = "" if suite is None else f"data{suite}:"
        tasks = set.intersection(*(set(values) for _, values in runs))
        by_suite[suite] = SuiteSeeds(
            tuple(seed for seed, _ in runs),
            {prefix + t: np.array([values[t] for _, values in runs]) for t in sorted(tasks)},
        )
    return by_suite


def _pooled(by_suite: dict[int | None, SuiteSeeds]) -> dict[str, float]:
    """Per-task mean over the seeds of its suite."""
    return {
        key: float(np.mean(per_seed))
        for seeds in by_suite.values()
        for key, per_seed in seeds.values.items()
    }


_MIXTURE_ORDER = {"none": 0, "monolingual": 1, "multilingual": 2, "parallel": 3}


def _row_order(row: RowId) -> tuple:
    """Base first, then each SFT setting: its pre-RL row, its post-RL rows, oracles last."""
    return (
        _MIXTURE_ORDER.get(row.sft_mixture, 9), *map(str, row.sft_key),
        row.stage != "pre_rl", row.oracle, str(row.rl_source),
    )  # fmt: skip


def bootstrap_seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def build_matrix(
    sources: list[RowSource], *, k: int = 1, subset: str = "common", num_bootstrap: int = 1000
) -> Matrix:
    if subset not in ("common", "full"):
        raise ValueError(f"subset must be 'common' or 'full', got {subset!r}")
    groups: dict[tuple, list[RowSource]] = {}
    for source in sources:
        groups.setdefault(source.row.setting_key, []).append(source)
    rows = sorted(
        (RowId(**{**group[0].row.to_dict(), "seed": -1}) for group in groups.values()),
        key=_row_order,
    )
    languages = sorted({lang for source in sources for lang in source.languages})

    # ---- per-task values of every (row, language), seeds pooled
    values: dict[tuple[str, str], dict[str, float]] = {}
    seed_values: dict[tuple[str, str], dict[int | None, SuiteSeeds]] = {}
    cells: dict[tuple[str, str], Cell] = {}
    for row, group in zip(rows, (groups[r.setting_key] for r in rows), strict=True):
        for language in languages:
            per_seed, reasons, paths = [], [], []
            for source in group:
                task_values, why, path = _task_values(source, language, k)
                paths.append(path)
                if task_values is None:
                    reasons.append(f"seed {source.row.seed}: {why}")
                else:
                    per_seed.append((source.row.data_seed, source.row.seed, task_values))
            cell = Cell(num_seeds=len(group), sources=paths)
            if reasons:
                cell.missing = "; ".join(reasons)
            else:
                seed_values[(row.label, language)] = _by_suite(per_seed)
                values[(row.label, language)] = _pooled(seed_values[(row.label, language)])
            cells[(row.label, language)] = cell

    # ---- the comparable task subset: tasks present in every column that has data
    task_sets = [set(v) for v in values.values()]
    common = set.intersection(*task_sets) if task_sets else set()

    # ---- values, intervals and deltas against the pre-RL row of the same SFT setting
    matrix = Matrix(
        rows, languages, cells, k, subset, len(common), task_values=values,
        common_tasks=frozenset(common), seed_values=seed_values,
    )  # fmt: skip
    pre_rl = {row.sft_key: row for row in rows if row.stage == "pre_rl"}
    for row in rows:
        for language in languages:
            cell = cells[(row.label, language)]
            own = values.get((row.label, language))
            if own is None:
                continue
            tasks = sorted(common & set(own)) if subset == "common" else sorted(own)
            if not tasks:
                cell.missing = "no tasks in common with the other columns"
                continue
            cell.num_tasks = len(tasks)
            cell.value = float(np.mean([own[t] for t in tasks]))
            seed = bootstrap_seed(row.label, language)
            terms = [(1.0, matrix.tables(row.label, language, tasks))]
            cell.num_suites = len(terms[0][1])
            cell.ci = hierarchical_ci(terms, num_samples=num_bootstrap, seed=seed)
            reference = pre_rl.get(row.sft_key)
            before = values.get((reference.label, language)) if reference else None
            paired = [t for t in tasks if t in before] if before is not None else []
            if row.stage == "post_rl" and paired:
                cell.delta = float(np.mean([own[t] - before[t] for t in paired]))
                terms = [
                    (1.0, matrix.tables(row.label, language, paired)),
                    (-1.0, matrix.tables(reference.label, language, paired)),
                ]
                cell.delta_ci = hierarchical_ci(terms, num_samples=num_bootstrap, seed=seed)
    return matrix
