"""Two backends on this machine: in this process, and a pool of spawned worker processes.

Spawned workers each import torch (seconds on a busy machine), so a small batch trains
faster in this process: :class:`LocalProcesses` with ``workers=None`` uses processes only
from ``MIN_JOBS`` jobs and two cores, on the CPU, for classes importable by name (see
:meth:`LocalProcesses.plan`; :meth:`describe` says which it chose, and the model cache
records it).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import torch

from workbench.executor.base import ExecutorError, Progress, job_name, report

# From this many jobs the automatic plan uses worker processes. Measured on the 2-core VM
# (benchmarks/executor.py, RESULTS.md "Executor"): a pool of 2 takes about 8 s to start
# (spawn, import torch and the workbench), so 16 shadow models of about 2 s each finished
# 1.2-1.4x sooner than in this process on quiet cores, and no sooner under heavy load.
MIN_JOBS = 16
_SHARED: Any = None  # the batch's shared payload, set once in each worker by _install


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


@dataclass(frozen=True)
class InProcess:
    """Run every job here, one after another (tests, tiny batches, CUDA)."""

    name: str = "inprocess"

    def describe(self, jobs: int, fn: Callable[..., Any] | None = None,
                 shared: Any = None) -> str:
        return "inprocess (this process)"

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, jobs: Sequence[Any], *,
            progress: Progress | None = None) -> list[Any]:
        results = []
        for index, job in enumerate(jobs):
            results.append(fn(shared, job))
            report(progress, index + 1, len(jobs), job, index, "this process")
        return results


def _install(blob: bytes, threads: int) -> None:
    global _SHARED
    torch.set_num_threads(threads)
    _SHARED = pickle.loads(blob)


def _call(fn: Callable[[Any, Any], Any], index: int, job: Any) -> tuple[int, Any]:
    return index, fn(_SHARED, job)


def _from_main(fn: Callable[..., Any] | None, shared: Any) -> bool:
    """True when ``fn`` or the shared model's class lives in ``__main__`` (not importable by
    name in a spawned worker, e.g. a notebook's class)."""
    template = getattr(shared, "template", None)
    return "__main__" in (getattr(fn, "__module__", ""), type(template).__module__)


@dataclass(frozen=True)
class LocalProcesses:
    """Spawned worker processes on this machine: each receives the shared payload once (the
    pool's initializer), trains one job at a time single-threaded, and a worker that dies
    has its unfinished jobs retried ``retries`` times in a fresh pool.

    Attributes:
        workers: processes (None: automatic, see :meth:`plan`; 1: in this process).
        retries: fresh pools after a worker died, before :class:`ExecutorError`.
        threads: torch threads per worker.
    """

    workers: int | None = None
    retries: int = 1
    threads: int = 1
    min_jobs: int = MIN_JOBS
    name: str = "local"

    def plan(self, jobs: int, fn: Callable[..., Any] | None = None, shared: Any = None) -> int:
        """Worker processes for a batch of ``jobs`` (1: train in this process)."""
        if self.workers is not None:
            script = hasattr(sys.modules["__main__"], "__file__")  # spawn re-imports a script
            if self.workers > 1 and _from_main(fn, shared) and not script:
                raise ValueError("worker processes cannot import a model class or function "
                                 "defined in a notebook or an interactive session: define it "
                                 "in a module, or use executor='inprocess' or 'ray'")
            return max(1, min(self.workers, jobs))
        device = str(getattr(shared, "device", "cpu"))
        if jobs < self.min_jobs or cores() < 2 or device != "cpu" or _from_main(fn, shared):
            return 1
        return min(jobs, cores())

    def describe(self, jobs: int, fn: Callable[..., Any] | None = None,
                 shared: Any = None) -> str:
        n = self.plan(jobs, fn, shared)
        return f"local ({n} processes)" if n > 1 else "local (this process)"

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, jobs: Sequence[Any], *,
            progress: Progress | None = None) -> list[Any]:
        workers = self.plan(len(jobs), fn, shared)
        if workers <= 1:
            return InProcess().map(fn, shared, jobs, progress=progress)
        blob = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)  # pickled once
        results: dict[int, Any] = {}
        for attempt in range(self.retries + 1):
            todo = [i for i in range(len(jobs)) if i not in results]
            try:
                self._run_pool(fn, blob, jobs, todo, min(workers, len(todo)), results, progress)
                break
            except BrokenProcessPool:
                if attempt == self.retries:
                    lost = [job_name(jobs[i], i) for i in range(len(jobs)) if i not in results]
                    raise ExecutorError(
                        f"a worker process died {attempt + 1} time(s) while training; "
                        f"unfinished: {', '.join(lost)}. Nothing was cached for this batch"
                    ) from None
        return [results[i] for i in range(len(jobs))]

    def _run_pool(self, fn: Callable[[Any, Any], Any], blob: bytes, jobs: Sequence[Any],
                  todo: list[int], workers: int, results: dict[int, Any],
                  progress: Progress | None) -> None:
        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_install, initargs=(blob, self.threads))
        futures = [pool.submit(_call, fn, i, jobs[i]) for i in todo]
        try:
            for future in concurrent.futures.as_completed(futures):
                index, value = future.result()
                results[index] = value
                report(progress, len(results), len(jobs), jobs[index], index,
                       f"{workers} processes")
        except BaseException:  # Ctrl-C, a dead worker, a job's own error: stop the rest
            for future in futures:  # keep what finished before a worker died
                if future.done() and not future.cancelled() and future.exception() is None:
                    index, value = future.result()
                    results[index] = value
            _stop(pool)
            raise
        pool.shutdown(wait=True)


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel queued jobs and end the workers now (not after their current job)."""
    processes = list(getattr(pool, "_processes", {}).values())  # Python < 3.14 has no API
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # stuck past SIGTERM
            process.kill()
            process.join(timeout=5)
