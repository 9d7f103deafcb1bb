"""Fixtures for the RL tests: a tiny model pretrained on the constant task, and an executor."""

from __future__ import annotations

import pytest

from tests.rl.helpers import pretrain_constant_model, python_only_execute_async


@pytest.fixture(scope="session")
def pretrained_dir(tmp_path_factory):
    return pretrain_constant_model(tmp_path_factory.mktemp("pretrained") / "model")


@pytest.fixture(scope="session")
def execute_async():
    try:
        from xlt.execution import execute_async as engine
    except ImportError:
        return python_only_execute_async
    return engine
