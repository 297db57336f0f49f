"""One executor for every model the workbench trains: in this process, in local worker
processes (the default), or on a Ray cluster (``pip install -e ".[ray]"``).

Jobs are pure (recipe, data, seeds -> weights and their hash), so every backend gives the
same weights for the same seeds. Pick the backend with ``executor=`` or
``$WORKBENCH_EXECUTOR`` (see :func:`get_executor`).
"""

from workbench.executor.base import Executor, ExecutorError, ExecutorUnavailable
from workbench.executor.jobs import TrainData, TrainJob, TrainOutput, load_output, run_job
from workbench.executor.local import InProcess, LocalProcesses
from workbench.executor.ray_backend import RayCluster
from workbench.executor.select import ENV_EXECUTOR, ENV_RAY_ADDRESS, get_executor
from workbench.executor.train import TrainedBatch, train_models

__all__ = [
    "ENV_EXECUTOR", "ENV_RAY_ADDRESS", "Executor", "ExecutorError", "ExecutorUnavailable",
    "InProcess", "LocalProcesses", "RayCluster", "TrainData", "TrainJob", "TrainOutput",
    "TrainedBatch", "get_executor", "load_output", "run_job", "train_models",
]
