"""The primary endpoint and the secondary family on small hand-made result files."""

from __future__ import annotations

import numpy as np
import pytest

from xlt.eval.contrast import mixture_contrasts
from xlt.eval.endpoints import EndpointSpec, primary_endpoint, secondary_endpoints
from xlt.eval.matrix import build_matrix
from xlt.eval.stats import holm

from .test_matrix import N, _row, _source

# Counts of passing samples (of N = 4) per task 0..5, py the RL source, js and lua targets.
PRE = {"py": [0, 1, 2, 1, 0, 3], "js": [1, 1, 2, 0, 3, 2], "lua": [0, 2, 1, 1, 0, 1]}
POST = {  # after RL: (mixture, language) -> counts
    ("parallel", "py"): [4, 3, 4, 2, 2, 4], ("parallel", "js"): [2, 3, 2, 1, 4, 3],
    ("parallel", "lua"): [1, 2, 2, 1, 1, 2],
    ("multilingual", "py"): [3, 3, 4, 2, 1, 4], ("multilingual", "js"): [1, 1, 1, 0, 3, 2],
    ("multilingual", "lua"): [1, 2, 1, 0, 0, 1],
}  # fmt: skip


def _sources(tmp_path, post=POST):
    sources = []
    for mixture in ("parallel", "multilingual"):
        pre = {lang: dict(enumerate(counts)) for lang, counts in PRE.items()}
        after = {lang: dict(enumerate(post[(mixture, lang)])) for lang in PRE}
        sources.append(_source(tmp_path / f"{mixture}_pre", _row("pre_rl", mixture), pre))
        sources.append(_source(tmp_path / f"{mixture}_post", _row("post_rl", mixture), after))
    return sources


def _hand_delta_delta(language, post=POST):
    """Mean over tasks of (parallel post - pre) - (multilingual post - pre); pre cancels."""
    ref = np.array(post[("parallel", language)]) / N
    other = np.array(post[("multilingual", language)]) / N
    return float(np.mean(ref - other))


def test_primary_endpoint_is_the_mean_delta_delta_over_the_zero_shot_targets(tmp_path):
    matrix = build_matrix(_sources(tmp_path), num_bootstrap=50)
    (result,) = primary_endpoint(matrix, num_bootstrap=400)
    assert result.targets == ("js", "lua")  # every language but the RL source (py)
    # js: (1 + 2 + 1 + 1 + 1 + 1) / 6 / 4 = 7/24; lua: (0 + 0 + 1 + 1 + 1 + 1) / 24 = 4/24.
    assert _hand_delta_delta("js") == pytest.approx(7 / 24)
    assert _hand_delta_delta("lua") == pytest.approx(4 / 24)
    expected = (_hand_delta_delta("js") + _hand_delta_delta("lua")) / 2
    assert result.value == pytest.approx(expected)
    assert result.ci[0] <= result.value <= result.ci[1]
    # TOST reads the 90% interval: inside the 95% one, here strictly at the lower end (the
    # upper end is the largest per-task value, 0.25, in both).
    assert result.ci[0] < result.ci90[0] <= result.ci90[1] <= result.ci[1] == 0.25
    assert (result.num_tasks, result.num_seeds, result.num_suites) == (6, 1, 1)
    assert result.equivalent is False and result.p_value < 0.05  # +23 points, every task > 0
    only_js = primary_endpoint(matrix, EndpointSpec(targets=("js",)), num_bootstrap=100)
    assert only_js[0].value == pytest.approx(7 / 24)


def test_identical_mixtures_are_equivalent_within_the_bound(tmp_path):
    same = {(mixture, lang): counts for (_, lang), counts in POST.items()
            for mixture in ("parallel", "multilingual")}  # fmt: skip
    matrix = build_matrix(_sources(tmp_path, same), num_bootstrap=50)
    (result,) = primary_endpoint(matrix, num_bootstrap=200)
    assert result.value == 0 and result.ci90 == (0.0, 0.0)
    assert result.equivalent is True and result.p_value == 1.0


def test_no_primary_endpoint_without_its_rows(tmp_path):
    matrix = build_matrix(_sources(tmp_path), num_bootstrap=50)
    assert primary_endpoint(matrix, EndpointSpec(rl_source="js")) == []
    assert primary_endpoint(matrix, EndpointSpec(other="monolingual")) == []


def test_secondary_endpoints_are_holm_adjusted_as_one_family(tmp_path):
    matrix = build_matrix(_sources(tmp_path), num_bootstrap=50)
    contrasts = mixture_contrasts(matrix, num_bootstrap=300)
    secondary = secondary_endpoints(contrasts)
    assert [s.contrast.language for s in secondary] == ["js", "lua", "py"]
    raw = [s.contrast.p_value for s in secondary]
    assert [s.p_holm for s in secondary] == pytest.approx(holm(raw))
    assert all(s.p_holm >= s.contrast.p_value for s in secondary)
