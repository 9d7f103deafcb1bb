import math

import pytest

from xlt.train.schedule import warmup_cosine, warmup_cosine_lambda


def test_warmup_is_linear_then_cosine_reaches_floor():
    lam = warmup_cosine_lambda(warmup_steps=4, total_steps=14, min_lr_ratio=0.1)
    assert [lam(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lam(4) == 1.0  # cosine starts at the peak
    assert lam(9) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lam(14) == pytest.approx(0.1)
    assert lam(100) == pytest.approx(0.1)  # flat after the end
    values = [lam(s) for s in range(4, 15)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_no_warmup_starts_at_peak():
    assert warmup_cosine(0, 0, 10, 0.0) == 1.0


def test_rejects_warmup_longer_than_training():
    with pytest.raises(ValueError, match="lower warmup_steps"):
        warmup_cosine_lambda(20, 10, 0.1)
