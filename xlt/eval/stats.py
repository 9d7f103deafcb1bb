"""Statistics that match the study's design: hierarchical bootstrap, endpoints, Holm, power.

The design is nested and crossed: micro suites (`data.seed`) are drawn from a population of
suites; within a suite, training seeds and problems are crossed (every seed is evaluated on
every problem of its suite). A pass@k estimate therefore varies with the suite, the seed and
the problem, and an interval that resamples problems alone leaves the first two out (issue
#17: the two suites disagreed far beyond their problem-only intervals).

Data shape. One row of the matrix in one language is a `SuiteTable`: suite -> values_SP, the
per-problem pass@k of each seed (rows: seeds in seed order; columns: problems). A statistic
is a weighted sum of row means, `terms = [(weight, SuiteTable), ...]`:

    cell value: [(+1, row)]
    Δ:          [(+1, post-RL), (-1, pre-RL)]
    ΔΔ:         [(+1, ref post), (-1, ref pre), (-1, other post), (+1, other pre)]

Every term of one statistic holds the same suites and, per suite, the same problems in the
same column order. A row's mean is the mean over all its problems (suites side by side, so
suites weigh by their problem count) of the mean over its seeds: the matrix's pooling.

`hierarchical_means` draws, per bootstrap sample, (1) as many suites as there are, with
replacement; (2) within each drawn suite, independently for each draw, its seeds and (3) its
problems, each with replacement. Every term of a statistic uses the same drawn suites and
problems, and the same seed positions (rows whose seeds match are paired by seed, as a
post-RL run is paired with the SFT run it started from), so differences are paired at every
level. A level with one unit is not resampled (its variance cannot be estimated from one
unit): with one suite and one seed this is exactly the problem bootstrap of
`xlt.eval.passk.bootstrap_ci`, with the same random draws and so the same interval.

Known properties (measured by tests/eval/test_stats_simulation.py): with suite and seed
variance present, problem-only intervals cover far below 95% and these near 95%; resampling
seeds and problems of a crossed table counts the seed x problem noise twice, so where that
noise dominates the interval is conservative (wider than needed), never narrower; with
three seeds the seed level is under-estimated by a factor 2/3 (the bootstrap's 1/n
variance), which that double count partly offsets.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from math import erf, sqrt
from statistics import NormalDist

import numpy as np

SuiteTable = Mapping[Hashable, np.ndarray]  # suite -> values_SP (seeds x problems)
Terms = Sequence[tuple[float, SuiteTable]]


def _suite_order(table: SuiteTable) -> list[Hashable]:
    """Suites in a fixed order (None, the fixed-data suite, first) so draws are reproducible."""
    return sorted(table, key=lambda suite: (suite is not None, suite if suite is not None else 0))


def _check_terms(terms: Terms) -> list[Hashable]:
    if not terms:
        raise ValueError("a statistic needs at least one term")
    suites = _suite_order(terms[0][1])
    if not suites:
        raise ValueError("a statistic needs at least one suite")
    for _, table in terms:
        if _suite_order(table) != suites:
            raise ValueError(f"terms disagree on suites: {suites} vs {_suite_order(table)}")
        for suite in suites:
            values_SP = np.asarray(table[suite])
            first_SP = np.asarray(terms[0][1][suite])
            if values_SP.ndim != 2 or values_SP.shape[1] != first_SP.shape[1]:
                raise ValueError(
                    f"suite {suite}: terms need seeds x problems tables over the same problems, "
                    f"got shapes {first_SP.shape} and {values_SP.shape}"
                )
            if 0 in values_SP.shape:
                raise ValueError(f"suite {suite}: a table without seeds or problems")
    return suites


def point_estimate(terms: Terms) -> float:
    """sum_r weight_r * (mean over all problems of the mean over seeds of row r)."""
    suites = _check_terms(terms)
    num_problems = sum(np.asarray(terms[0][1][s]).shape[1] for s in suites)
    total = 0.0
    for weight, table in terms:
        row_sum = sum(float(np.asarray(table[s]).mean(axis=0).sum()) for s in suites)
        total += weight * row_sum / num_problems
    return total


def _within_suite_sums(
    parts: Sequence[tuple[float, np.ndarray]], num_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Sum over resampled problems of the weighted, seed-resampled values: shape [num_draws].

    Seeds are drawn as positions from one uniform per slot shared by every term, so terms
    with the same seeds get the same ones; a term with one seed keeps it.
    """
    num_problems = parts[0][1].shape[1]
    max_seeds = max(values_SP.shape[0] for _, values_SP in parts)
    uniform_BS = rng.random((num_draws, max_seeds)) if max_seeds > 1 else None
    combined_BP = np.zeros((num_draws, num_problems))
    for weight, values_SP in parts:
        num_seeds = values_SP.shape[0]
        if uniform_BS is None or num_seeds == 1:
            seed_mean_BP = values_SP.mean(axis=0)[None, :]
        else:
            seeds_BS = (uniform_BS[:, :num_seeds] * num_seeds).astype(int)
            seed_mean_BP = values_SP[seeds_BS].mean(axis=1)
        combined_BP = combined_BP + weight * seed_mean_BP
    problems_BP = rng.integers(0, num_problems, size=(num_draws, num_problems))
    return np.take_along_axis(combined_BP, problems_BP, axis=1).sum(axis=1)


