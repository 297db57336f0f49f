"""The tiny world :func:`~workbench.unlearn.check.check_unlearner` runs every method on.

240 seeded records in 3 classes (two informative features, one noise feature, a
label-correlated category, 10% label noise), every other record a training member, and a
small MLP overfit on the members in about 0.1 s: a model worth unlearning, yet useful on
held-out records. Runs on it are cached per world, so the contracts share them. A
:class:`Case` is what one contract runs on: the world, the method and the request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from workbench.hashing import weights_sha256
from workbench.metrics import set_accuracy
from workbench.models import TabularMLP
from workbench.records import ForgetSet, ModelCard, RecordSet, RecordTable, TrainRecipe
from workbench.training import predict_logits, train_classifier
from workbench.unlearn.api import unlearn_model
from workbench.unlearn.base import Unlearner
from workbench.unlearn.result import UnlearnResult

Request = Literal["record", "class"]
TINY_CLASSES = ("ant", "bee", "cat")
TINY_RECIPE = TrainRecipe(epochs=60, lr=0.01, batch_size=32)
FORGET_CLASS = "bee"
RECORD_FORGET_SIZE = 12


def tiny_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """The raw records: ``rid``, features ``a``, ``b``, ``noise``, ``colour``, label ``kind``
    and member flag ``in_training`` (every other record)."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % len(TINY_CLASSES)
    centres = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])
    xy = centres[label] + rng.normal(0.0, 0.8, (n, 2))
    colours = np.array(["red", "green", "blue"])
    colour = np.where(rng.random(n) < 0.6, colours[label], rng.choice(colours, n))
    shown = np.where(rng.random(n) < 0.1, rng.integers(0, len(TINY_CLASSES), n), label)
    return pd.DataFrame({
        "rid": [f"T{i:03d}" for i in range(n)], "a": xy[:, 0], "b": xy[:, 1],
        "noise": rng.normal(0.0, 1.0, n), "colour": colour,
        "kind": np.array(TINY_CLASSES)[shown], "in_training": np.arange(n) % 2 == 0})


Run = tuple[UnlearnResult, list[tuple[int, int, str]]]


@dataclass(frozen=True)
class TinyWorld:
    """A model, its records and two requests (``record``: a few members; ``class``: every
    member of one class). Build the default with :func:`tiny_world`, or one of your own (any
    classifier and record table) to check a method on your architecture."""

    model: nn.Module
    table: RecordTable
    record_forget: ForgetSet
    class_forget: ForgetSet
    original_sha: str = field(init=False)
    _runs: dict[tuple, Run] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "original_sha", weights_sha256(self.model))
        object.__setattr__(self, "_runs", {})

    def forget(self, request: Request) -> ForgetSet:
        return self.record_forget if request == "record" else self.class_forget

    def run(self, cls: type[Unlearner], request: Request, seed: int = 0,
            device: str = "cpu") -> Run:
        """``unlearn`` with ``cls`` on ``request``, computed once per world: (result, the
        progress calls)."""
        return self.cached((cls, request, seed, device),
                           lambda: self.fresh(cls, request, seed, device))

    def cached(self, key: tuple, compute: Callable[[], Run]) -> Run:
        """``compute()`` once per ``key`` in this world."""
        if key not in self._runs:
            self._runs[key] = compute()
        return self._runs[key]

    def fresh(self, cls: type[Unlearner], request: Request, seed: int = 0,
              device: str = "cpu", *, forget: ForgetSet | None = None) -> Run:
        """The same run again, never cached (``forget``: the request's records from another
        table, built like :meth:`forget`)."""
        forget = forget or self.forget(request)
        calls: list[tuple[int, int, str]] = []
        result = unlearn_model(self.model, forget, method=cls.name, seed=seed, device=device,
                               progress=lambda *args: calls.append(args),
                               retain=retain_for(cls, forget))
        return result, calls


def retain_for(cls: type[Unlearner], forget: ForgetSet) -> RecordSet | None:
    """The retain records exactly when the method declares it needs them."""
    return forget.table.retain_for(forget) if cls.data_access.needs_retain else None


