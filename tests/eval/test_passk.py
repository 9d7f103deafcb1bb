"""pass@k against the closed form 1 - C(n-c, k) / C(n, k), and bootstrap intervals."""

from math import comb

import numpy as np
import pytest

from xlt.eval.passk import (
    bootstrap_ci,
    feasible_ks,
    mean_pass_at_k,
    paired_bootstrap_ci,
    pass_at_k,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 0, 1, 0.0),  # c = 0: never passes
        (10, 0, 10, 0.0),  # c = 0 and n = k
        (10, 1, 10, 1.0),  # n = k: any passing sample is drawn
        (5, 5, 5, 1.0),
        (10, 3, 1, 0.3),  # pass@1 = c / n
        (4, 2, 2, 1 - 1 / 6),  # 1 - C(2,2)/C(4,2), by hand
        (5, 1, 2, 1 - 6 / 10),  # 1 - C(4,2)/C(5,2) = 0.4
    ],
)
def test_pass_at_k_hand_checked(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_closed_form_everywhere():
    for n in range(1, 21):
        for c in range(n + 1):
            for k in range(1, n + 1):
                closed = 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(closed, abs=1e-12), (n, c, k)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 5)
    with pytest.raises(ValueError, match="c <= n"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="zero problems"):
        mean_pass_at_k([], 1)


def test_mean_and_feasible_ks():
    counts = [(10, 10), (10, 0), (20, 5)]
    assert mean_pass_at_k(counts, 1) == pytest.approx((1 + 0 + 0.25) / 3)
    assert feasible_ks(counts) == [1, 10]
    assert feasible_ks([(1, 0)]) == [1]


def test_bootstrap_interval_covers_mean_and_shrinks_with_more_problems():
    rng = np.random.default_rng(1)
    small = rng.random(20) < 0.4
    large = rng.random(2000) < 0.4
    lo_s, hi_s = bootstrap_ci(small, seed=0)
    lo_l, hi_l = bootstrap_ci(large, seed=0)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 4
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)  # no spread: a point
    assert bootstrap_ci(small, seed=3) == bootstrap_ci(small, seed=3)  # seeded


def test_paired_bootstrap_sees_consistent_small_gains():
    before = np.linspace(0, 1, 200)
    after = before + 0.02  # every problem improves a little
    lo, hi = paired_bootstrap_ci(after, before)
    assert lo == pytest.approx(0.02) and hi == pytest.approx(0.02)
    lo_u, _ = bootstrap_ci(after - 0.5)  # unpaired spread would be wide
    assert lo_u < 0


# --- the interval's level: compared with numbers computed outside xlt.eval.passk ----------


def _resampled_means(values, num_samples, seed):
    """The percentile bootstrap's resampled means, drawn as documented: problems with
    replacement, `num_samples` x `len(values)` indices from `default_rng(seed)`."""
    values = np.asarray(values, dtype=float)
    index = np.random.default_rng(seed).integers(0, values.size, size=(num_samples, values.size))
    return values[index].mean(axis=1)


@pytest.mark.parametrize("level", [0.95, 0.9, 0.5])
def test_bootstrap_interval_is_the_central_percentiles_of_the_resamples(level):
    values = np.random.default_rng(7).random(37)
    means = _resampled_means(values, 500, seed=11)
    tail = (1 - level) / 2
    expected = np.percentile(means, [100 * tail, 100 * (1 - tail)])
    assert bootstrap_ci(values, num_samples=500, seed=11, level=level) == pytest.approx(expected)
    # The default level is 95%.
    if level == 0.95:
        assert bootstrap_ci(values, num_samples=500, seed=11) == pytest.approx(expected)


def test_paired_interval_resamples_the_differences_together():
    rng = np.random.default_rng(3)
    before = rng.random(25)
    after = before + rng.normal(0.05, 0.1, 25)
    means = _resampled_means(after - before, 400, seed=5)
    expected = np.percentile(means, [2.5, 97.5])
    assert paired_bootstrap_ci(after, before, num_samples=400, seed=5) == pytest.approx(expected)


def test_95_percent_interval_width_matches_the_normal_approximation():
    # 0/1 outcomes with mean 1/2 over 400 problems: the mean's standard error is
    # sqrt(0.25 / 400) = 0.025, so a 95% interval is about 2 * 1.96 * 0.025 = 0.098 wide
    # (a 90% one 2 * 1.645 * 0.025 = 0.082); 4000 resamples put the estimate within ~0.004.
    values = np.tile([0.0, 1.0], 200)
    low, high = bootstrap_ci(values, num_samples=4000, seed=0)
    assert high - low == pytest.approx(0.098, abs=0.005)
    assert (low + high) / 2 == pytest.approx(0.5, abs=0.004)
    low90, high90 = bootstrap_ci(values, num_samples=4000, seed=0, level=0.9)
    assert high90 - low90 == pytest.approx(0.082, abs=0.005)


def test_defaults_and_empty_inputs():
    # The report relies on these defaults: 1000 resamples, seed 0, 95%.
    values = np.random.default_rng(2).random(15)
    assert bootstrap_ci(values) == bootstrap_ci(values, num_samples=1000, seed=0, level=0.95)
    assert paired_bootstrap_ci(values, values / 2) == paired_bootstrap_ci(
        values, values / 2, num_samples=1000, seed=0, level=0.95
    )
    assert feasible_ks([]) == []  # no problems: no k is feasible
    with pytest.raises(ValueError, match=r"^bootstrap of zero problems is undefined$"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match=r"^pass@k of zero problems is undefined$"):
        mean_pass_at_k([], 1)
    with pytest.raises(ValueError, match="equal shapes"):
        paired_bootstrap_ci([1.0, 2.0], [1.0])


def test_paired_interval_passes_its_level_through():
    rng = np.random.default_rng(4)
    before, after = rng.random(30), rng.random(30)
    means = _resampled_means(after - before, 300, seed=2)
    expected = np.percentile(means, [5, 95])
    got = paired_bootstrap_ci(after, before, num_samples=300, seed=2, level=0.9)
    assert got == pytest.approx(expected)
