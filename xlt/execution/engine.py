"""The executor: a worker pool over the sandboxed runner, with a result cache.

    from xlt.execution import Executor, Job
    with Executor(workers=2, heavy_workers=1, timeout_s=None, memory_mb=1024) as ex:
        results = ex.run([Job("py", "assert 1 + 1 == 2\\n", id="a")], progress=True)

`workers` programs run at once (0: one per CPU core); compilers of heavy
toolchains (g++, javac, rustc, tsc, go) take one of `heavy_workers` slots as well,
so a batch of Java programs cannot run several JVM compilers at once. Results
come back in job order. Identical jobs in a batch run once. Nothing here raises
for a program's failure; a bad job gets an `invalid_job` result and the batch
goes on.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from xlt.execution import types as T
from xlt.execution.cache import ResultCache, cache_key
from xlt.execution.folders import UnsafeFolderError, own_folder
from xlt.execution.runner import Runner, Settings
from xlt.execution.sandbox import Sandbox
from xlt.execution.strict import JUDGES
from xlt.execution.validate import invalid_reason

log = logging.getLogger(__name__)
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xlt" / "exec"
SHARED_ROOT = Path("/var/tmp")  # machine-wide build caches when cache_dir is private


def _world_traversable(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def shared_dir_for(cache_dir: Path, drop_privileges: bool) -> Path:
    """Where build caches that sandboxed programs must read live (PCH, GOCACHE).

    Under `cache_dir` when its parents let an unprivileged uid through; otherwise
    (e.g. ~/.cache of root, or pytest's tmp_path, mode 0700) one machine-wide folder
    under /var/tmp: these caches are keyed by content, so every executor can share them."""
    shared = cache_dir / "shared"
    if not drop_privileges or _world_traversable(cache_dir.resolve()):
        return shared
    return SHARED_ROOT / f"xlt-shared-{os.geteuid()}"


class Executor:
    def __init__(
        self,
        *,
        workers: int = 0,
        heavy_workers: int = 1,
        timeout_s: float | None = None,
        memory_mb: int = 1024,
        output_limit_bytes: int = 65536,
        file_size_mb: int = 64,
        network_isolation: str = "auto",
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        accelerate: bool = True,
    ):
        if workers < 0 or heavy_workers < 1:
            raise ValueError(
                f"workers must be >= 0 (0: one per core) and heavy_workers >= 1, got {workers}, {heavy_workers}"
            )
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(
                f"timeout_s must be positive or None (language default), got {timeout_s}"
            )
        if memory_mb < 64 or file_size_mb < 1 or output_limit_bytes < 1:
            raise ValueError(
                "memory_mb >= 64, file_size_mb >= 1 and output_limit_bytes >= 1 are required"
            )
        self.workers = workers or os.cpu_count() or 1
        self.heavy_workers = min(heavy_workers, self.workers)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self.settings = Settings(
            timeout_s, memory_mb, file_size_mb, output_limit_bytes, accelerate=accelerate
        )
        self.sandbox = Sandbox(
            network_isolation,
            capture_bytes=output_limit_bytes,
            slots=self.workers,
            compile_slots=2 * self.heavy_workers,  # one uid per compile server (javac, tsc)
        )
        self._private_shared: Path | None = None  # set when the machine-wide one was planted
        try:
            shared = self._shared_dir()
            self.cache = None
            if use_cache:  # results hold io-mode stdout, i.e. expected outputs: owner only
                self.cache = ResultCache(own_folder(self.cache_dir / "results", 0o700))
        except UnsafeFolderError:
            self.sandbox.close()  # release the uid leases now, not when collected
            raise
        self.runner = Runner(
            self.settings,
            self.sandbox,
            shared,
            threading.Semaphore(self.heavy_workers),
            self.heavy_workers,
        )
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="xlt-exec")
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            self._slots.put(slot)
        self.cache_settings = self._cache_settings(
            memory_mb, file_size_mb, output_limit_bytes, timeout_s
        )

    def _shared_dir(self) -> Path:
        """The build-cache folder, made or checked as ours (`folders.own_folder`). The
        machine-wide one lies in world-writable /var/tmp, where any program can create it
        first: then a fresh private folder is used instead (removed by `close`), since
        refusing would let one program stop every later executor on the machine."""
        shared = shared_dir_for(self.cache_dir, self.sandbox.drop_privileges)
        try:
            return own_folder(shared, 0o755)
        except UnsafeFolderError as error:
            if shared.parent != SHARED_ROOT:
                raise
            log.warning("%s; using a private build-cache folder instead", error)
        self._private_shared = Path(tempfile.mkdtemp(prefix=f"{shared.name}-", dir=SHARED_ROOT))
        self._private_shared.chmod(0o755)
        return self._private_shared

    def _cache_settings(self, memory_mb, file_size_mb, output_limit_bytes, timeout_s) -> dict:
        """Everything of this executor a verdict depends on, for the result cache's key: an
        `ok` earned with the network open, or as root, must not be served to a run without."""
        return {"memory_mb": memory_mb, "file_size_mb": file_size_mb,
                "output_limit_bytes": output_limit_bytes, "timeout_s": timeout_s,
                "network": list(self.sandbox.net_prefix[1:]),  # the unshare flags, not its path
                "run_as": "slot-uid" if self.sandbox.drop_privileges else f"uid-{os.geteuid()}",
                "isolation": self.sandbox.isolation}  # fmt: skip

    def _one(self, job: T.Job, judge: str = "multipl-e") -> T.Result:
        slot = self._slots.get()
        try:
            return self.runner.run(job, slot, judge)
        except Exception as error:  # an engine bug must not take the batch down
            log.exception("xlt.execution: internal error on job %r", getattr(job, "id", ""))
            return T.Result(id=getattr(job, "id", ""), status=T.RUNTIME_ERROR,
                            stderr=f"xlt internal error: {error!r}", extra={"internal_error": True})  # fmt: skip
        finally:
            self._slots.put(slot)

    def run(
        self, jobs: Sequence[T.Job], progress: bool = False, judge: str = "multipl-e"
    ) -> list[T.Result]:
        """Results in job order; cached ones are returned without running. `judge`:
        "multipl-e" (MultiPL-E's verdicts, for benchmarks) or "strict" (tests must run to
        their end, for RL rewards: `xlt.execution.strict`)."""
        if judge not in JUDGES:
            raise ValueError(f"judge must be one of {JUDGES}, got {judge!r}")
        # Strict verdicts get keys of their own; MultiPL-E's keep the keys they had.
        settings = (
            self.cache_settings if judge == "multipl-e" else {**self.cache_settings, "judge": judge}
        )
        results: list[T.Result | None] = [None] * len(jobs)
        pending: dict[str, list[int]] = {}  # cache key -> indices of identical jobs
        for index, job in enumerate(jobs):
            reason = invalid_reason(job)
            if reason is not None:  # before the cache key: a bad value must reach neither
                results[index] = T.Result(id=getattr(job, "id", ""), status=T.INVALID_JOB,
                                          stderr=reason, cases_total=0)  # fmt: skip
                continue
            key = cache_key(job, settings)
            hit = self.cache.get(key, job.id) if self.cache is not None else None
            if hit is not None:
                results[index] = hit
            else:
                pending.setdefault(key, []).append(index)
        bar = None
        if progress and pending:
            from tqdm import tqdm

            bar = tqdm(total=len(pending), desc="execute", unit="prog", smoothing=0.05)
        if len(pending) == 1:  # one program: run it on this thread (no hand-off latency)
            key, indices = next(iter(pending.items()))
            completed = iter([(key, self._one(jobs[indices[0]], judge))])
        else:
            futures = {
                self._pool.submit(self._one, jobs[i[0]], judge): key for key, i in pending.items()
            }
            completed = ((futures[f], f.result()) for f in as_completed(futures))
        for key, result in completed:
            if self.cache is not None:
                self.cache.put(key, result)
            for index in pending[key]:
                results[index] = T.Result(**{**result.__dict__, "id": jobs[index].id})
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return results  # type: ignore[return-value]

    async def run_async(
        self, jobs: Sequence[T.Job], progress: bool = False, judge: str = "multipl-e"
    ) -> list[T.Result]:
        return await asyncio.to_thread(self.run, jobs, progress, judge)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.runner.close()
        self.sandbox.close()
        if self._private_shared is not None:
            shutil.rmtree(self._private_shared, ignore_errors=True)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SHARED: dict[tuple, Executor] = {}
_SHARED_LOCK = threading.Lock()


def shared_executor(**settings) -> Executor:
    """One executor per settings, kept for the life of the process (compile servers stay warm)."""
    key = tuple(sorted((k, str(v)) for k, v in settings.items()))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Executor(**settings)
            atexit.register(_SHARED[key].close)
        return _SHARED[key]


def execute(
    jobs: Sequence[T.Job],
    *,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    judge: str = "multipl-e",
    **settings,
) -> list[T.Result]:
    """Run `jobs`; results in the same order. `judge`: see `Executor.run`; `settings`: any
    `Executor` keyword (one shared executor serves both judges)."""
    executor = shared_executor(workers=workers or 0, cache_dir=cache_dir, **settings)
    return executor.run(jobs, progress=progress, judge=judge)


async def execute_async(
    jobs: Sequence[T.Job],
    *,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    judge: str = "multipl-e",
    **settings,
) -> list[T.Result]:
    executor = shared_executor(workers=workers or 0, cache_dir=cache_dir, **settings)
    return await executor.run_async(jobs, progress=progress, judge=judge)
