"""Command line for the execution engine.

    python -m xlt.execution run --input jobs.jsonl --output results.jsonl [--workers N]
    python -m xlt.execution sweep --languages py cpp --benchmarks humaneval-x mbxp [--limit 50]

`run`: a job line is {"id", "language", "program", "mode": "tests"|"io",
"cases": [{"stdin", "expected"}]?, "timeout_s"?, "float_tolerance"?}; a result
line is {"id", "status", "exit_code", "stdout", "stderr", "compile_s", "run_s",
"cases_passed", "cases_total"}. A malformed line gets an `invalid_job` result
naming the problem; the other lines still run. `--input -` reads the jobs from stdin,
which keeps their path off the command line: run as root, the command refuses io-mode
jobs from a file that sandboxed programs could read (see docs/execution.md).

`sweep`: canonical solutions must pass and default-returning ones must fail;
prints pass rates per language with every unexpected id and its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from pathlib import Path

from xlt.execution import types as T
from xlt.execution.engine import Executor
from xlt.execution.sandbox import can_drop_privileges
from xlt.languages import CI_LANGUAGES

_RESULT_FIELDS = ("id", "status", "exit_code", "stdout", "stderr", "compile_s", "run_s",
                  "cases_passed", "cases_total")  # fmt: skip


_FIELDS = {"id", "language", "program", "mode", "cases", "timeout_s", "float_tolerance"}


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, and no field may hold them.
    raise ValueError(f"{name} is not a JSON value")


def _cases(value: object) -> tuple[T.Case, ...] | str:
    """The `cases` of a record, or the reason they are malformed (types are checked later)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return f"cases must be a list, got {type(value).__name__}"
    cases = []
    for index, case in enumerate(value):
        if not isinstance(case, dict) or set(case) != {"stdin", "expected"}:
            return f'cases[{index}] must be an object with exactly "stdin" and "expected"'
        cases.append(T.Case(stdin=case["stdin"], expected=case["expected"]))
    return tuple(cases)


def parse_job(line: str, number: int) -> T.Job | str:
    """A Job, or the reason the line is not one. Values are taken as they are (no str()):
    `xlt.execution.validate.invalid_reason` checks their types when the job is run."""
    try:
        record = json.loads(line, parse_constant=_reject_constant)
    except ValueError as error:
        return f"line {number}: not JSON ({error})"
    if not isinstance(record, dict):
        return f"line {number}: expected a JSON object"
    unknown = set(record) - _FIELDS
    if unknown:
        return f"line {number}: unknown fields {sorted(unknown)}"
    missing = sorted({"language", "program"} - set(record))
    if missing:
        return f"line {number}: missing or bad field {missing[0]!r}"
    job_id = record.get("id", f"line{number}")
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        job_id = str(job_id)  # a numeric id is common in JSONL; results carry it as text
    cases = _cases(record.get("cases"))
    if isinstance(cases, str):
        return f"line {number}: {cases}"
    return T.Job(language=record["language"], program=record["program"], mode=record.get("mode", "tests"),
                 cases=cases, timeout_s=record.get("timeout_s"), id=job_id,
                 float_tolerance=record.get("float_tolerance"))  # fmt: skip


def read_jobs(raw: bytes) -> list[tuple[int, T.Job | str]]:
    """(line number, Job or reason) for every non-blank line. Lines are split on the newline
    byte only: str.splitlines() would also split on U+2028, which JSON allows inside
    strings, and one byte that is not UTF-8 must spoil its own line, not the whole file."""
    parsed = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = f"byte {line[error.start]:#04x} at column {error.start + 1}"
            parsed.append((number, f"line {number}: not UTF-8 ({byte})"))
            continue
        parsed.append((number, parse_job(text, number)))
    return parsed


def readable_by_others(path: Path) -> bool:
    """Whether a user with no claim on `path` (a sandbox slot uid) can read it: the file
    is readable by others and every folder above it searchable by others."""
    target = path.resolve()
    folders_open = all(os.stat(folder).st_mode & stat.S_IXOTH for folder in target.parents)
    return folders_open and bool(os.stat(target).st_mode & stat.S_IROTH)


def _exposed_answers(args: argparse.Namespace, jobs: list[T.Job]) -> str | None:
    """Why running these jobs would hand programs their expected outputs, or None. The
    judge's command line (with --input) is world-readable in /proc: a program that reads
    the file it names prints the expected output and passes."""
    if args.input == "-" or not can_drop_privileges():  # without root nothing is private
        return None
    if not any(job.mode == "io" for job in jobs) or not readable_by_others(Path(args.input)):
        return None
    return (
        f"xlt.execution: refusing to run: {args.input} holds io-mode expected outputs and is "
        "readable by sandboxed programs, which can find its path in this command line "
        f"(/proc/<pid>/cmdline). Make it private (chmod o-r {args.input}, or put it in a "
        "folder of mode 0700) or pass the jobs on stdin: --input -"
    )


