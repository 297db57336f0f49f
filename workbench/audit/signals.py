"""Stage 1 of the membership audit: what a model says about each record.

``record_signals(model, records)`` runs the model once and keeps, per record: the logits, the
cross-entropy loss, the confidence in the true label ``p_y``, the logit-scaled confidence
``log p_y - log(1 - p_y)`` (the statistic LiRA and the NeurIPS 2023 challenge use) and the
predicted label. Arrays stay numpy inside the audit; results turn them into plain lists.

Calling this module (``workbench.audit.signals(...)``, the function's old name) and
``workbench.audit.signals.signals`` still work for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workbench.deprecation import callable_module, renamed_attributes
from workbench.records import RecordSet, RecordTable
from workbench.training import predict_logits


@dataclass(frozen=True, eq=False)
class Signals:
    """One model's outputs on ``N`` records, in the order of ``ids``.

    Attributes:
        ids: record ids, length ``N``.
        labels: true class indices, shape ``(N,)``.
        logits: raw outputs, shape ``(N, C)``, float64.
        loss: cross-entropy, shape ``(N,)``.
        confidence: softmax probability of the true label, shape ``(N,)``.
        scaled_confidence: ``log p_y - log(1 - p_y)``, shape ``(N,)``, computed stably as
            ``z_y - logsumexp(z_j, j != y)``.
        predicted: argmax class, shape ``(N,)``.
    """

    ids: tuple[str, ...]
    labels: np.ndarray
    logits: np.ndarray
    loss: np.ndarray
    confidence: np.ndarray
    scaled_confidence: np.ndarray
    predicted: np.ndarray

    @classmethod
    def from_logits(cls, ids: tuple[str, ...], logits: torch.Tensor,
                    labels: torch.Tensor) -> Signals:
        """Derive every signal from ``(N, C)`` logits and ``(N,)`` labels."""
        if logits.ndim != 2 or logits.shape[1] < 2:
            raise ValueError(f"a classifier must output (N, C) logits with C >= 2 classes; "
                             f"got shape {tuple(logits.shape)}")
        if len(ids) != len(logits) or len(labels) != len(logits):
            raise ValueError(f"{len(ids)} ids, {len(labels)} labels and {len(logits)} rows of "
                             "logits: they must match")
        if not torch.isfinite(logits).all():
            raise ValueError("the model returned non-finite logits (NaN or inf) on these records")
        z = logits.detach().to("cpu", torch.float64)
        y = labels.detach().to("cpu", torch.int64)
        rows = torch.arange(len(z))
        true = z[rows, y]
        others = z.clone()
        others[rows, y] = -torch.inf
        log_rest = torch.logsumexp(others, dim=1)
        loss = torch.logsumexp(z, dim=1) - true
        return cls(ids=tuple(ids), labels=y.numpy(), logits=z.numpy(), loss=loss.numpy(),
                   confidence=torch.exp(-loss).numpy(),
                   scaled_confidence=(true - log_rest).numpy(),
                   predicted=z.argmax(dim=1).numpy())

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[1])

    @property
    def correct(self) -> np.ndarray:
        """Whether each prediction is right, shape ``(N,)`` bool."""
        return self.predicted == self.labels

    def take(self, positions: np.ndarray) -> Signals:
        """The signals of the records at ``positions`` (row indices into this object)."""
        positions = np.asarray(positions, dtype=np.int64)
        return Signals(tuple(self.ids[i] for i in positions), self.labels[positions],
                       self.logits[positions], self.loss[positions],
                       self.confidence[positions], self.scaled_confidence[positions],
                       self.predicted[positions])


def record_signals(model: nn.Module, records: RecordSet | RecordTable, *,
                   name: str = "the model") -> Signals:
    """Run ``model`` on ``records`` (a ``RecordSet``, or every record of a ``RecordTable``).

    Args:
        name: how error messages refer to the model (e.g. ``"the unlearned model"``).

    Raises:
        ValueError: the model is not a module, the records' features do not fit its input,
            or its number of outputs differs from the records' number of classes.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    table = records if isinstance(records, RecordTable) else records.table
    ids = records.ids
    inputs = table.inputs(ids)
    try:
        logits = predict_logits(model, inputs)
    except RuntimeError as error:
        raise ValueError(f"the records' features do not fit {name}: records of table "
                         f"{table.name!r} encode to inputs of shape {tuple(inputs.shape[1:])}, "
                         f"and the model failed on them ({str(error).splitlines()[0]})") from None
    if logits.ndim != 2 or logits.shape[1] != table.num_classes:
        raise ValueError(f"{name} outputs {tuple(logits.shape[1:])} values per record but "
                         f"table {table.name!r} has {table.num_classes} classes "
                         f"{list(table.schema.classes)}; audit a model trained on these records")
    return Signals.from_logits(tuple(ids), logits, table.labels(ids))


callable_module(__name__, record_signals, "workbench.audit.signals",
                "workbench.audit.record_signals")
__getattr__ = renamed_attributes(__name__, signals="record_signals")
