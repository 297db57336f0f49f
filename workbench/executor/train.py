"""Train a batch of models through an executor and load them back in this process."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from workbench.executor.base import Executor, Progress
from workbench.executor.jobs import TrainData, TrainJob, TrainOutput, load_output, run_job
from workbench.executor.select import get_executor


@dataclass(frozen=True, eq=False)
class TrainedBatch:
    """The models of a batch in job order, what each worker reported, and how it ran.

    Attributes:
        executor: how the batch ran, e.g. ``local (2 processes)``.
        wall_time_s: seconds from the first job sent to the last model loaded.
    """

    models: tuple[nn.Module, ...]
    outputs: tuple[TrainOutput, ...]
    executor: str
    wall_time_s: float

    @property
    def weights_sha256(self) -> tuple[str, ...]:
        return tuple(out.weights_sha256 for out in self.outputs)


def train_models(data: TrainData, jobs: Sequence[TrainJob], *,
                 executor: str | Executor | None = None, workers: int | None = None,
                 progress: Progress | None = None) -> TrainedBatch:
    """Run ``jobs`` on ``executor`` (see :func:`get_executor`) and load every model.

    Nothing is written anywhere: callers cache the models once the whole batch is done, so
    an interrupted or failed batch leaves no cache entry behind.
    """
    chosen = get_executor(executor, workers=workers)
    how = chosen.describe(len(jobs), run_job, data)
    start = time.perf_counter()
    outputs = chosen.map(run_job, data, list(jobs), progress=progress)
    models = tuple(load_output(data.template, out) for out in outputs)
    return TrainedBatch(models, tuple(outputs), how, time.perf_counter() - start)
