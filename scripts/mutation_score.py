"""Per-module mutation score from mutmut's results (`make mutate` prints it last).

Reads the `mutants/**/*.py.meta` files mutmut 3 writes. Score = killed / (killed +
survived + no tests): a mutant no selected test reaches counts against the module, timeouts
count as killed (the mutant made a test loop). Exits 1 when the score over all modules is
under --min (per module, equivalent mutants weigh heavily in small files: docs/testing.md
lists every survivor).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}
COUNTED = KILLED | {"survived", "no tests"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="mutants")
    parser.add_argument("--min", type=float, default=0.0, help="fail under this score (0-100)")
    args = parser.parse_args(argv)
    total_killed = total_counted = 0
    print(
        f"{'module':32} {'killed':>6} {'survived':>8} {'no tests':>8} {'unchecked':>9} {'score':>6}"
    )
    for meta in sorted(Path(args.root).rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        statuses = [status_by_exit_code[code] for code in codes]
        killed = sum(s in KILLED for s in statuses)
        counted = sum(s in COUNTED for s in statuses)
        if not counted:
            continue  # not run this time
        score = 100 * killed / counted
        module = str(meta.relative_to(args.root)).removesuffix(".meta")
        print(f"{module:32} {killed:6} {statuses.count('survived'):8} {statuses.count('no tests'):8} "
              f"{statuses.count('not checked'):9} {score:5.1f}%")  # fmt: skip
        total_killed, total_counted = total_killed + killed, total_counted + counted
    if not total_counted:
        print("no mutation results under", args.root)
        return 1
    total = 100 * total_killed / total_counted
    print(f"{'all modules':32} {total_killed:6} {'':8} {'':8} {'':9} {total:5.1f}%")
    return int(total < args.min)


if __name__ == "__main__":
    sys.exit(main())
