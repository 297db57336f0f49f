"""The settings an audit runs with, grouped so that each verb keeps a short signature.

:class:`TrainingOptions` says where the audit's helper models train (shadow models, the gold
standard, epsilon runs); :class:`AuditOptions` holds everything else an audit can be tuned
with. Both are frozen: build one and pass it to as many audits as you like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.audit.verdict import VerdictConfig
from workbench.executor import Executor
from workbench.records import TrainRecipe

DEFAULT_SHADOW_MODELS = 4


@dataclass(frozen=True)
class TrainingOptions:
    """Where helper models train, and where they are cached.

    Attributes:
        cache_dir: cache root (default :func:`workbench.audit.default_cache_dir`).
        executor: :func:`workbench.executor.get_executor` (None: ``$WORKBENCH_EXECUTOR``,
            default ``local``).
        workers: with no ``executor``: 1 trains in this process, ``N`` in ``N`` processes
            (None: automatic).
        device: where they train (``cpu``: small models train fastest there).
    """

    cache_dir: str | Path | None = None
    executor: str | Executor | None = None
    workers: int | None = None
    device: str = "cpu"


@dataclass(frozen=True)
class AuditOptions:
    """How :func:`workbench.audit_model` audits, beyond which attacks it runs.

    Attributes:
        seed: seeds the shadow models and every bootstrap.
        config: verdict thresholds (None: ``VerdictConfig()``).
        shadow_models: how many shadow models RMIA and LiRA train (even; each record is OUT
            of half of them), cached on disk.
        recipe: how shadow models train (None: the table's ``records.recipe``).
        epsilon_models: if > 0, also estimate per-example epsilon with this many unlearned
            and retrained models (needs the ``UnlearnResult``, not a bare model).
        training: where shadow models and epsilon runs train.
    """

    seed: int = 0
    config: VerdictConfig | None = None
    shadow_models: int = DEFAULT_SHADOW_MODELS
    recipe: TrainRecipe | None = None
    epsilon_models: int = 0
    training: TrainingOptions = field(default_factory=TrainingOptions)


# the old keywords of the audit functions, and where each lives now (one release)
TRAINING_KEYWORDS = {"cache_dir": "training.cache_dir", "executor": "training.executor",
                     "workers": "training.workers", "device": "training.device"}
AUDIT_KEYWORDS = {"seed": "seed", "config": "config", "reference_models": "shadow_models",
                  "recipe": "recipe", "epsilon_models": "epsilon_models", **TRAINING_KEYWORDS}
