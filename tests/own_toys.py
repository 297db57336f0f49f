"""A user's own world for the own-model tests: a class in a module of their own, a CSV of
scikit-learn's bundled breast-cancer data (no download) with their column names (string ids,
text labels, a yes/no member column) and its recipe, and a model trained on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

from workbench.models import save_model
from workbench.models.user_class import build_user_model
from workbench.records import RecordTable, TrainRecipe
from workbench.training import train_classifier

NET = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(30, width), nn.ReLU())
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        return self.head(self.body(x))

class Other(Net):
    pass
"""
RECIPE = TrainRecipe(epochs=20, lr=0.003, batch_size=32)


def own_world(root: Path, monkeypatch) -> tuple[object, RecordTable]:
    """Write ``mymodels.py`` (importable), ``cancer.csv`` and ``net.safetensors`` under
    ``root``; return the trained net and its table."""
    (root / "mymodels.py").write_text(NET)
    monkeypatch.syspath_prepend(str(root))
    frame = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = np.where(frame.pop("target") == 1, "benign", "malignant")
    frame.insert(0, "patient", [f"P-{i:04d}" for i in range(len(frame))])
    frame["in_training"] = np.where(np.arange(len(frame)) % 4 == 0, "no", "yes")
    frame.to_csv(root / "cancer.csv", index=False)
    table = RecordTable.from_csv(root / "cancer.csv", id_column="patient",
                                 label_column="diagnosis", member_column="in_training",
                                 recipe=RECIPE)
    net = build_user_model("mymodels:Net", {"width": 16})
    members = table.members()
    train_classifier(net, members.inputs(), members.labels(), RECIPE, seed=0)
    save_model(net, root / "net.safetensors")
    return net, table
