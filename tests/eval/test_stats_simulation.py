"""Coverage of the hierarchical bootstrap on data whose true mean is known by construction.

The model (a stand-in for the study: suites, seeds and problems, one greedy sample each):

    p[u, s, q] = base + a_u + b_us + c_uq          (pre-RL)
    p'[u, s, q] = p[u, s, q] + delta + a'_u + b'_us + c'_uq   (post-RL, from the same seed)
    outcome ~ Bernoulli(p)

Every effect is uniform on a symmetric interval and the intervals are small enough that p
stays in [0, 1], so no clipping bends the mean: the population mean of the pre-RL rate is
exactly `base` and the true Δ exactly `delta`. Each dataset draws new suites, seeds and
problems; an interval "covers" when it contains that known truth.

The band: with 200 datasets, a method whose true coverage is 95% lands within ±1.5 points
(one Monte Carlo standard error) most of the time; [0.90, 0.99] is 3.3 standard errors below
and 2.6 above, wide enough not to flag a correct method and narrow enough to flag one that
leaves out a variance level (problem-only intervals cover 0.5-0.8 here). The data are
seeded, so the test is deterministic.

Sizes are shrunk for speed (200 datasets x 300 resamples, 20-30 problems per suite); the
measured coverages are in the assertion messages and in docs/evaluation.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from xlt.eval.passk import bootstrap_ci
from xlt.eval.stats import hierarchical_ci

NUM_DATASETS = 200
NUM_RESAMPLES = 300
BAND = (0.90, 0.99)


def _uniform(rng, half_width, shape):
    return rng.uniform(-half_width, half_width, shape)


def _simulate_rates(rng, num_suites, num_seeds, num_problems, base, spread):
    """Pre-RL success probabilities [U, S, Q] from suite, seed and problem effects."""
    a_U11 = _uniform(rng, spread["suite"], (num_suites, 1, 1))
    b_US1 = _uniform(rng, spread["seed"], (num_suites, num_seeds, 1))
    c_U1Q = _uniform(rng, spread["problem"], (num_suites, 1, num_problems))
    return base + a_U11 + b_US1 + c_U1Q


def _tables(outcomes_USQ):
    """suite -> seeds x problems, the shape xlt.eval.stats takes."""
    return {suite: outcomes_USQ[suite] for suite in range(len(outcomes_USQ))}


def _problem_only_ci(outcomes_USQ):
    """The method before issue #17: seeds pooled per problem, problems resampled."""
    per_problem = outcomes_USQ.mean(axis=1).reshape(-1)
    return bootstrap_ci(per_problem, num_samples=NUM_RESAMPLES)


def _covers(ci, truth):
    return ci[0] <= truth <= ci[1]


# (suites, seeds, problems per suite, effect half-widths): suite and seed variance large.
MEAN_DESIGNS = {
    "6 suites x 3 seeds": (6, 3, 30, {"suite": 0.15, "seed": 0.1, "problem": 0.2}),
    "1 suite x 3 seeds": (1, 3, 30, {"suite": 0.0, "seed": 0.2, "problem": 0.25}),
}


@pytest.mark.parametrize("design", sorted(MEAN_DESIGNS))
def test_interval_of_a_mean_covers_the_true_mean(design):
    num_suites, num_seeds, num_problems, spread = MEAN_DESIGNS[design]
    rng = np.random.default_rng(17)
    hits = {"hierarchical": 0, "problems only": 0}
    for dataset in range(NUM_DATASETS):
        rates_USQ = _simulate_rates(rng, num_suites, num_seeds, num_problems, 0.5, spread)
        outcomes_USQ = (rng.random(rates_USQ.shape) < rates_USQ).astype(float)
        ci = hierarchical_ci(
            [(1.0, _tables(outcomes_USQ))], num_samples=NUM_RESAMPLES, seed=dataset
        )
        hits["hierarchical"] += _covers(ci, 0.5)
        hits["problems only"] += _covers(_problem_only_ci(outcomes_USQ), 0.5)
    coverage = {name: count / NUM_DATASETS for name, count in hits.items()}
    assert BAND[0] <= coverage["hierarchical"] <= BAND[1], coverage
    assert coverage["problems only"] < 0.85, coverage  # leaving out seeds/suites under-covers


PRE_SPREAD = {"suite": 0.08, "seed": 0.04, "problem": 0.12}  # pre-RL rates in [0.16, 0.64]


def _delta_coverage(num_suites, num_seeds, num_problems, rl_spread, delta=0.1):
    rng = np.random.default_rng(23)
    hits = {"hierarchical": 0, "problems only": 0}
    for dataset in range(NUM_DATASETS):
        shape = (num_suites, num_seeds, num_problems)
        pre_USQ = _simulate_rates(rng, *shape, 0.4, PRE_SPREAD)
        post_USQ = pre_USQ + _simulate_rates(rng, *shape, delta, rl_spread)
        assert pre_USQ.min() >= 0 and post_USQ.max() <= 1  # no clipping: the truth is exact
        before = (rng.random(shape) < pre_USQ).astype(float)
        after = (rng.random(shape) < post_USQ).astype(float)
        terms = [(1.0, _tables(after)), (-1.0, _tables(before))]
        ci = hierarchical_ci(terms, num_samples=NUM_RESAMPLES, seed=dataset)
        hits["hierarchical"] += _covers(ci, delta)
        hits["problems only"] += _covers(_problem_only_ci(after - before), delta)
    return {name: count / NUM_DATASETS for name, count in hits.items()}


def test_paired_delta_covers_the_true_rl_effect():
    # RL's gain varies by suite and seed far more than by problem: the case of issue #17,
    # where a problems-only interval of Δ is too narrow. 6 suites x 3 seeds x 60 problems.
    coverage = _delta_coverage(6, 3, 60, {"suite": 0.1, "seed": 0.1, "problem": 0.02})
    assert BAND[0] <= coverage["hierarchical"] <= BAND[1], coverage
    assert coverage["problems only"] < 0.85, coverage


def test_paired_delta_is_conservative_when_coin_flips_dominate():
    # Few problems, small RL spread: most of Δ's variance is which problems flip by chance
    # (the seed x problem residual), which resampling seeds and problems counts twice. The
    # interval is then wider than needed, never narrower: documented, and held here.
    coverage = _delta_coverage(4, 3, 20, {"suite": 0.07, "seed": 0.12, "problem": 0.03})
    assert coverage["hierarchical"] >= 0.95, coverage
