"""Run one job: write it to its own folder, compile, run, judge. Never raises for the program.

The steps come from the language's table entry (`xlt.languages`); this module
has no per-language branches. `Runner.run(job, slot)` is called by the pool with
the worker slot it holds, which picks the slot's unprivileged uid and build cache.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from xlt.execution import accel, judge, strict
from xlt.execution import types as T
from xlt.execution.sandbox import Limits, Outcome, Sandbox
from xlt.execution.toolchains import (
    SYSTEM_DIRS,
    Toolchain,
    javatuples_jar,
    reachable,
    resolve,
    world_executable,
)
from xlt.execution.validate import invalid_reason
from xlt.languages import LANGUAGES, Language

_VAR = re.compile(r"\{(\w+)\}")
COMPILE_MEMORY_MB = 4096


@dataclass(frozen=True)
class Settings:
    timeout_s: float | None = None  # None: each language's default
    memory_mb: int = 1024
    file_size_mb: int = 64
    output_limit_bytes: int = 65536  # stdout/stderr kept in a Result
    processes: int = 256
    accelerate: bool = True  # PCH, compile servers (the reference harness turns them off)


def expand(
    template: tuple[str, ...], values: dict[str, tuple[str, ...]], tools: dict[str, str]
) -> list[str]:
    """Fill an argv template: `{x}` alone expands to 0+ arguments; inside a word, to one."""
    argv: list[str] = []
    for index, item in enumerate(template):
        if index == 0 and item in tools:
            argv.append(tools[item])
            continue
        whole = _VAR.fullmatch(item)
        if whole:
            argv.extend(values[whole.group(1)])
        else:
            argv.append(_VAR.sub(lambda m: " ".join(values[m.group(1)]), item))
    return argv


class Runner:
    def __init__(
        self,
        settings: Settings,
        sandbox: Sandbox,
        shared_dir: Path,
        heavy: threading.Semaphore,
        heavy_workers: int,
    ):
        self.settings, self.sandbox = settings, sandbox
        self.shared_dir, self.heavy, self.heavy_workers = shared_dir, heavy, heavy_workers
        self.work_root = Path(tempfile.mkdtemp(prefix="xlt-exec-"))
        self.work_root.chmod(0o711)  # slot uids reach their own folder, cannot list others
        # Under bwrap a job sees neither the other jobs' folders nor what anyone planted
        # above them (Node and tsc look for node_modules and package.json up to /).
        sandbox.hide(self.work_root.parent)
        sandbox.hide(self.work_root)
        sandbox.show(shared_dir)
        self._helpers: dict[str, object] = {}
        self._servers: dict[str, queue.Queue | None] = {}
        self._lock = threading.Lock()
        # Folders are removed by a background thread: off the critical path of the next job.
        self._trash: queue.Queue[Path | None] = queue.Queue()
        self._sweeper = threading.Thread(
            target=self._sweep_trash, name="xlt-exec-trash", daemon=True
        )
        self._sweeper.start()

    def _sweep_trash(self) -> None:
        while (folder := self._trash.get()) is not None:
            shutil.rmtree(folder, ignore_errors=True)

    # --- set-up shared by jobs ----------------------------------------------------------

    def _helper(self, key: str, build):
        with self._lock:
            if key not in self._helpers:
                self._helpers[key] = build()
            return self._helpers[key]

    def _server_pool(self, language: Language, toolchain: Toolchain) -> queue.Queue | None:
        name = language.accelerator
        with self._lock:
            if name not in self._servers:
                argv = None
                if name == "javac_server":
                    argv = accel.javac_server_argv(
                        toolchain.paths["java"], toolchain.paths["javac"], self.shared_dir
                    )
                elif name == "tsc_server":
                    argv = accel.tsc_server_argv(
                        toolchain.paths["node"], toolchain.paths["tsc"], self.shared_dir
                    )
                pool = None
                if argv is not None:
                    pool = queue.Queue()
                    env = {
                        "PATH": os.pathsep.join(SYSTEM_DIRS),
                        "HOME": str(self.work_root),
                        "LANG": "C.UTF-8",
                    }
                    for k in range(self.heavy_workers):  # each server a compile uid of its own
                        uid = self.sandbox.compile_uid(len(self._servers) * self.heavy_workers + k)
                        prefix = accel.server_prefix(
                            self.sandbox.net_prefix, self.sandbox.unshare, uid
                        )
                        pool.put(accel.CompileServer([*prefix, *argv], env, self.work_root, uid))
                self._servers[name] = pool
            return self._servers[name]

    def _toolchain(self, language: Language) -> Toolchain:
        """The resolved toolchain; as root, with tools the slot uids cannot reach (rustup's
        rustc under /root) replaced by a copy they can run (`toolchains.reachable`)."""
        toolchain = resolve(language)
        if not self.sandbox.drop_privileges or not toolchain.present:
            return toolchain
        return self._helper(f"toolchain-{language.code}",
                            lambda: reachable(toolchain, self.shared_dir))  # fmt: skip

    def close(self) -> None:
        self._trash.put(None)
        self._sweeper.join()
        for pool in self._servers.values():
            while pool is not None and not pool.empty():
                pool.get().close()
        shutil.rmtree(self.work_root, ignore_errors=True)

    def _values(
        self, language: Language, toolchain: Toolchain, program: str
    ) -> dict[str, tuple[str, ...]]:
        wanted = {
            m.group(1) for item in (*language.compile, *language.run) for m in _VAR.finditer(item)
        }
        values: dict[str, tuple[str, ...]] = {"src": (language.source,)}
        if "classpath" in wanted:
            values["classpath"] = (javatuples_jar() or ".",)
        if "heap_mb" in wanted:
            values["heap_mb"] = (str(self.settings.memory_mb),)
        if "pch" in wanted:
            values["pch"] = ()
            if self.settings.accelerate:
                gxx = toolchain.paths["g++"]
                values.update(
                    self._helper("pch", lambda: accel.CppPch(gxx, self.shared_dir)).vars(program)
                )
        if "rust_externs" in wanted:
            rustc = toolchain.paths["rustc"]
            values.update(
                self._helper("rust", lambda: accel.RustCrates(rustc, self.shared_dir)).vars(program)
            )
        values.update(language.argv_vars(program))
        return values

    def _env(
        self, language: Language, toolchain: Toolchain, work: Path, slot: int, uid: int | None
    ) -> dict[str, str]:
        tool_dirs = [str(Path(path).parent) for path in toolchain.paths.values()]
        env = {
            "PATH": os.pathsep.join(dict.fromkeys([*tool_dirs, *SYSTEM_DIRS])),
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            **language.env,
        }
        if language.cache_env:  # the job's own cache, next to its work folder
            cache = work.parent / "cache"
            self._build_cache(language, toolchain, env).seed(cache, uid)
            env[language.cache_env] = str(cache)
        return env

    def _build_cache(self, language: Language, toolchain: Toolchain, env: dict) -> accel.BuildCache:
        def build() -> accel.BuildCache:
            assert language.cache_env and language.cache_primer, language.code
            source = language.cache_primer[0]
            template = language.compile or language.run  # the step that builds
            argv = expand(template, {"src": (source,), "exe": ("primer",)}, toolchain.paths)
            return accel.BuildCache(language.code, argv, env, language.cache_env,
                                    language.cache_primer, self.shared_dir)  # fmt: skip

        return self._helper(f"cache-{language.code}", build)

    # --- one job ----------------------------------------------------------------------

    def run(self, job: T.Job, slot: int, judge_mode: str = "multipl-e") -> T.Result:
        """`judge_mode`: "multipl-e" (MultiPL-E's pass rules) or "strict" (`xlt.execution.strict`)."""
        reason = invalid_reason(job)
        if reason is not None:
            return T.Result(
                id=getattr(job, "id", ""), status=T.INVALID_JOB, stderr=reason, cases_total=0
            )
        language = LANGUAGES[job.language]
        toolchain = self._toolchain(language)
        if not toolchain.present:
            return T.Result(
                id=job.id,
                status=T.TOOLCHAIN_MISSING,
                stderr=f"{language.name}: not found: {', '.join(toolchain.missing)}",
                cases_total=len(job.cases) or 1,
            )
        folder = Path(tempfile.mkdtemp(dir=self.work_root))
        try:
            seal = strict.seal_for(job.language) if judge_mode == "strict" else None
            if job.mode != "tests":  # io mode compares the output: exiting early cannot fake it
                seal = None
            return self._run_in(job, language, toolchain, folder, slot, seal)
        finally:
            self._trash.put(folder)

    def _run_in(
        self,
        job: T.Job,
        language: Language,
        toolchain: Toolchain,
        folder: Path,
        slot: int,
        seal: strict.Seal | None,
    ) -> T.Result:
        uid = self.sandbox.uid(slot)
        work, logs = folder / "work", folder / "logs"
        work.mkdir(mode=0o700)  # the slot uid's alone: other slots cannot read its source
        logs.mkdir(mode=0o700)
        folder.chmod(0o711)
        if uid is not None:
            os.chown(work, uid, uid)
        values = self._values(language, toolchain, job.program)
        marker = strict.new_marker() if seal is not None else None
        source = work / language.source
        source.write_text(job.program + self._seal(seal, marker, values, folder), encoding="utf-8")
        source.chmod(0o644)
        env = self._env(language, toolchain, work, slot, uid)
        cap = self.settings.output_limit_bytes

        compile_s = 0.0
        if language.compiled:
            with self.heavy if language.heavy else nullcontext():
                status, text, compile_s = self._compile(
                    language, toolchain, values, env, work, logs, uid, seal
                )
            if status is not None:
                return T.Result(id=job.id, status=status, stderr=text[:cap], compile_s=compile_s,
                                cases_total=len(job.cases) or 1)  # fmt: skip

        argv = expand(language.run, values, toolchain.paths)
        if seal is not None:  # runtime flags (node's preload) go before the program
            argv[1:1] = expand(seal.run_flags, values, {})
            argv += seal.run_args
        run_uid = (
            uid if (language.run[0] not in toolchain.paths or world_executable(argv[0])) else None
        )
        timeout_s = job.timeout_s or self.settings.timeout_s or language.timeout_s
        memory_mb: int | None = self.settings.memory_mb
        if language.compiles_in_run:
            timeout_s += language.compile_timeout_s
            memory_mb = max(self.settings.memory_mb, COMPILE_MEMORY_MB)
        else:
            memory_mb = self.settings.memory_mb + language.reserve_mb
        limits = Limits(timeout_s, memory_mb, self.settings.file_size_mb, self.settings.processes)
        with self.heavy if language.compiles_in_run else nullcontext():
            if job.mode == "tests":
                return self._run_tests(
                    job, language, argv, work, logs, env, limits, run_uid, compile_s, marker
                )
            return self._run_io(job, argv, work, logs, env, limits, run_uid, compile_s)

    def _seal(
        self, seal: strict.Seal | None, marker: str | None, values: dict, folder: Path
    ) -> str:
        """The strict judge's trailer for the source; sets the argv values it needs (the
        class to start, the preload file in a folder the program can read but not write)."""
        if seal is None or marker is None:
            return ""
        trailer = seal.trailer(marker, values.get("main_class", ("",))[0])
        if seal.main_class is not None:
            values["main_class"] = (seal.main_class,)
        if seal.preload:
            judge_dir = folder / "judge"
            judge_dir.mkdir(mode=0o755)
            preload = judge_dir / "preload.js"
            preload.write_text(seal.preload, encoding="utf-8")
            preload.chmod(0o644)
            values[strict.PRELOAD_VAR] = (str(preload),)
        return trailer

    def _compile(
        self, language, toolchain, values, env, work, logs, uid, seal=None
    ) -> tuple[str | None, str, float]:
        """(failure status or None, compiler output, seconds)."""
        start = time.perf_counter()
        pool = (
            self._server_pool(language, toolchain)
            if self.settings.accelerate and language.accelerator in ("javac_server", "tsc_server")
            else None
        )
        if pool is not None:
            server = pool.get()
            try:
                if language.accelerator == "javac_server":
                    line = f"{work}\t{language.source}\t{values['classpath'][0]}"
                else:
                    line = str(work / language.source)
                reply = server.compile(line, work, language.compile_timeout_s)
            finally:
                pool.put(server)
            seconds = time.perf_counter() - start
            if reply is None:
                return T.TIMEOUT, "compile server timed out or crashed", seconds
            code, text = reply
            return (None if code == 0 else T.COMPILE_ERROR), text, seconds
        argv = expand(language.compile, values, toolchain.paths)
        if seal is not None:
            argv += seal.compile_args
        compile_uid = uid if world_executable(argv[0]) else None
        limits = Limits(
            timeout_s=language.compile_timeout_s,
            memory_mb=None if language.jvm else max(self.settings.memory_mb, COMPILE_MEMORY_MB),
            file_size_mb=512,
            processes=512,
        )
        outcome = self.sandbox.run(
            argv, cwd=work, logs=logs, env=env, limits=limits, uid=compile_uid,
            visible=(work.parent,),
        )  # fmt: skip
        text = outcome.stderr + outcome.stdout
        if outcome.timed_out:
            return T.TIMEOUT, text, outcome.wall_s
        return (None if outcome.exit_code == 0 else T.COMPILE_ERROR), text, outcome.wall_s

    def _run_tests(
        self, job, language, argv, work, logs, env, limits, uid, compile_s, marker=None
    ) -> T.Result:
        outcome = self.sandbox.run(argv, cwd=work, logs=logs, env=env, limits=limits, uid=uid,
                                   visible=(work.parent,))  # fmt: skip
        status = judge.tests_status(language, outcome)
        if marker is None:
            return self._result(
                job, status, outcome, compile_s, outcome.wall_s, int(status == T.OK), 1
            )
        status = judge.strict_status(status, outcome, marker)
        result = self._result(
            job, status, outcome, compile_s, outcome.wall_s, int(status == T.OK), 1
        )
        # The marker is spent; dropping it keeps the output a program's own.
        return T.Result(**{**result.__dict__, "stdout": result.stdout.replace(marker, ""),
                           "stderr": result.stderr.replace(marker, ""), "extra": {"judge": "strict"}})  # fmt: skip

    def _run_io(self, job, argv, work, logs, env, limits, uid, compile_s) -> T.Result:
        run_s, passed, status, outcome = 0.0, 0, T.OK, None
        for case in job.cases:
            stdin = logs / "stdin"
            stdin.write_text(case.stdin, encoding="utf-8")
            outcome = self.sandbox.run(argv, cwd=work, logs=logs, env=env, limits=limits, uid=uid,
                                       stdin_path=stdin, visible=(work.parent,))  # fmt: skip
            run_s += outcome.wall_s
            status = judge.io_status(outcome, case, job.float_tolerance)
            if status != T.OK:
                break
            passed += 1
        return self._result(job, status, outcome, compile_s, run_s, passed, len(job.cases))

    def _result(self, job, status, outcome: Outcome, compile_s, run_s, passed, total) -> T.Result:
        cap = self.settings.output_limit_bytes
        return T.Result(
            id=job.id,
            status=status,
            exit_code=outcome.exit_code if outcome.signal is None else -outcome.signal,
            stdout=outcome.stdout[:cap],
            stderr=outcome.stderr[:cap],
            compile_s=compile_s,
            run_s=run_s,
            cases_passed=passed,
            cases_total=total,
        )
