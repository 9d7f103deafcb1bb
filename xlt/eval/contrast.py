"""The study's question as one number per language: does RL transfer better after one SFT mixture?

For the same RL (algorithm, source language, oracle flag) applied after two SFT mixtures,
the contrast in a language is the difference of the two RL deltas, paired over problems:

    ΔΔ = (after RL − before RL | reference mixture) − (after RL − before RL | other mixture)

computed per problem on the problems all four rows share (and, for the matrix's `common`
subset, every column has), seeds pooled per problem as in the matrix, with a percentile
bootstrap interval over problems. ΔΔ > 0 in a target language means RL helped it more (or
hurt it less) after the reference mixture (Parallel-SFT by default): the paper's claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlt.eval.matrix import Matrix, bootstrap_seed
from xlt.eval.passk import bootstrap_ci
from xlt.eval.rows import RowId


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


def _rl_key(row: RowId) -> tuple:
    return (row.model, row.scale, row.rl_algorithm, row.rl_source, row.oracle)


def mixture_contrasts(
    matrix: Matrix, reference: str = "parallel", *, num_bootstrap: int = 1000
) -> list[Contrast]:
    """Every (RL, other mixture, language) for which the reference mixture has the same RL."""
    pre_rl = {row.sft_key: row for row in matrix.rows if row.stage == "pre_rl"}
    by_rl: dict[tuple, list[RowId]] = {}
    for row in matrix.rows:
        if row.stage == "post_rl" and row.sft_key in pre_rl:
            by_rl.setdefault(_rl_key(row), []).append(row)

    # On the `common` subset, only the tasks every column has: comparable with the matrix's cells.
    allowed = matrix.common_tasks if matrix.subset == "common" else None
    contrasts = []
    for rows in by_rl.values():
        for ref in (row for row in rows if row.sft_mixture == reference):
            for other in (row for row in rows if row.sft_mixture != reference):
                for language in matrix.languages:
                    four = [ref, pre_rl[ref.sft_key], other, pre_rl[other.sft_key]]
                    values = [matrix.task_values.get((row.label, language)) for row in four]
                    contrasts.append(
                        _contrast(ref, other, language, values, allowed, num_bootstrap)
                    )
    return contrasts


def _contrast(
    ref: RowId,
    other: RowId,
    language: str,
    values: list[dict[str, float] | None],
    allowed: frozenset[str] | None,
    num_bootstrap: int,
) -> Contrast:
    """ΔΔ over the tasks all four rows' `values` share (and `allowed` holds, unless None)."""
    head = (ref.rl_label, ref.rl_source, ref.sft_label, other.sft_label, language)
    if any(v is None for v in values):
        return Contrast(*head, value=None, ci=None, num_tasks=0)
    tasks = set.intersection(*map(set, values))
    tasks = sorted(tasks if allowed is None else tasks & allowed)
    if not tasks:
        return Contrast(*head, value=None, ci=None, num_tasks=0)
    ref_post, ref_pre, other_post, other_pre = (np.array([v[t] for t in tasks]) for v in values)
    per_task = (ref_post - ref_pre) - (other_post - other_pre)
    seed = bootstrap_seed(ref.label, other.label, language)
    ci = bootstrap_ci(per_task, num_samples=num_bootstrap, seed=seed)
    return Contrast(*head, value=float(per_task.mean()), ci=ci, num_tasks=len(tasks))
