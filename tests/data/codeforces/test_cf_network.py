"""The real Hub tables at the pinned revisions: a few rows, checked against our schemas.

Marked `network`; skipped, with the reason printed, where the Hub cannot be reached
(this project's CI and sandboxes have no route to it).
"""

from __future__ import annotations

import itertools
import socket

import pytest

from xlt.config import CodeforcesDataConfig
from xlt.data.codeforces import schema
from xlt.data.codeforces.accounting import Accounting
from xlt.data.codeforces.load import iter_table
from xlt.data.codeforces.problems import from_row

HUB_HOST = "huggingface.co"


def _hub_unreachable_reason() -> str | None:
    try:
        socket.create_connection((HUB_HOST, 443), timeout=5).close()
    except OSError as error:
        return f"the Hugging Face Hub ({HUB_HOST}:443) is unreachable: {error}"
    return None


@pytest.fixture
def online(monkeypatch):
    reason = _hub_unreachable_reason()
    if reason:
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    # tests/conftest.py sets the offline switches for every other test; lift them here.
    import datasets
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False, raising=False)


@pytest.mark.network
def test_a_few_hub_rows_match_the_documented_schemas(online):
    from xlt.stages.data_paper import sources

    train, _, submissions = sources(CodeforcesDataConfig())
    accounting = Accounting()
    problems = list(itertools.islice(iter_table(train, accounting, "problems"), 3))
    assert len(problems) == 3
    for row in problems:
        assert set(schema.PROBLEM_FEATURES) - schema.OPTIONAL_PROBLEM_FIELDS <= set(row)
        if schema.check_problem_row(row) is None:
            assert from_row(row).cases
    subs = list(itertools.islice(iter_table(submissions, accounting, "submissions"), 3))
    assert len(subs) == 3
    for row in subs:
        assert set(schema.SUBMISSION_FEATURES) <= set(row)
        assert "/" in schema.submission_problem_id(row)
