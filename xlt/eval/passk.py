"""The unbiased pass@k estimator and bootstrap intervals: pure functions of counts.

pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code",
eq. 1): with n samples of which c pass, the probability that at least one of k
samples drawn without replacement passes is

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i)

(the product form is the numerically stable one the paper gives). A benchmark's
pass@k is the mean over problems.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with `n` samples of which `c` passed."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n samples, got n={n}")
    if n - c < k:  # every draw of k samples contains a passing one
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """pass@k of a benchmark: the mean over problems of `pass_at_k(n, c, k)`; counts = [(n, c)]."""
    if not counts:
        raise ValueError("pass@k of zero problems is undefined")
    return float(np.mean([pass_at_k(n, c, k) for n, c in counts]))


def feasible_ks(counts: Sequence[tuple[int, int]], ks: Sequence[int] = (1, 10, 100)) -> list[int]:
    """The ks that every problem has enough samples for."""
    fewest = min((n for n, _ in counts), default=0)
    return [k for k in ks if k <= fewest]


def bootstrap_ci(
    values_P: Sequence[float], *, num_samples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem values (problems resampled)."""
    values_P = np.asarray(values_P, dtype=float)
    if values_P.size == 0:
        raise ValueError("bootstrap of zero problems is undefined")
    rng = np.random.default_rng(seed)
    index_SP = rng.integers(0, values_P.size, size=(num_samples, values_P.size))
    means_S = values_P[index_SP].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means_S, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_ci(
    after_P: Sequence[float],
    before_P: Sequence[float],
    *,
    num_samples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Interval of mean(after - before) over the same problems, resampled together."""
    after_P, before_P = np.asarray(after_P, dtype=float), np.asarray(before_P, dtype=float)
    if after_P.shape != before_P.shape:
        raise ValueError(
            f"paired values need equal shapes, got {after_P.shape} and {before_P.shape}"
        )
    return bootstrap_ci(after_P - before_P, num_samples=num_samples, seed=seed, level=level)
