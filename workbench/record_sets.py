"""Selections of records: ids in a fixed order from one table, and the rule that chose them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Self

import numpy as np
import torch

if TYPE_CHECKING:  # a selection refers to its table; the table module builds selections
    from workbench.records import RecordTable


@dataclass(frozen=True)
class RecordSet:
    """A chosen subset of a table's records: ids in a fixed order, and why they were chosen."""

    table: RecordTable
    ids: tuple[str, ...]
    rule: str

    def __len__(self) -> int:
        return len(self.ids)

    def inputs(self) -> torch.Tensor:
        """Model-ready inputs, shape ``(N, *input_shape)``."""
        return self.table.inputs(self.ids)

    def labels(self) -> torch.Tensor:
        """Class indices, shape ``(N,)``."""
        return self.table.labels(self.ids)

    def in_table_order(self) -> Self:
        """The same records (same rule) in the table's row order. A request is a set: reading
        it in this order makes a seeded method's result independent of the order the ids were
        given in (a list sorted otherwise, a CSV, the notebook's picks)."""
        order = np.argsort(self.table.positions(self.ids), kind="stable")
        return replace(self, ids=tuple(self.ids[i] for i in order))

    def class_counts(self) -> dict[str, int]:
        """Records per class name, for every class present."""
        counts = np.bincount(self.labels().numpy(), minlength=self.table.num_classes)
        return {self.table.schema.classes[i]: int(n) for i, n in enumerate(counts) if n}


@dataclass(frozen=True)
class ForgetSet(RecordSet):
    """Training records to forget. ``classes`` is set for a class-level request."""

    classes: tuple[int, ...] = ()

    @property
    def is_class_request(self) -> bool:
        return bool(self.classes)