def _run(args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    parsed = read_jobs(raw)
    jobs = [job for _, job in parsed if isinstance(job, T.Job)]
    exposed = _exposed_answers(args, jobs)
    if exposed:
        print(exposed, file=sys.stderr)
        return 2
    with Executor(workers=args.workers, heavy_workers=args.heavy_workers, cache_dir=args.cache_dir,
                  use_cache=not args.no_cache, network_isolation=args.network_isolation) as executor:  # fmt: skip
        results = iter(executor.run(jobs, progress=args.progress))
    with open(args.output, "w", encoding="utf-8") as out:
        for number, job in parsed:
            if isinstance(job, T.Job):
                result = next(results)
            else:
                result = T.Result(
                    id=f"line{number}", status=T.INVALID_JOB, stderr=job, cases_total=0
                )
            out.write(json.dumps({k: getattr(result, k) for k in _RESULT_FIELDS}) + "\n")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    # The sweep is a command-line entry point over benchmark data; the engine never imports data.
    from xlt.data import controls

    failures = 0
    if args.multipl_e:
        return _multipl_e_negatives(args)
    with Executor(workers=args.workers, heavy_workers=args.heavy_workers, cache_dir=args.cache_dir,
                  use_cache=not args.no_cache) as executor:  # fmt: skip
        for language in args.languages:
            for benchmark in args.benchmarks:
                try:
                    problems = controls.canonical_problems(benchmark, language)[: args.limit]
                except ValueError:
                    continue  # the benchmark has no such language
                if not problems:
                    continue
                start = time.perf_counter()
                good = executor.run(controls.good_jobs(problems), progress=args.progress)
                wrong = executor.run(controls.wrong_jobs(problems), progress=args.progress)
                seconds = time.perf_counter() - start
                passed = [r for r in good if r.passed]
                caught = [r for r in wrong if not r.passed]
                kinds = {s: sum(r.status == s for r in wrong) for s in T.STATUSES}
                print(f"{benchmark:12} {language:5} canonical {len(passed)}/{len(good)} "
                      f"({100 * len(passed) / len(good):.1f}%)  wrong rejected {len(caught)}/{len(wrong)} "
                      f"{ {k: v for k, v in kinds.items() if v} }  {seconds:.0f}s")  # fmt: skip
                for r in good:
                    if not r.passed:
                        print(
                            f"    FAIL {r.id}: {r.status} (exit {r.exit_code}): {(r.stderr or r.stdout).strip()[:300]!r}"
                        )
                for r in wrong:
                    if r.passed:
                        print(f"    WRONG-PASSED {r.id}")
                failures += len(good) - len(passed) + len(wrong) - len(caught)
                sys.stdout.flush()
    return 0 if failures == 0 else 1


def _multipl_e_negatives(args: argparse.Namespace) -> int:
    """MultiPL-E HumanEval prompts + tests with an empty or a default-returning completion."""
    from xlt.data import controls

    leaked = 0
    with Executor(workers=args.workers, heavy_workers=args.heavy_workers, cache_dir=args.cache_dir,
                  use_cache=not args.no_cache) as executor:  # fmt: skip
        for language in args.languages:
            empty, wrong = controls.multipl_e_negative_jobs(language)
            limit = args.limit or len(empty)
            results = executor.run(empty[:limit] + wrong[:limit], progress=args.progress)
            passed = [r.id for r in results if r.passed]
            kinds = {s: sum(r.status == s for r in results) for s in T.STATUSES}
            print(f"multipl-e    {language:5} {len(results) - len(passed)}/{len(results)} rejected "
                  f"{ {k: v for k, v in kinds.items() if v} }  passed: {passed}")  # fmt: skip
            leaked += len(passed)
            sys.stdout.flush()
    return 0 if leaked == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlt.execution", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "sweep"):
        p = sub.add_parser(name)
        p.add_argument("--workers", type=int, default=0, help="0: one per CPU core")
        p.add_argument("--heavy-workers", type=int, default=1)
        p.add_argument("--cache-dir", default=None)
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("--progress", action="store_true")
    run = sub.choices["run"]
    run.add_argument("--input", required=True, help="a JSONL file, or - for stdin")
    run.add_argument("--output", required=True)
    run.add_argument("--network-isolation", default="auto", choices=("auto", "on", "off"))
    sweep = sub.choices["sweep"]
    sweep.add_argument("--languages", nargs="+", default=list(CI_LANGUAGES))
    sweep.add_argument("--benchmarks", nargs="+", default=["humaneval-x", "mbxp"])
    sweep.add_argument("--limit", type=int, default=None, help="first N problems per benchmark")
    sweep.add_argument("--multipl-e", action="store_true",
                       help="instead: MultiPL-E prompts with empty/wrong completions must fail")  # fmt: skip
    args = parser.parse_args(argv)
    return _run(args) if args.command == "run" else _sweep(args)


if __name__ == "__main__":
    sys.exit(main())
