"""Where xlt finds data that does not live in the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Real benchmark files (MultiPL-E, HumanEval-X, MBXP) are read in place, never copied.
BENCHMARKS_DIR = Path(os.environ.get("XLT_BENCHMARKS", REPO_ROOT.parent / "shared" / "benchmarks"))
