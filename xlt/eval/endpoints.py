"""The pre-specified primary endpoint, Holm-corrected secondary endpoints, equivalence, power.

Issue #17: reading dozens of per-language Δ and ΔΔ intervals unadjusted finds "effects" by
chance, and a null result needs a bound to be stated as one. The analysis plan, fixed
before looking at a sweep:

- **Primary endpoint** (`PRIMARY`): the mean over the zero-shot target languages (every
  language but the RL source, unless `targets` names them) of ΔΔ = Δ(Parallel-SFT) −
  Δ(multilingual SFT), for GRPO with py as the RL source. Per problem the ΔΔs of the
  targets are averaged (the same task in every language is one problem, resampled as one),
  then the hierarchical bootstrap of `xlt.eval.stats` gives the 95% interval, the 90%
  interval (for equivalence) and a two-sided p.
- **Secondary endpoints**: every per-language ΔΔ of `xlt.eval.contrast`, as one family;
  their bootstrap p-values are Holm-adjusted (`xlt.eval.stats.holm`).
- **Equivalence**: the primary endpoint is "equivalent to 0 within ±bound" (TOST at 5%)
  when its 90% interval lies inside ±`EQUIVALENCE_BOUND` (3 points, the size of effect the
  issue asks the study to be able to see).
- **Power**: variance components of the primary endpoint's per-unit values (suite, seed,
  problem, seed x problem) estimated from the sweep; the seeds per setting needed for 80%
  power to detect ±`EQUIVALENCE_BOUND` at 5%, two-sided (`xlt.eval.stats.seeds_needed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xlt.eval.contrast import SIGNS, Contrast, contrast_pairs, four_rows, shared_tasks
from xlt.eval.matrix import Matrix, bootstrap_seed
from xlt.eval.stats import (
    VarianceComponents,
    bootstrap_p_value,
    equivalent,
    hierarchical_means,
    holm,
    percentile_interval,
    point_estimate,
    seeds_needed,
    variance_components,
)

EQUIVALENCE_BOUND = 0.03  # pass@1 as a fraction: 3 points
TARGET_POWER = 0.8
ALPHA = 0.05


@dataclass(frozen=True)
class EndpointSpec:
    reference: str = "parallel"  # SFT mixture
    other: str = "multilingual"
    rl_algorithm: str = "grpo"
    rl_source: str = "py"
    targets: tuple[str, ...] | None = None  # None: every language of the matrix but the source

    def target_languages(self, languages: Sequence[str]) -> list[str]:
        if self.targets is None:
            return [lang for lang in languages if lang != self.rl_source]
        return [lang for lang in self.targets if lang in languages]

    @property
    def name(self) -> str:
        return (
            f"mean ΔΔ over zero-shot targets, {self.reference} − {self.other} SFT, "
            f"{self.rl_algorithm.upper()} {self.rl_source}"
        )


PRIMARY = EndpointSpec()


@dataclass(frozen=True)
class EndpointResult:
    spec: EndpointSpec
    rl: str  # the RL row label part, e.g. "GRPO py"
    targets: tuple[str, ...]
    value: float | None
    ci: tuple[float, float] | None = None  # 95%
    ci90: tuple[float, float] | None = None  # for TOST
    p_value: float | None = None
    equivalent: bool | None = None  # within ±bound by TOST
    bound: float = EQUIVALENCE_BOUND
    num_tasks: int = 0
    num_seeds: int = 0
    num_suites: int = 0
    components: VarianceComponents | None = None
    seeds_for_power: int | None = None  # seeds per setting for TARGET_POWER at ±bound
    missing: str | None = None
    notes: list[str] = field(default_factory=list)


def primary_endpoint(
    matrix: Matrix,
    spec: EndpointSpec = PRIMARY,
    *,
    num_bootstrap: int = 1000,
    bound: float = EQUIVALENCE_BOUND,
) -> list[EndpointResult]:
    """The endpoint for every (reference, other) pair of post-RL rows matching `spec`."""
    results = []
    for ref, other in contrast_pairs(matrix, spec.reference):
        if (
            other.sft_mixture != spec.other
            or ref.rl_source != spec.rl_source
            or ref.rl_algorithm != spec.rl_algorithm
            or ref.oracle
        ):
            continue
        results.append(_endpoint(matrix, spec, ref, other, num_bootstrap, bound))
    return results


def _endpoint(matrix, spec, ref, other, num_bootstrap, bound) -> EndpointResult:
    targets = spec.target_languages(matrix.languages)
    head = {"spec": spec, "rl": ref.rl_label, "targets": tuple(targets), "bound": bound}
    rows = four_rows(matrix, ref, other)
    tasks = shared_tasks(matrix, rows, targets) if targets else None
    if not tasks:
        why = "no target language" if not targets else "a row lacks a target or shared tasks"
        return EndpointResult(**head, value=None, missing=why)
    # Per problem, the targets' ΔΔs averaged: weight sign / (number of targets) per term.
    weight = 1.0 / len(targets)
    terms = [
        (sign * weight, matrix.tables(row.label, language, tasks))
        for language in targets
        for sign, row in zip(SIGNS, rows, strict=True)
    ]
    seed = bootstrap_seed(ref.label, other.label, "primary", *targets)
    means_B = hierarchical_means(terms, num_samples=num_bootstrap, seed=seed)
    ci90 = percentile_interval(means_B, 0.90)
    tables = [table for _, table in terms]
    num_seeds = min(t.shape[0] for table in tables for t in table.values())
    components, needed, notes = _power(terms, bound)
    return EndpointResult(
        **head, value=point_estimate(terms), ci=percentile_interval(means_B, 0.95), ci90=ci90,
        p_value=bootstrap_p_value(means_B), equivalent=equivalent(ci90, bound),
        num_tasks=len(tasks), num_seeds=num_seeds, num_suites=len(tables[0]),
        components=components, seeds_for_power=needed, notes=notes,
    )  # fmt: skip


def unit_values(terms) -> dict | None:
    """suite -> seeds x problems of the statistic's per-unit values (sum of weighted terms);
    None when the terms' seed counts differ in a suite (no one-to-one seed pairing)."""
    combined = {}
    for suite in terms[0][1]:
        shapes = {np.asarray(table[suite]).shape for _, table in terms}
        if len(shapes) != 1:
            return None
        combined[suite] = sum(weight * np.asarray(table[suite]) for weight, table in terms)
    return combined


def _power(terms, bound) -> tuple[VarianceComponents | None, int | None, list[str]]:
    values = unit_values(terms)
    if values is None:
        return None, None, ["rows have different seed counts: no power calculation"]
    components = variance_components(values)
    num_problems = int(np.mean([v.shape[1] for v in values.values()]))
    notes = []
    if components.suite is None:
        notes.append("one suite: suite variance not estimable, taken as 0")
    if min(v.shape[0] for v in values.values()) < 2:
        notes.append("one seed: seed and seed x problem variance not separable")
    needed = seeds_needed(
        components, bound, num_suites=len(values), num_problems=num_problems,
        target=TARGET_POWER, alpha=ALPHA,
    )  # fmt: skip
    return components, needed, notes


@dataclass(frozen=True)
class Secondary:
    contrast: Contrast
    p_holm: float


def secondary_endpoints(contrasts: Sequence[Contrast]) -> list[Secondary]:
    """Every contrast with a p-value, Holm-adjusted as one family."""
    tested = [c for c in contrasts if c.p_value is not None]
    adjusted = holm([c.p_value for c in tested]) if tested else []
    return [Secondary(c, p) for c, p in zip(tested, adjusted, strict=True)]
