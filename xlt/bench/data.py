"""Peak memory of the paper-scale data build on a synthetic 100k-row input, against a baseline.

    python -m xlt.bench.data                 # 100k submission rows (and 10k, to show it is flat)
    python -m xlt.bench.data --rows 20000    # a quicker look

Writes synthetic CodeForces tables in the Hub schemas (JSONL; 1 problem per 50
submissions, 8 official tests each, programs of ~1.5 kB) to a temporary folder, then in
fresh subprocesses measures the peak resident memory (VmHWM) of
- `streaming`: `xlt.data.codeforces.build.build` on those files, and
- `in-memory baseline`: the obvious alternative, reading both tables into lists and
  joining submissions to problems in a dict (what a non-streaming build must hold).
Both report the peak above the memory held right after imports, so the ratio compares
the data paths, not the libraries. Verification is replaced by a constant-time check
(a program passes when it carries the marker the generator put in correct ones): this
bench measures the data path's memory, not the execution engine's speed.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

SUBMISSIONS_PER_PROBLEM = 50
TESTS_PER_PROBLEM = 8
LANGUAGES = ("Python 3", "GNU C++17", "Java 8", "Go", "PHP 8.1", "Ruby 3", "Kotlin 1.7")
MARKER = "# verified-marker"


def write_synthetic(folder: Path, num_rows: int, seed: int = 0) -> None:
    """`num_rows` submission rows and num_rows / 50 problem rows, in the Hub schemas."""
    rng = random.Random(seed)
    num_problems = max(1, num_rows // SUBMISSIONS_PER_PROBLEM)
    (folder / "problems").mkdir(parents=True, exist_ok=True)
    (folder / "submissions").mkdir(exist_ok=True)
    with (folder / "problems" / "train.jsonl").open("w") as handle:
        for p in range(num_problems):
            words = " ".join(f"w{rng.randrange(10**6)}" for _ in range(150))
            tests = [
                {"input": " ".join(str(rng.randrange(10**9)) for _ in range(40)), "output": str(t)}
                for t in range(TESTS_PER_PROBLEM)
            ]
            row = {
                "id": f"{p}/A", "aliases": [], "contest_id": str(p), "contest_name": f"Round {p}",
                "contest_type": "CF", "contest_start": 0, "contest_start_year": 2020, "index": "A",
                "time_limit": 1.0, "memory_limit": 256.0, "title": f"Problem {p}",
                "description": words, "input_format": "n numbers", "output_format": "one number",
                "interaction_format": None, "note": None, "examples": tests[:1], "editorial": None,
                "rating": 800 + 100 * (p % 20), "tags": ["math"], "testset_size": len(tests),
                "official_tests": tests, "official_tests_complete": True, "input_mode": "stdio",
                "generated_checker": None, "executable": True, "generated_tests": 0,
            }  # fmt: skip
            handle.write(json.dumps(row) + "\n")
    with (folder / "submissions" / "train.jsonl").open("w") as handle:
        for s in range(num_rows):
            body = "\n".join(f"x{i} = {rng.randrange(10**9)}" for i in range(90))
            correct = rng.random() < 0.8
            row = {
                "submission_id": str(s), "source": (MARKER + "\n" if correct else "") + body,
                "contestId": str(s % num_problems), "problem_index": "A",
                "programmingLanguage": rng.choice(LANGUAGES), "verdict": "OK", "testset": "TESTS",
                "passedTestCount": 8.0, "timeConsumedMillis": 15.0, "memoryConsumedBytes": 1e6,
                "creationTimeSeconds": 1.6e9 + s, "problem_id": f"{s % num_problems}/A",
            }  # fmt: skip
            handle.write(json.dumps(row) + "\n")


_STREAMING = """
import json, sys
from pathlib import Path
from xlt.data.codeforces.build import BuildParams, build
from xlt.data.codeforces.load import TableSource
from xlt.execution.types import Result
def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
marker = sys.argv[3]
def run_jobs(jobs):  # constant-time stand-in for execution: see the module docstring
    return [Result(j.id, "ok" if j.program.startswith(marker) else "wrong_answer") for j in jobs]
params = BuildParams(
    train_problems=TableSource(str(folder / "problems" / "train.jsonl")),
    submissions=TableSource(str(folder / "submissions")),
    eval_problems=None,
    languages=("py", "cpp", "java", "go", "php", "rb"),
    held_out=("go", "php", "rb"),
)
base = rss_kb("VmRSS")
manifest = build(params, out, run_jobs=run_jobs, progress=True)
print(json.dumps({"base_kb": base, "peak_kb": rss_kb("VmHWM"),
                  "rows": manifest["accounting"]["submissions"]["read"],
                  "parallel": manifest["counts"]["parallel"]}))
"""

_BASELINE = """
import json, sys
from collections import defaultdict
from pathlib import Path
import xlt.data.codeforces.build  # the same imports as the streaming run
def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
folder = Path(sys.argv[1])
base = rss_kb("VmRSS")
problems = {r["id"]: r for r in map(json.loads, open(folder / "problems" / "train.jsonl"))}
by_problem = defaultdict(list)
rows = 0
for row in map(json.loads, open(folder / "submissions" / "train.jsonl")):
    by_problem[row["problem_id"]].append(row)
    rows += 1
print(json.dumps({"base_kb": base, "peak_kb": rss_kb("VmHWM"), "rows": rows,
                  "parallel": sum(map(len, by_problem.values()))}))
"""


def _measure(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    print(f"{'rows':>8} {'file MB':>8} {'streaming MB':>13} {'in-memory MB':>13} {'ratio':>6}")
    for num_rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "data"
            write_synthetic(folder, num_rows)
            size_mb = sum(f.stat().st_size for f in folder.rglob("*.jsonl")) / 2**20
            stream = _measure(_STREAMING, str(folder), str(Path(tmp) / "out"), MARKER)
            baseline = _measure(_BASELINE, str(folder))
        assert stream["rows"] == baseline["rows"] == num_rows
        stream_mb = (stream["peak_kb"] - stream["base_kb"]) / 1024
        base_mb = (baseline["peak_kb"] - baseline["base_kb"]) / 1024
        print(
            f"{num_rows:>8} {size_mb:>8.1f} {stream_mb:>13.1f} {base_mb:>13.1f} "
            f"{base_mb / max(stream_mb, 1e-9):>6.1f}"
            f"   (peak RSS: streaming {stream['peak_kb'] / 1024:.0f} MB, "
            f"baseline {baseline['peak_kb'] / 1024:.0f} MB; {stream['parallel']} verified programs)"
        )


if __name__ == "__main__":
    main()
