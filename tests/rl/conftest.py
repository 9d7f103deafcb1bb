"""Fixtures for the RL tests: a tiny model pretrained on the constant task, and the executor."""

from __future__ import annotations

import pytest

from tests.rl.helpers import pretrain_constant_model
from xlt.execution import execute_async as engine_execute_async


@pytest.fixture(scope="session")
def pretrained_dir(tmp_path_factory):
    return pretrain_constant_model(tmp_path_factory.mktemp("pretrained") / "model")


@pytest.fixture(scope="session")
def execute_async():
    # The real engine, imported at module level: a missing export fails collection loudly
    # instead of swapping in a stand-in that would let every RL test pass without it.
    return engine_execute_async
