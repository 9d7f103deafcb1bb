"""The study's question as one number per language: does RL transfer better after one SFT mixture?

For the same RL (algorithm, source language, oracle flag) applied after two SFT mixtures,
the contrast in a language is the difference of the two RL deltas, paired over problems:

    ΔΔ = (after RL − before RL | reference mixture) − (after RL − before RL | other mixture)

computed per problem on the problems all four rows share (and, for the matrix's `common`
subset, every column has), seeds pooled per problem as in the matrix. Its interval and
two-sided p come from the hierarchical bootstrap of `xlt.eval.stats` (suites, then seeds
and problems within a suite; the four rows share every draw). ΔΔ > 0 in a target language
means RL helped it more (or hurt it less) after the reference mixture (Parallel-SFT by
default): the paper's claim. Every such contrast is a secondary endpoint; the report
Holm-corrects their p-values as one family (`xlt.eval.endpoints`).
"""

from __future__ import annotations

from dataclasses import dataclass

from xlt.eval.matrix import Matrix, bootstrap_seed
from xlt.eval.rows import RowId
from xlt.eval.stats import (
    bootstrap_p_value,
    hierarchical_means,
    percentile_interval,
    point_estimate,
)

SIGNS = (1.0, -1.0, -1.0, 1.0)  # ref post, ref pre, other post, other pre


@dataclass(frozen=True)
class Contrast:
    rl: str  # e.g. "GRPO py"
    source: str  # the RL source language
    reference: str  # the reference SFT row's label
    other: str
    language: str
    value: float | None  # mean ΔΔ over problems; None when a row lacks the language
    ci: tuple[float, float] | None
    num_tasks: int
    p_value: float | None = None  # two-sided bootstrap p of ΔΔ = 0 (unadjusted)


def rl_key(row: RowId) -> tuple:
    return (row.model, row.scale, row.rl_algorithm, row.rl_source, row.oracle)


def contrast_pairs(matrix: Matrix, reference: str = "parallel") -> list[tuple[RowId, RowId]]:
    """(reference post-RL row, other post-RL row) for every RL the reference mixture shares."""
    pre_rl = {row.sft_key for row in matrix.rows if row.stage == "pre_rl"}
    by_rl: dict[tuple, list[RowId]] = {}
    for row in matrix.rows:
        if row.stage == "post_rl" and row.sft_key in pre_rl:
            by_rl.setdefault(rl_key(row), []).append(row)
    return [
        (ref, other)
        for rows in by_rl.values()
        for ref in (row for row in rows if row.sft_mixture == reference)
        for other in (row for row in rows if row.sft_mixture != reference)
    ]


def four_rows(matrix: Matrix, ref: RowId, other: RowId) -> list[RowId]:
    """The rows of a ΔΔ in the order of `SIGNS`."""
    pre_rl = {row.sft_key: row for row in matrix.rows if row.stage == "pre_rl"}
    return [ref, pre_rl[ref.sft_key], other, pre_rl[other.sft_key]]


def shared_tasks(matrix: Matrix, rows: list[RowId], languages: list[str]) -> list[str] | None:
    """The tasks every row has in every language (and, under `common`, every column has);
    None when a row lacks a language."""
    values = [matrix.task_values.get((row.label, lang)) for row in rows for lang in languages]
    if any(v is None for v in values):
        return None
    tasks = set.intersection(*map(set, values))
    if matrix.subset == "common":  # comparable with the matrix's cells
        tasks &= matrix.common_tasks
    return sorted(tasks)


def mixture_contrasts(
    matrix: Matrix, reference: str = "parallel", *, num_bootstrap: int = 1000
) -> list[Contrast]:
    """Every (RL, other mixture, language) for which the reference mixture has the same RL."""
    return [
        _contrast(matrix, ref, other, language, num_bootstrap)
        for ref, other in contrast_pairs(matrix, reference)
        for language in matrix.languages
    ]


def _contrast(
    matrix: Matrix, ref: RowId, other: RowId, language: str, num_bootstrap: int
) -> Contrast:
    """ΔΔ over the tasks all four rows share."""
    head = (ref.rl_label, ref.rl_source, ref.sft_label, other.sft_label, language)
    rows = four_rows(matrix, ref, other)
    tasks = shared_tasks(matrix, rows, [language])
    if not tasks:
        return Contrast(*head, value=None, ci=None, num_tasks=0)
    terms = [
        (sign, matrix.tables(row.label, language, tasks))
        for sign, row in zip(SIGNS, rows, strict=True)
    ]
    seed = bootstrap_seed(ref.label, other.label, language)
    means_B = hierarchical_means(terms, num_samples=num_bootstrap, seed=seed)
    return Contrast(
        *head, value=point_estimate(terms), ci=percentile_interval(means_B),
        num_tasks=len(tasks), p_value=bootstrap_p_value(means_B),
    )  # fmt: skip
