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


def _rl_name(row: RowId) -> str:
    return f"{str(row.rl_algorithm).upper()} {row.rl_source}" + (" (oracle)" if row.oracle else "")


def mixture_contrasts(
    matrix: Matrix, reference: str = "parallel", *, num_bootstrap: int = 1000
) -> list[Contrast]:
    """Every (RL, other mixture, language) for which the reference mixture has the same RL."""
    pre_rl = {row.sft_key: row for row in matrix.rows if row.stage == "pre_rl"}
    by_rl: dict[tuple, list[RowId]] = {}
    for row in matrix.rows:
        if row.stage == "post_rl" and row.sft_key in pre_rl:
            by_rl.setdefault(_rl_key(row), []).append(row)

    contrasts = []
    for rows in by_rl.values():
        for ref in (row for row in rows if row.sft_mixture == reference):
            for other in (row for row in rows if row.sft_mixture != reference):
                for language in matrix.languages:
                    four = [ref, pre_rl[ref.sft_key], other, pre_rl[other.sft_key]]
                    values = [matrix.task_values.get((row.label, language)) for row in four]
                    if matrix.subset == "common" and None not in values:
                        values.append(matrix.common_tasks)  # comparable with the matrix's cells
                    contrasts.append(_contrast(ref, other, language, values, num_bootstrap))
    return contrasts


def _contrast(ref: RowId, other: RowId, language: str, values, num_bootstrap: int) -> Contrast:
    head = (_rl_name(ref), ref.rl_source, ref.sft_label, other.sft_label, language)
    tasks = [] if any(v is None for v in values) else sorted(set.intersection(*map(set, values)))
    if not tasks:
        return Contrast(*head, value=None, ci=None, num_tasks=0)
    ref_post, ref_pre, other_post, other_pre = (np.array([v[t] for t in tasks]) for v in values[:4])
    per_task = (ref_post - ref_pre) - (other_post - other_pre)
    seed = bootstrap_seed(ref.label, other.label, language)
    ci = bootstrap_ci(per_task, num_samples=num_bootstrap, seed=seed)
    return Contrast(*head, value=float(per_task.mean()), ci=ci, num_tasks=len(tasks))


def contrast_markdown(contrasts: list[Contrast], languages: list[str]) -> list[str]:
    """A table: one line per (RL, reference vs other), one column per language; [] if none."""
    if not contrasts:
        return []
    lines = ["| RL | SFT compared | " + " | ".join(languages) + " |"]
    lines.append("|---|---|" + "---|" * len(languages))
    table: dict[tuple[str, str, str, str], dict[str, Contrast]] = {}
    for c in contrasts:
        table.setdefault((c.rl, c.source, c.reference, c.other), {})[c.language] = c
    for (rl, source, reference, other), cells in table.items():
        texts = [_cell(cells.get(language), language == source) for language in languages]
        lines.append(f"| {rl} | {reference} vs {other} | " + " | ".join(texts) + " |")
    return lines


def _cell(c: Contrast | None, is_source: bool) -> str:
    if c is None or c.value is None:
        return "missing"
    low, high = c.ci
    text = f"{100 * c.value:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"**{text}**" if is_source else text
