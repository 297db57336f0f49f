"""A model whose re-initialisation kills its worker process once (for the executor tests)."""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn


class DiesOnce(nn.Module):
    """A linear classifier. In any process but the one that built it, re-initialising it
    kills that process the first time (it leaves ``marker`` behind), like a worker lost to
    the OOM killer or a dead node; afterwards it re-initialises like any model."""

    def __init__(self, in_features: int, num_classes: int, marker: Path) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)
        self.marker = str(marker)
        self.home = os.getpid()

    def forward(self, x):
        return self.linear(x)

    def reset_parameters(self) -> None:
        if os.getpid() != self.home and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
