"""One setting picks the backend: ``executor="local" | "inprocess" | "ray"`` or a Ray address.

Without a setting, ``$WORKBENCH_EXECUTOR`` decides, else ``ray`` when
``$WORKBENCH_RAY_ADDRESS`` is set, else ``local``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from workbench.executor.base import Executor, ExecutorUnavailable
from workbench.executor.local import InProcess, LocalProcesses
from workbench.executor.ray_backend import RayCluster

ENV_EXECUTOR = "WORKBENCH_EXECUTOR"
ENV_RAY_ADDRESS = "WORKBENCH_RAY_ADDRESS"
DEFAULT = "local"


def _ray(_: str) -> Executor:
    return RayCluster(address=os.environ.get(ENV_RAY_ADDRESS) or None)


def _local(setting: str) -> Executor:
    _, _, count = setting.partition(":")
    if count and not (count.isdigit() and int(count) >= 1):
        raise ExecutorUnavailable(f"executor {setting!r}: after 'local:' give a number of "
                                  "processes, e.g. 'local:4'")
    return LocalProcesses(workers=int(count) if count else None)


BACKENDS: dict[str, Callable[[str], Executor]] = {
    "inprocess": lambda _: InProcess(), "local": _local, "ray": _ray}


def get_executor(setting: str | Executor | None = None, *,
                 workers: int | None = None) -> Executor:
    """The executor a setting names.

    Args:
        setting: an :class:`Executor`; ``"inprocess"``; ``"local"`` (automatic number of
            processes) or ``"local:N"``; ``"ray"`` (a local cluster, or
            ``$WORKBENCH_RAY_ADDRESS``); a Ray address (``host:port``, ``ray://host:port``,
            ``auto``). None: the environment (module docstring).
        workers: the older ``workers=`` argument, used when ``setting`` is None: 1 trains
            in this process, ``N`` in ``N`` local processes.

    Raises:
        ExecutorUnavailable: an unknown setting, Ray not installed, or a Ray address that
            does not answer (checked now, before any work).
    """
    if setting is not None and not isinstance(setting, str):
        if isinstance(setting, Executor):
            return setting
        raise ExecutorUnavailable(f"executor must be a name, a Ray address or an Executor, "
                                  f"got {type(setting).__name__}")
    if setting is None and workers is not None:
        return InProcess() if workers <= 1 else LocalProcesses(workers=workers)
    if setting is None:
        setting = os.environ.get(ENV_EXECUTOR) or ("ray" if os.environ.get(ENV_RAY_ADDRESS)
                                                   else DEFAULT)
    setting = setting.strip()
    name = setting.split(":", 1)[0].lower()
    if name in BACKENDS and (name == "local" or ":" not in setting):
        return BACKENDS[name](setting)
    if setting == "auto" or setting.startswith("ray://") or ":" in setting:
        return RayCluster(address=setting)
    raise ExecutorUnavailable(f"unknown executor {setting!r}: use one of "
                              f"{', '.join(BACKENDS)}, local:N, or a Ray address "
                              "(host:port, ray://host:port, auto)")