def hierarchical_means(terms: Terms, *, num_samples: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of the statistic: shape [num_samples]. See the module docstring."""
    suites = _check_terms(terms)
    tables = [[(w, np.asarray(table[s], dtype=float)) for w, table in terms] for s in suites]
    sizes = [parts[0][1].shape[1] for parts in tables]
    rng = np.random.default_rng(seed)
    if len(suites) > 1:
        slots_BU = rng.integers(0, len(suites), size=(num_samples, len(suites)))
    else:  # one suite: nothing to draw, and the problem draws match `bootstrap_ci`'s
        slots_BU = np.zeros((num_samples, 1), dtype=int)
    total_B = np.zeros(num_samples)
    count_B = np.zeros(num_samples)
    for slot in range(slots_BU.shape[1]):
        for index, parts in enumerate(tables):
            drawn = np.flatnonzero(slots_BU[:, slot] == index)
            if drawn.size:  # each drawn copy of a suite gets its own seeds and problems
                total_B[drawn] += _within_suite_sums(parts, drawn.size, rng)
                count_B[drawn] += sizes[index]
    return total_B / count_B


def percentile_interval(means_B: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means_B, [tail, 100 - tail])
    return float(low), float(high)


def hierarchical_ci(
    terms: Terms, *, num_samples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the statistic under the suite -> seed/problem bootstrap."""
    return percentile_interval(hierarchical_means(terms, num_samples=num_samples, seed=seed), level)


def bootstrap_p_value(means_B: np.ndarray, null: float = 0.0) -> float:
    """Two-sided p of "the statistic equals `null`" from its bootstrap distribution.

    p = 2 * (1 + resamples on the far side of `null`) / (1 + resamples), capped at 1: about
    the smallest 1 - level at which the percentile interval excludes `null`; the +1s keep
    p above 0 with a finite number of resamples (the smallest p is 2 / (1 + resamples)).
    """
    means_B = np.asarray(means_B, dtype=float)
    below = int((means_B <= null).sum())
    above = int((means_B >= null).sum())
    return min(1.0, 2 * (1 + min(below, above)) / (1 + means_B.size))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the order given.

    Sorted ascending, the i-th smallest (i = 1..m) becomes max over j <= i of
    min(1, (m - j + 1) * p_(j)); reject where the adjusted p <= alpha.
    """
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


def equivalent(ci: tuple[float, float], bound: float) -> bool:
    """TOST: equivalent within ±bound when the (1 - 2 alpha) interval lies strictly inside.

    Two one-sided tests at alpha (e.g. 0.05) reject "≤ -bound" and "≥ +bound" exactly when
    the 90% interval sits inside (-bound, +bound); pass the 90% interval for alpha 0.05.
    """
    if bound <= 0:
        raise ValueError(f"the equivalence bound must be > 0, got {bound}")
    low, high = ci
    return -bound < low and high < bound


# --- variance components and power ---------------------------------------------------------


@dataclass(frozen=True)
class VarianceComponents:
    """Variances of one per-unit quantity (e.g. ΔΔ of a problem, seed and suite).

    suite: between suites; seed: between seeds of a suite; problem: between problems of a
    suite; residual: seed x problem (for pass@1 with greedy decoding mostly which seed
    happens to solve which problem). None for `suite` when one suite cannot tell.
    """

    suite: float | None
    seed: float
    problem: float
    residual: float


def _crossed_components(values_SP: np.ndarray) -> tuple[float, float, float]:
    """Seed, problem and residual variances of one suite's seeds x problems table.

    Two-way ANOVA without replication, method of moments (expected mean squares):
    MS_seed = resid + P·seed, MS_problem = resid + S·problem, MS_resid = resid. Negative
    estimates are set to 0.
    """
    num_seeds, num_problems = values_SP.shape
    grand = values_SP.mean()
    seed_S = values_SP.mean(axis=1)
    problem_P = values_SP.mean(axis=0)
    ms_problem = num_seeds * ((problem_P - grand) ** 2).sum() / max(num_problems - 1, 1)
    if num_seeds < 2:
        return 0.0, max(ms_problem, 0.0), 0.0  # seed and residual are not separable
    ms_seed = num_problems * ((seed_S - grand) ** 2).sum() / (num_seeds - 1)
    residual_SP = values_SP - seed_S[:, None] - problem_P[None, :] + grand
    ms_resid = (residual_SP**2).sum() / ((num_seeds - 1) * (num_problems - 1))
    seed = max((ms_seed - ms_resid) / num_problems, 0.0)
    problem = max((ms_problem - ms_resid) / num_seeds, 0.0)
    return seed, problem, float(ms_resid)


def variance_components(table: SuiteTable) -> VarianceComponents:
    """Variance components of a per-unit quantity, pooled (averaged) over suites.

    The suite variance is the spread of suite means beyond what seeds and problems explain:
    var(suite means) - seed/S - problem/P - residual/(S P), set to 0 if negative; None with
    one suite.
    """
    suites = _suite_order(table)
    parts = [_crossed_components(np.asarray(table[s], dtype=float)) for s in suites]
    seed, problem, residual = (float(np.mean(column)) for column in zip(*parts, strict=True))
    suite = None
    if len(suites) > 1:
        means = [float(np.asarray(table[s]).mean()) for s in suites]
        shapes = [np.asarray(table[s]).shape for s in suites]
        within = np.mean(
            [seed / s + problem / p + residual / (s * p) for s, p in shapes]
        )  # the part of a suite mean's variance that comes from inside the suite
        suite = max(float(np.var(means, ddof=1)) - float(within), 0.0)
    return VarianceComponents(suite, seed, problem, residual)


def standard_error(
    components: VarianceComponents, *, num_suites: int, num_seeds: int, num_problems: int
) -> float:
    """Standard error of the grand mean of a balanced design (problems per suite)."""
    u, s, p = num_suites, num_seeds, num_problems
    suite = components.suite or 0.0
    var = (
        suite / u
        + components.seed / (u * s)
        + components.problem / (u * p)
        + components.residual / (u * s * p)
    )
    return sqrt(var)


def power(
    components: VarianceComponents,
    effect: float,
    *,
    num_suites: int,
    num_seeds: int,
    num_problems: int,
    alpha: float = 0.05,
) -> float:
    """Power of the two-sided level-alpha z-test of "mean = 0" when the true mean is `effect`."""
    se = standard_error(
        components, num_suites=num_suites, num_seeds=num_seeds, num_problems=num_problems
    )
    if se == 0:
        return 1.0 if effect != 0 else alpha
    z = NormalDist().inv_cdf(1 - alpha / 2)
    shift = abs(effect) / se
    return _normal_cdf(shift - z) + _normal_cdf(-shift - z)


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + erf(x / sqrt(2)))


def seeds_needed(
    components: VarianceComponents,
    effect: float,
    *,
    num_suites: int,
    num_problems: int,
    target: float = 0.8,
    alpha: float = 0.05,
    max_seeds: int = 1000,
) -> int | None:
    """The fewest seeds per setting (and suite) for `target` power; None if even `max_seeds`
    fall short (suite or problem variance alone keeps the error too large)."""
    for num_seeds in range(1, max_seeds + 1):
        if (
            power(
                components,
                effect,
                num_suites=num_suites,
                num_seeds=num_seeds,
                num_problems=num_problems,
                alpha=alpha,
            )  # fmt: skip
            >= target
        ):
            return num_seeds
    return None
