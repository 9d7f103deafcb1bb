"""Score completions made elsewhere against a benchmark's tests.

    python -m xlt.eval.score --benchmark multipl-e --data ../shared/benchmarks/multipl-e-humaneval \\
        --language lua --completions samples.jsonl --format completion --out scored/

A completions line is `{"name": ..., "completion": ...}`; several lines with one
name are several samples of that problem. `--format` says what a completion is: a
continuation of the prompt (`completion`), a chat model's free answer (`chat`), or
either, told apart per line (`auto`). Each sample's result holds `extracted_program`,
the whole program that ran. Writes `results/<language>.jsonl`
(one line per problem, every sample with its status) and `score.json` under
`--out`, and prints pass@1 (and pass@k for every k the sample counts allow).
Problems with no completion lines are left out of the score (and counted).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from xlt.data.benchmarks import BENCHMARKS, load_benchmark
from xlt.data.records import Problem
from xlt.eval.passk import feasible_ks
from xlt.eval.results import RESULTS_DIR, append_results, language_summary, results_path
from xlt.eval.scoring import FORMATS, score


def read_completions(path: str | Path, problems: Sequence[Problem]) -> dict[str, list[str]]:
    """Completions grouped by problem name, in file order; bad lines and unknown names raise."""
    known = {problem.name for problem in problems}
    grouped: dict[str, list[str]] = {}
    unknown: list[str] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                name, completion = record["name"], record["completion"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(
                    f'{path}:{number}: expected a JSON object {{"name", "completion"}} ({error})'
                ) from None
            if name not in known:
                unknown.append(name)
                continue
            grouped.setdefault(name, []).append(completion)
    if unknown:
        names = ", ".join(repr(name) for name in dict.fromkeys(unknown))
        example = next(iter(sorted(known)), "")
        raise ValueError(
            f"{path}: {len(unknown)} completion lines name problems not in the benchmark: "
            f"{names[:500]} (names look like {example!r})"
        )
    return grouped


def run_score(args: argparse.Namespace) -> dict:
    problems = load_benchmark(args.benchmark, args.language, root=args.data, revision=args.revision)
    grouped = read_completions(args.completions, problems)
    items = [(problem, grouped[problem.name]) for problem in problems if problem.name in grouped]
    if not items:
        raise ValueError(f"{args.completions}: no completion lines")
    results = score(
        items,
        fmt=args.format,
        workers=args.workers,
        cache_dir=args.cache_dir,
        timeout_s=args.timeout_s,
        progress=args.progress,
    )
    out = Path(args.out)
    path = results_path(out, args.language)
    path.unlink(missing_ok=True)  # a rerun replaces, never appends to, an earlier score
    append_results(path, results)
    ks = feasible_ks([(r.n, r.c) for r in results], args.k)
    summary = {
        "benchmark": args.benchmark,
        "language": args.language,
        "format": args.format,
        "completions": str(args.completions),
        "num_benchmark_problems": len(problems),
        "results": f"{RESULTS_DIR}/{path.name}",
        **language_summary(results, ks),
    }
    (out / "score.json").write_text(json.dumps(summary, indent=2))
    _print_summary(summary, ks, [r.name for r in results if r.c == 0])
    return summary


def _print_summary(summary: dict, ks: list[int], failed: list[str]) -> None:
    scored, total = summary["num_problems"], summary["num_benchmark_problems"]
    head = f"{summary['benchmark']}/{summary['language']}"
    print(f"{head}: {scored} problems scored ({summary['num_samples']} samples)")
    if scored < total:
        print(f"{head}: {total - scored} of the benchmark's {total} problems had no completions")
    for k in ks:
        value = summary[f"pass@{k}"]
        print(f"{head}: pass@{k} = {'missing' if value is None else f'{value:.4f}'}")
    if summary["missing"]:
        print(f"{head}: MISSING ({summary['missing']}): not a score of 0")
    print(f"{head}: statuses {json.dumps(summary['status_counts'], sort_keys=True)}")
    if failed:
        print(f"{head}: problems with no passing sample: {', '.join(failed[:20])}", end="")
        print(f" (+{len(failed) - 20} more)" if len(failed) > 20 else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xlt.eval.score", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--benchmark", required=True, help=f"one of {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--data",
        default=None,
        help="benchmark folder (or Hub id for multipl-e); default: shared benchmarks",
    )
    parser.add_argument("--revision", default=None, help="Hub revision (multipl-e from the Hub)")
    parser.add_argument(
        "--language", required=True, help="MultiPL-E language code, e.g. py, go, rs"
    )
    parser.add_argument("--completions", required=True, help='JSONL of {"name", "completion"}')
    parser.add_argument(
        "--format",
        default="completion",
        choices=FORMATS,
        help="completion: continues the prompt (cut at MultiPL-E stop sequences); chat: a "
        "chat answer (the language's chat rule, see docs/evaluation.md); auto: chat if the "
        "text has a fenced block or defines the function, else completion",
    )
    parser.add_argument(
        "--out", required=True, help="folder for results/<language>.jsonl and score.json"
    )
    parser.add_argument(
        "--k", type=int, nargs="+", default=[1, 10, 100], help="pass@k to report where n allows"
    )
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--timeout-s", type=float, default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--progress", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run_score(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"xlt.eval.score: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