def build_tiny_world(seed: int = 0) -> TinyWorld:
    """A fresh tiny world (about 0.1 s): the records of ``tiny_frame(seed=seed)`` and an MLP
    overfit on their members; ``record`` forgets 12 random members, ``class`` every 'bee'."""
    plain = RecordTable.from_frame(tiny_frame(seed=seed), id_column="rid", label_column="kind",
                                   member_column="in_training", name="tiny")
    members = plain.members()
    torch.manual_seed(seed)
    model = TabularMLP(plain.input_space.size, plain.num_classes, hidden=(32, 32))
    train_classifier(model, members.inputs(), members.labels(), TINY_RECIPE, seed=seed)
    test_accuracy = set_accuracy(model, plain.held_out())
    table = RecordTable(plain.frame, plain.schema, plain.encoder, name="tiny",
                        recipe=TINY_RECIPE,
                        card=ModelCard(test_accuracy=round(test_accuracy, 3)))
    rng = np.random.default_rng(seed + 1)
    picked = rng.choice(list(members.ids), RECORD_FORGET_SIZE, replace=False)
    return TinyWorld(model, table, table.select(ids=list(picked)),
                     table.select(classes=[FORGET_CLASS]))


@functools.cache
def tiny_world() -> TinyWorld:
    """The default tiny world, built once per process (treat its model as read-only)."""
    return build_tiny_world()


def confidence(model: nn.Module, records: RecordSet) -> float:
    """Mean softmax probability of the true label."""
    probs = F.softmax(predict_logits(model, records.inputs()), dim=1)
    return float(probs.gather(1, records.labels()[:, None]).mean())


def accuracy_without(model: nn.Module, records: RecordSet, classes: tuple[int, ...]) -> float:
    """Accuracy on the records whose label is not in ``classes``."""
    labels = records.labels()
    keep = ~torch.isin(labels, torch.tensor(classes, dtype=labels.dtype))
    predicted = predict_logits(model, records.inputs()).argmax(1)
    return float((predicted[keep] == labels[keep]).float().mean())


def with_other_records(world: TinyWorld, readable: set[str]) -> RecordTable:
    """The world's table with every record outside ``readable`` replaced: other features (a
    fresh draw) and another label; ids, membership, schema, encoder and recipe unchanged."""
    frame = world.table.frame
    other = tiny_frame(len(frame), seed=12345) if len(frame) else frame
    hidden = ~frame["record_id"].isin(readable).to_numpy()
    features = [c for c in frame.columns if c not in ("record_id", "label", "member")]
    if set(features) <= set(other.columns):  # our own tiny table: a fresh draw of each
        frame.loc[hidden, features] = other.loc[hidden, features].to_numpy()
    else:  # a user's table: shuffle the hidden rows' features among themselves
        frame.loc[hidden, features] = np.roll(frame.loc[hidden, features].to_numpy(), 1, axis=0)
    frame.loc[hidden, "label"] = (frame.loc[hidden, "label"] + 1) % world.table.num_classes
    table = world.table
    return RecordTable(frame, table.schema, table.encoder, name=table.name, recipe=table.recipe,
                       card=table.card,
                       source_columns=table.source_columns, categorical=table.categorical)


class ContractFailure(AssertionError):
    """A method breaks a contract; the message names the method and the contract."""


@dataclass(frozen=True)
class Case:
    """One contract's inputs: the world, the method, the request (None: method contracts)."""

    world: TinyWorld
    cls: type[Unlearner]
    request: Request | None
    device: str

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def forget(self) -> ForgetSet:
        return self.world.forget(self.request or "class")

    def run(self, seed: int = 0) -> Run:
        return self.world.run(self.cls, self.request or "class", seed, self.device)

    def fresh(self, seed: int = 0, forget: ForgetSet | None = None) -> Run:
        """The run again, never cached."""
        return self.world.fresh(self.cls, self.request or "class", seed, self.device,
                                forget=forget)

    def once(self, tag: str, compute: Callable[[], Run]) -> Run:
        """A run of this case that only ``compute`` makes, cached in the world under ``tag``."""
        return self.world.cached((self.cls, self.request, self.device, tag), compute)
