"""Tiny record tables and models for the audit tests (trained in a fraction of a second)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from workbench.models import TabularMLP
from workbench.records import RecordTable, TrainRecipe
from workbench.training import train_classifier

RECIPE = TrainRecipe(epochs=40, lr=0.01, batch_size=32)


def toy_table(n: int = 160, *, seed: int = 0, noise: float = 1.0, classes: int = 2,
              recipe: TrainRecipe | None = RECIPE) -> RecordTable:
    """``n`` records with 4 numeric features, noisy labels and a random half as members."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    signal = x[:, 0] + noise * rng.normal(size=n)
    label = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)])
    frame.insert(0, "rid", [f"R{i:04d}" for i in range(n)])
    frame["y"] = [f"class{c}" for c in label]
    frame["member"] = rng.permutation(n) < n // 2
    table = RecordTable.from_frame(frame, id_column="rid", label_column="y",
                                   member_column="member", name="toy")
    table.recipe = recipe
    return table


def toy_model(table: RecordTable, *, seed: int = 0, hidden: int = 32) -> TabularMLP:
    """An MLP trained on the table's members (it memorises the noisy labels)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TabularMLP(table.input_space.size, table.num_classes, (hidden,))
    members = table.members()
    return train_classifier(model, members.inputs(), members.labels(), table.recipe, seed=seed)


def forget_ids(table: RecordTable, count: int, seed: int = 0) -> list[str]:
    members = np.array(table.members().ids)
    return list(np.random.default_rng(seed).choice(members, count, replace=False))
