"""Benchmark: xlt's execution engine against a MultiPL-E-style reference harness.

    python -m xlt.bench.execution [--per-language 40] [--languages py cpp ...] [--workers 0] [--offset 1]

Both run the same programs in one process run (HumanEval-X/MBXP canonical
solutions; for sh, pl and lua, which have none, MultiPL-E prompts with a
default-returning completion). The reference does what MultiPL-E's evaluator
does: one program after another, each compiled and run by a fresh `subprocess`
(no sandbox, no cache, no precompiled header, one `javac`/`tsc` per program; Go
keeps one build cache for the whole run, as MultiPL-E's container does, and runs
`go test FILE` where xlt builds and runs the test binary in two steps). Both
judge with the same pass rules, so their verdicts must agree: any disagreement
is printed and makes the exit status 1.

Printed: per language, programs per second of each and the ratio (wall clock)
and the CPU-time ratio (user+sys of all child processes: steadier when other
work shares the machine); the overall ratio; a repeated batch served from the
result cache; and xlt's per-program overhead over starting the bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xlt.data import controls
from xlt.execution import judge
from xlt.execution.engine import Executor
from xlt.execution.sandbox import Outcome
from xlt.execution.toolchains import javatuples_jar, resolve
from xlt.execution.types import Job
from xlt.languages import CI_LANGUAGES, LANGUAGES

REFERENCE_TIMEOUT_S = 15.0  # MultiPL-E's safe_subprocess default
# Languages that xlt runs in other steps than MultiPL-E's evaluator: the reference keeps
# MultiPL-E's (compile argv, run argv, run-output markers of a failed build).
MULTIPL_E_STEPS = {"go": ((), ("go", "test", "{src}"), ("[setup failed]", "[build failed]"))}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample_jobs(language: str, count: int, offset: int = 0) -> list[Job]:
    """`count` programs spread over the language's canonical solutions; `offset` shifts
    the sample to programs the default one (offset 0, which the engine was tuned on)
    does not hold."""
    jobs: list[Job] = []
    for benchmark in ("humaneval-x", "mbxp"):
        try:
            problems = controls.canonical_problems(benchmark, language)
        except ValueError:
            continue
        jobs += controls.good_jobs(problems, tag=f"{benchmark}:")
    if not jobs:  # no canonical solutions in this language
        jobs = controls.multipl_e_negative_jobs(language)[1]
    step = max(1, len(jobs) // count)
    return jobs[offset % step :: step][:count]


def _reference_values(language, toolchain, program: str) -> dict[str, tuple[str, ...]]:
    values = {"src": (language.source,), "pch": (), "classpath": (javatuples_jar() or ".",),
              "heap_mb": ("4096",)}  # fmt: skip
    if "rustc" in toolchain.paths:  # crates as xlt builds them (no PCH-like speed-up involved)
        from xlt.execution.accel import RustCrates

        values.update(
            RustCrates(
                toolchain.paths["rustc"], Path(tempfile.gettempdir()) / "xlt-bench-shared"
            ).vars(program)
        )
    values.update(language.argv_vars(program))
    return values


def reference_run(job: Job, go_cache: Path) -> str:
    """One job the MultiPL-E way; returns the status."""
    from xlt.execution.runner import expand

    language = LANGUAGES[job.language]
    toolchain = resolve(language)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / language.source).write_text(job.program)
        values = _reference_values(language, toolchain, job.program)
        env = {**os.environ, **language.env, "GOCACHE": str(go_cache)}
        compile_argv, run_argv, build_failed = MULTIPL_E_STEPS.get(
            job.language, (language.compile, language.run, ())
        )
        if compile_argv:
            argv = expand(compile_argv, values, toolchain.paths)
            try:
                done = subprocess.run(argv, cwd=work, env=env, capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                return "timeout"
            if done.returncode != 0:
                return "compile_error"
        argv = expand(run_argv, values, toolchain.paths)
        start = time.perf_counter()
        try:
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, timeout=REFERENCE_TIMEOUT_S + 30,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
        except subprocess.TimeoutExpired:
            return "timeout"
        code = done.returncode
        if any(marker.encode() in done.stdout for marker in build_failed):
            return "compile_error"
        outcome = Outcome(exit_code=code if code >= 0 else None, signal=-code if code < 0 else None,
                          timed_out=False, file_limit=False, wall_s=time.perf_counter() - start,
                          stdout=done.stdout.decode(errors="replace"),
                          stderr=done.stderr.decode(errors="replace"), stdout_bytes=len(done.stdout))  # fmt: skip
        return judge.tests_status(language, outcome)


def overhead_ms(executor: Executor, repeats: int = 40) -> dict[str, float]:
    """Per-program cost of a trivial Python program, sequential: started bare with
    `subprocess.run` vs through xlt. Wall clock, and CPU time (this process plus
    its children: what the work costs, whatever else shares the cores)."""
    python = resolve(LANGUAGES["py"]).paths["python3"]

    def clocks() -> tuple[float, float]:
        return time.perf_counter(), time.process_time() + _children_cpu_s()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "main.py"
        path.write_text("pass\n")
        wall0, cpu0 = clocks()
        for _ in range(repeats):
            subprocess.run([python, str(path)], check=True)
        wall1, cpu1 = clocks()
    jobs = [Job("py", f"pass  # {i} {time.time()}\n", id=str(i)) for i in range(repeats)]
    for job in jobs:  # one at a time, like the bare loop
        executor.run([job])
    wall2, cpu2 = clocks()
    ms = 1000 / repeats
    return {"bare_wall": (wall1 - wall0) * ms, "xlt_wall": (wall2 - wall1) * ms,
            "bare_cpu": (cpu1 - cpu0) * ms, "xlt_cpu": (cpu2 - cpu1) * ms}  # fmt: skip


def _compare_language(code: str, jobs, executor, go_cache, totals: dict) -> int:
    """Time one language's jobs under the reference harness and xlt, print the line, add
    to `totals`; returns the number of verdict disagreements."""
    cpu0, start = _children_cpu_s(), time.perf_counter()
    ref = [reference_run(job, go_cache) for job in jobs]
    ref_s, ref_cpu = time.perf_counter() - start, _children_cpu_s() - cpu0
    cpu0, start = _children_cpu_s(), time.perf_counter()
    ours = executor.run(jobs)
    xlt_s, xlt_cpu = time.perf_counter() - start, _children_cpu_s() - cpu0
    bad = [(j.id, r, o.status) for j, r, o in zip(jobs, ref, ours, strict=True) if r != o.status]
    passed = sum(o.passed for o in ours)
    # Compile servers are reaped only at close: their CPU shows up in the overall line.
    print(f"{code:6} {len(jobs):4} {len(jobs) / ref_s:10.2f} {len(jobs) / xlt_s:10.2f} {ref_s / xlt_s:7.2f} "
          f"{ref_cpu / max(xlt_cpu, 1e-9):7.2f}  {passed}/{len(jobs)} ok, {len(bad)} differ")  # fmt: skip
    for job_id, r, o in bad:
        print(f"    DIFFER {job_id}: reference {r}, xlt {o}")
    sys.stdout.flush()
    totals["ref_s"] += ref_s
    totals["xlt_s"] += xlt_s
    totals["ref_cpu"] += ref_cpu
    totals["n"] += len(jobs)
    return len(bad)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--languages", nargs="+", default=list(CI_LANGUAGES))
    parser.add_argument("--per-language", type=int, default=40)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--offset", type=int, default=0,
                        help="sample other programs (e.g. 1: ones the engine was not tuned on)")  # fmt: skip
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the per-program overhead"
    )
    args = parser.parse_args(argv)

    if args.overhead_only:
        with (
            tempfile.TemporaryDirectory() as cache_dir,
            Executor(workers=1, cache_dir=cache_dir) as executor,
        ):
            overhead_ms(executor, 5)  # warm-up
            print(overhead_ms(executor))
        return 0
    languages = [code for code in args.languages if resolve(LANGUAGES[code]).present]
    print(
        f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; languages: {' '.join(languages)}"
    )
    cache_dir = Path(tempfile.mkdtemp(prefix="xlt-bench-"))
    go_cache = cache_dir / "reference-gocache"
    executor = Executor(workers=args.workers, heavy_workers=args.workers or os.cpu_count() or 1,
                        cache_dir=cache_dir, use_cache=True)  # fmt: skip
    warm = [sample_jobs(code, 1)[0] for code in languages]  # start servers, build PCH and crates
    executor.run([Job(j.language, j.program + "\n", id="warm") for j in warm])
    for job in warm:
        reference_run(Job(job.language, job.program + "\n"), go_cache)

    totals = {"ref_s": 0.0, "xlt_s": 0.0, "ref_cpu": 0.0, "xlt_cpu": 0.0, "n": 0}
    all_jobs, disagreements = [], 0
    print(
        f"{'lang':6} {'n':>4} {'ref prog/s':>10} {'xlt prog/s':>10} {'wall x':>7} {'cpu x':>7}  verdicts"
    )
    for code in languages:
        jobs = sample_jobs(code, args.per_language, args.offset)
        all_jobs += jobs
        disagreements += _compare_language(code, jobs, executor, go_cache, totals)

    start = time.perf_counter()
    again = executor.run(all_jobs)
    cached_s = time.perf_counter() - start
    hits = sum(bool(r.extra.get("cached")) for r in again)
    overhead = overhead_ms(executor)
    cpu0 = _children_cpu_s()
    executor.close()  # reaps the compile servers, whose CPU time counts for xlt
    shutil.rmtree(cache_dir, ignore_errors=True)
    print(f"overall: {totals['n']} programs, reference {totals['ref_s']:.1f}s, xlt {totals['xlt_s']:.1f}s, "
          f"ratio {totals['ref_s'] / totals['xlt_s']:.2f}x (wall)")  # fmt: skip
    print(
        f"compile servers' CPU at close: {_children_cpu_s() - cpu0:.1f}s (not in the per-language cpu x)"
    )
    print(f"repeated batch from the cache: {cached_s:.2f}s for {len(all_jobs)} programs ({hits} hits), "
          f"{totals['xlt_s'] / cached_s:.0f}x faster than running them")  # fmt: skip
    print(f"overhead per trivial python program: wall {overhead['bare_wall']:.1f} ms bare, "
          f"{overhead['xlt_wall']:.1f} ms through xlt (+{overhead['xlt_wall'] - overhead['bare_wall']:.1f}); "
          f"CPU {overhead['bare_cpu']:.1f} ms bare, {overhead['xlt_cpu']:.1f} ms through xlt "
          f"(+{overhead['xlt_cpu'] - overhead['bare_cpu']:.1f})")  # fmt: skip
    print(f"# load average {os.getloadavg()[0]:.1f} at end; verdict disagreements: {disagreements}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
