"""The device smoke script (scripts/smoke_gpu.py) runs end to end on CPU at tiny size, so it
cannot drift from the code it drives before the next GPU session finds out."""

import subprocess
import sys

import pytest

from tests.launch_env import fresh_process_env
from xlt.paths import REPO_ROOT


@pytest.mark.slow
def test_smoke_script_tiny_cpu_passes():
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "smoke_gpu.py"), "--cpu", "--tiny"],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, env=fresh_process_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SMOKE OK" in done.stdout
    assert "grpo step 2" in done.stdout and "(falls)" in done.stdout
