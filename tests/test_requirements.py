"""The GPU requirements resolve: pip's resolver accepts requirements-gpu.txt as pinned.

vLLM pins transformers to a range in its wheel's metadata; a pin outside it made
`make setup-gpu` fail on every cluster while CPU CI stayed green. This asks pip's resolver
(no install: `--dry-run`) and checks the resolved set against vLLM's own declared range.
Needs the package index (CI has it; it is how `make setup` installs). ~40 s.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from xlt.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def pinned(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_pip_resolves_the_gpu_requirements_within_vllms_declared_ranges(tmp_path):
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), "-r", str(REPO_ROOT / "requirements-gpu.txt")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {
        item["metadata"]["name"].lower(): item["metadata"]
        for item in json.loads(report.read_text())["install"]
    }
    for name, version in pinned(REPO_ROOT / "requirements-gpu.txt").items():
        assert resolved[name]["version"] == version, name
    # transformers inside the range vLLM's metadata declares (not our reading of it)
    needs = [Requirement(r) for r in resolved["vllm"].get("requires_dist", [])]
    spec = next(r.specifier for r in needs if r.name == "transformers" and not r.marker)
    assert resolved["transformers"]["version"] in spec, spec
