"""Training jobs: pure functions of (recipe, data, seeds) that return weights and their hash.

A batch of jobs shares one :class:`TrainData` (the architecture, the whole table's inputs
and labels, the recipe, the device), which a backend sends to each worker once; a
:class:`TrainJob` is small: which rows to train on and two seeds. :func:`run_job` is the
only code that trains, whatever the backend, so the same job gives the same weights (bit for
bit on the CPU at the same thread count; workers train single-threaded).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from workbench.device import resolve_device
from workbench.hashing import weights_sha256
from workbench.records import RecordTable, TrainRecipe
from workbench.training import reinitialise, train_classifier


@dataclass(frozen=True, eq=False)
class TrainData:
    """What every job of a batch shares; sent to each worker once per batch.

    Attributes:
        template: the architecture (its weights are never used: each job re-initialises it).
        inputs: ``(N, *input_shape)`` float32, every row a job may train on.
        labels: ``(N,)`` int64.
        recipe: how to train.
        device: where each job trains (``cpu`` or ``cuda``).
    """

    template: nn.Module
    inputs: np.ndarray
    labels: np.ndarray
    recipe: TrainRecipe
    device: str = "cpu"

    @classmethod
    def from_table(cls, template: nn.Module, table: RecordTable, recipe: TrainRecipe, *,
                   device: str = "cpu") -> TrainData:
        """The table's encoded inputs and labels, with a CPU copy of ``template``; ``device``
        may be ``auto`` (CUDA when available)."""
        template = reinitialise(template, 0).to("cpu")
        return cls(template, table.inputs().numpy(), table.labels().numpy(), recipe,
                   str(resolve_device(device)))

    @property
    def nbytes(self) -> int:
        """Bytes of the inputs and labels (what a worker receives, give or take the model)."""
        return int(self.inputs.nbytes + self.labels.nbytes)


@dataclass(frozen=True, eq=False)
class TrainJob:
    """One model to train: ``rows`` (``(N,)`` bool) of the batch's data, and its seeds.

    ``init_seed`` re-draws the template's parameters; ``train_seed`` shuffles mini-batches.
    """

    name: str
    rows: np.ndarray
    init_seed: int
    train_seed: int


@dataclass(frozen=True)
class TrainOutput:
    """A trained model as safetensors bytes, with its weights hash and where it trained."""

    name: str
    weights: bytes
    weights_sha256: str
    seconds: float
    worker: str


def worker_name() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(data: TrainData, job: TrainJob) -> TrainOutput:
    """Train ``job`` on ``data`` and return its weights (the one training path of every backend)."""
    start = time.perf_counter()
    rows = np.asarray(job.rows, dtype=bool)
    if rows.shape != (len(data.labels),):
        raise ValueError(f"job {job.name!r} selects rows of {rows.shape} for data of "
                         f"{len(data.labels)} rows")
    inputs = torch.from_numpy(np.ascontiguousarray(data.inputs[rows]))  # a copy: writable
    labels = torch.from_numpy(np.ascontiguousarray(data.labels[rows]))
    fresh = reinitialise(data.template, job.init_seed)
    trained = train_classifier(fresh, inputs, labels, data.recipe, seed=job.train_seed,
                               device=data.device)
    state = {name: value.detach().to("cpu").clone().contiguous()  # clone: untie shared weights
             for name, value in trained.state_dict().items()}
    return TrainOutput(job.name, save_safetensors(state), weights_sha256(state),
                       time.perf_counter() - start, worker_name())


def load_output(template: nn.Module, output: TrainOutput) -> nn.Module:
    """A CPU copy of ``template`` holding ``output``'s weights, in eval mode.

    Raises:
        ValueError: the weights do not hash to what the worker reported (a damaged transfer).
    """
    net = reinitialise(template, 0).to("cpu")
    net.load_state_dict(load_safetensors(output.weights))
    if weights_sha256(net) != output.weights_sha256:
        raise ValueError(f"the weights of {output.name} changed on their way from worker "
                         f"{output.worker}")
    return net.eval()
