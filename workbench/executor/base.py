"""What every backend offers: ``map`` a pure function over jobs that share one payload.

``map(fn, shared, jobs, progress=None)`` returns ``[fn(shared, job) for job in jobs]`` in
job order. ``shared`` travels to each worker once per call, never once per job. ``progress``
is called in the calling process as ``progress(done, total, message)`` each time a job
finishes, on whichever worker, so it counts the batch as a whole. On ``KeyboardInterrupt``
(Ctrl-C) the jobs not yet finished are cancelled and the interrupt is raised again; nothing
is returned, so nothing half-trained reaches the model cache (which writes whole entries
only, see :mod:`workbench.audit.model_cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from workbench.progress import Progress

S = TypeVar("S")
J = TypeVar("J")
R = TypeVar("R")


class ExecutorError(RuntimeError):
    """A job could not be run: its worker died more often than the retries allow."""


class ExecutorUnavailable(ValueError):
    """The chosen backend cannot run here (Ray not installed, a Ray address unreachable,
    an unknown setting). Raised before any job starts."""


@runtime_checkable
class Executor(Protocol):
    """A backend that runs training jobs (see the module docstring for the contract)."""

    @property
    def name(self) -> str:
        """The backend's name (``inprocess``, ``local``, ``ray``); read-only is enough."""
        ...

    def map(self, fn: Callable[[S, J], R], shared: S, jobs: Sequence[J], *,
            progress: Progress | None = None) -> list[R]:
        ...

    def describe(self, jobs: int, fn: Callable[..., Any] | None = None,
                 shared: Any = None) -> str:
        """How a batch of ``jobs`` jobs of ``fn`` on ``shared`` would run, e.g.
        ``local (2 processes)``."""
        ...


def job_name(job: Any, index: int) -> str:
    """A job's ``name`` attribute, else its index."""
    return str(getattr(job, "name", f"job {index}"))


def report(progress: Progress | None, done: int, total: int, job: Any, index: int,
           where: str) -> None:
    """Tell ``progress`` that one more job finished."""
    if progress is not None:
        progress(done, total, f"{job_name(job, index)} done ({done}/{total}, {where})")
