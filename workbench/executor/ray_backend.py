"""The Ray backend: jobs as Ray tasks, the shared payload in Ray's object store.

Optional: ``pip install -e ".[ray]"``. Without an address it starts a local cluster in this
process (``ray.init(address="local", include_dashboard=False)``) whose workers see this
process's ``sys.path``; with one it connects to that cluster (``host:port`` of a head
started by ``ray start --head``, ``ray://host:port`` for Ray Client, or ``auto``), whose
workers must have the workbench installed. The payload is ``ray.put`` once per batch and
read from shared memory by every task on a node; Ray retries a task whose worker died
(``retries`` times).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.executor.base import ExecutorError, ExecutorUnavailable, Progress, job_name, report

CONNECT_TIMEOUT_S = 3.0


def _call(fn: Callable[[Any, Any], Any], shared: Any, index: int, job: Any,
          threads: int) -> tuple[int, Any]:
    import torch

    torch.set_num_threads(threads)
    return index, fn(shared, job)


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ExecutorUnavailable` unless ``address`` takes a TCP connection now."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorUnavailable(f"{address!r} is not a Ray address: use host:port (a head "
                                  "started by `ray start --head`), ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ExecutorUnavailable(
            f"the Ray cluster at {address} cannot be reached ({error}); start it with "
            "`ray start --head`, fix WORKBENCH_RAY_ADDRESS, or use executor='local'") from None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorUnavailable("executor 'ray' needs Ray: pip install -e \".[ray]\" (or "
                                  "pip install 'ray>=2.9'), or use executor='local'") from None
    return ray


@contextlib.contextmanager
def _path_for_workers() -> Iterator[None]:
    """While a local cluster starts, PYTHONPATH holds this process's sys.path (its workers
    inherit it, so they import what this process imports)."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _joined_address(ray: Any) -> str | None:
    """``host:port`` of the cluster this process joined (None if Ray cannot say)."""
    try:
        return ray.get_runtime_context().gcs_address
    except Exception:  # Ray Client sessions do not expose it
        return None


@dataclass(frozen=True)
class RayCluster:
    """Ray tasks on a local or remote cluster. Checked when made: Ray importable, the
    address reachable (:class:`ExecutorUnavailable` otherwise, before any work).

    Attributes:
        address: None starts a local cluster of ``num_cpus`` CPUs (None: all cores).
        retries: Ray's retries of a task whose worker died.
        threads: torch threads (and CPUs reserved) per task.
    """

    address: str | None = None
    num_cpus: int | None = None
    retries: int = 2
    threads: int = 1
    name: str = "ray"

    def __post_init__(self) -> None:
        _import_ray()
        if self.address is not None:
            check_address(self.address)

    def describe(self, jobs: int, fn: Any = None, shared: Any = None) -> str:
        return f"ray ({self.address or 'local cluster'})"

    def connect(self) -> None:
        """Start or join the cluster (once per process; an initialised Ray is reused)."""
        ray = _import_ray()
        if ray.is_initialized():
            joined = _joined_address(ray)
            if self.address not in (None, "auto") and joined != self.address.removeprefix(
                    "ray://"):
                raise ExecutorUnavailable(f"this process already uses the Ray cluster at "
                                          f"{joined}, not {self.address}: call ray.shutdown() "
                                          "first")
            return
        try:
            if self.address is None:
                with _path_for_workers():
                    ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False,
                             log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ExecutorUnavailable(f"could not start or join the Ray cluster "
                                      f"{self.address or '(local)'}: {error}") from None

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, jobs: Sequence[Any], *,
            progress: Progress | None = None) -> list[Any]:
        if not jobs:
            return []
        ray = _import_ray()
        self.connect()
        payload = ray.put(shared)  # once per batch, read from shared memory by every task
        gpus = 1 if str(getattr(shared, "device", "cpu")).startswith("cuda") else 0
        task = ray.remote(_call).options(num_cpus=self.threads, num_gpus=gpus,
                                         max_retries=self.retries)
        pending = [task.remote(fn, payload, i, job, self.threads) for i, job in enumerate(jobs)]
        results: dict[int, Any] = {}
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                index, value = ray.get(done[0])
                results[index] = value
                report(progress, len(results), len(jobs), jobs[index], index, self.describe(0))
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
            self._cancel(ray, pending)
            lost = [job_name(jobs[i], i) for i in range(len(jobs)) if i not in results]
            raise ExecutorError(f"a Ray worker died more than {self.retries} time(s); "
                                f"unfinished: {', '.join(lost)}. Nothing was cached for this "
                                f"batch ({type(error).__name__})") from None
        except BaseException:  # Ctrl-C or a job's own error: cancel what is still queued
            self._cancel(ray, pending)
            raise
        return [results[i] for i in range(len(jobs))]

    @staticmethod
    def _cancel(ray: Any, pending: Sequence[Any]) -> None:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
