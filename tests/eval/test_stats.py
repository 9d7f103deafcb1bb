"""xlt.eval.stats on cases small enough to compute by hand."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from xlt.eval.passk import bootstrap_ci, paired_bootstrap_ci
from xlt.eval.stats import (
    VarianceComponents,
    bootstrap_p_value,
    equivalent,
    hierarchical_ci,
    hierarchical_means,
    holm,
    point_estimate,
    power,
    seeds_needed,
    variance_components,
)


def test_one_suite_one_seed_is_exactly_the_problem_bootstrap():
    values = np.random.default_rng(0).random(23)
    before = np.random.default_rng(1).random(23)
    one = {None: values[None, :]}
    assert hierarchical_ci([(1.0, one)], num_samples=400, seed=9) == bootstrap_ci(
        values, num_samples=400, seed=9
    )
    paired = [(1.0, one), (-1.0, {None: before[None, :]})]
    assert hierarchical_ci(paired, num_samples=400, seed=9) == paired_bootstrap_ci(
        values, before, num_samples=400, seed=9
    )


def test_suites_are_drawn_with_replacement_and_weigh_by_their_problems():
    # Suite 0: one problem at 0; suite 1: three problems at 1. No spread inside a suite, so a
    # resample's mean depends only on the suites drawn: {0,0} -> 0, {0,1} -> 3/4, {1,1} -> 1,
    # with probabilities 1/4, 1/2, 1/4.
    table = {0: np.zeros((1, 1)), 1: np.ones((1, 3))}
    assert point_estimate([(1.0, table)]) == pytest.approx(0.75)
    means = hierarchical_means([(1.0, table)], num_samples=4000, seed=0)
    counts = Counter(np.round(means, 12).tolist())
    assert set(counts) == {0.0, 0.75, 1.0}
    assert counts[0.75] / 4000 == pytest.approx(0.5, abs=0.03)
    assert counts[0.0] / 4000 == pytest.approx(0.25, abs=0.03)


def test_seeds_are_resampled_within_a_suite():
    # One suite, seed 0 fails everything, seed 1 passes everything: problems carry no spread,
    # so the resampled mean is the share of seed 1 among two drawn seeds: 0, 1/2 or 1.
    table = {0: np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])}
    means = hierarchical_means([(1.0, table)], num_samples=4000, seed=1)
    counts = Counter(np.round(means, 12).tolist())
    assert set(counts) == {0.0, 0.5, 1.0}
    assert counts[0.5] / 4000 == pytest.approx(0.5, abs=0.03)
    assert hierarchical_ci([(1.0, table)], num_samples=4000, seed=1) == (0.0, 1.0)


def test_terms_share_every_draw():
    # Two rows that differ by exactly 0.1 in every unit: paired, every resample's difference
    # is 0.1; drawn apart, the suites' and seeds' spread would show.
    rng = np.random.default_rng(2)
    before = {0: rng.random((3, 8)), 1: rng.random((3, 5))}
    after = {suite: values + 0.1 for suite, values in before.items()}
    means = hierarchical_means([(1.0, after), (-1.0, before)], num_samples=300, seed=4)
    assert np.allclose(means, 0.1)


def test_terms_must_agree_on_suites_and_problems():
    with pytest.raises(ValueError, match="suites"):
        hierarchical_ci([(1.0, {0: np.ones((1, 2))}), (-1.0, {1: np.ones((1, 2))})])
    with pytest.raises(ValueError, match="same problems"):
        hierarchical_ci([(1.0, {0: np.ones((1, 2))}), (-1.0, {0: np.ones((1, 3))})])
    with pytest.raises(ValueError, match="at least one"):
        hierarchical_ci([])


def test_bootstrap_p_value_by_hand():
    # 1 of 4 resamples at or below 0: p = 2 (1 + 1) / (4 + 1) = 0.8.
    assert bootstrap_p_value(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(0.8)
    # none of 9 below: the smallest p, 2 / 10.
    assert bootstrap_p_value(np.arange(1.0, 10.0)) == pytest.approx(0.2)
    assert bootstrap_p_value(np.zeros(5)) == 1.0  # capped


def test_holm_by_hand():
    # sorted: 0.005 x4 = 0.02; 0.01 x3 = 0.03; 0.03 x2 = 0.06; 0.04 x1 = 0.04 -> max 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


def test_equivalence_needs_the_interval_strictly_inside_the_bound():
    assert equivalent((-0.02, 0.01), 0.03)
    assert not equivalent((-0.04, 0.0), 0.03)
    assert not equivalent((0.0, 0.03), 0.03)  # touching the bound is not inside
    with pytest.raises(ValueError, match="bound"):
        equivalent((0.0, 0.0), 0.0)


def test_variance_components_by_hand():
    # [[1, 2], [3, 4]]: additive, seed means 1.5 / 3.5, problem means 2 / 3, no residual.
    # MS_seed = 2 * (1 + 1) / 1 = 4 -> seed 4 / 2 = 2; MS_problem = 2 * 0.5 / 1 = 1 -> 0.5.
    additive = variance_components({0: np.array([[1.0, 2.0], [3.0, 4.0]])})
    assert additive == VarianceComponents(None, 2.0, 0.5, 0.0)
    # [[1, 0], [0, 1]]: all interaction: residuals +-0.5, MS_resid = 4 * 0.25 / 1 = 1.
    crossed = variance_components({0: np.array([[1.0, 0.0], [0.0, 1.0]])})
    assert crossed == VarianceComponents(None, 0.0, 0.0, 1.0)
    # [[0, 1], [2, 2]]: seed means 0.5 / 2, problem means 1 / 1.5, residuals +-0.25:
    # MS_resid = 0.25, MS_seed = 2 * 2 * 0.75^2 = 2.25 -> seed (2.25 - 0.25) / 2 = 1;
    # MS_problem = 2 * 2 * 0.25^2 = 0.25 -> problem (0.25 - 0.25) / 2 = 0.
    both = variance_components({0: np.array([[0.0, 1.0], [2.0, 2.0]])})
    assert both == VarianceComponents(None, 1.0, 0.0, 0.25)
    # Two suites, the second shifted by 10: suite means 2.5 and 12.5, var (ddof 1) = 50,
    # minus what the inside explains: 2 / 2 + 0.5 / 2 + 0 = 1.25 -> 48.75.
    two = variance_components({0: np.array([[1.0, 2.0], [3.0, 4.0]]),
                               1: np.array([[11.0, 12.0], [13.0, 14.0]])})  # fmt: skip
    assert two.suite == pytest.approx(48.75) and two.seed == pytest.approx(2.0)


def test_seeds_needed_by_hand():
    # Seed variance 0.01 only, one suite: se = 0.1 / sqrt(S). 80% power at 5% two-sided for
    # an effect of 0.03 needs 0.03 / se >= 1.95996 + 0.84162 = 2.80158, i.e.
    # S >= (2.80158 * 0.1 / 0.03)^2 = 87.21 -> 88 seeds.
    seeds_only = VarianceComponents(None, 0.01, 0.0, 0.0)
    design = {"num_suites": 1, "num_problems": 100}
    assert seeds_needed(seeds_only, 0.03, **design) == 88
    assert power(seeds_only, 0.03, num_seeds=87, **design) < 0.8
    assert power(seeds_only, 0.03, num_seeds=88, **design) >= 0.8
    # Residual 0.25, two suites of 100 problems: se^2 = 0.25 / (200 S); effect 0.05 needs
    # S >= (2.80158 / 0.05)^2 * 0.00125 = 3.92 -> 4.
    noise = VarianceComponents(0.0, 0.0, 0.0, 0.25)
    assert seeds_needed(noise, 0.05, num_suites=2, num_problems=100) == 4
    # No effect: power is the test's level; suite variance alone too big: unreachable.
    assert power(noise, 0.0, num_suites=2, num_seeds=3, num_problems=100) == pytest.approx(0.05)
    suites = VarianceComponents(0.01, 0.0, 0.0, 0.0)
    assert seeds_needed(suites, 0.03, num_suites=1, num_problems=100) is None
