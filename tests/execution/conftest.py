"""One executor for the execution tests: compile servers and build caches stay warm across tests."""

import pytest

from xlt.execution.engine import Executor
from xlt.execution.toolchains import resolve
from xlt.languages import LANGUAGES


@pytest.fixture(scope="session")
def executor(tmp_path_factory):
    # No result cache: every test must really run its programs.
    with Executor(
        workers=2, heavy_workers=2, cache_dir=tmp_path_factory.mktemp("exec"), use_cache=False
    ) as ex:
        yield ex


def require(*codes: str) -> None:
    """Skip unless these languages' toolchains are installed (`make toolchains` installs the CI tier)."""
    missing = [code for code in codes if not resolve(LANGUAGES[code]).present]
    if missing:
        pytest.skip(f"toolchain missing for {', '.join(missing)}: run `make toolchains`")
