"""Shadow models for offline RMIA and LiRA: trained once on random subsets, cached on disk.

``K`` models share the audited model's architecture (re-initialised) and the table's
training recipe, and train on as many records as the audited model did, so their OUT
losses are calibrated to it. When the table's members are about half of it (within
``HALF_TOLERANCE``), every record is IN exactly ``K / 2`` models (random halves); otherwise
each model trains on a random subset of the members' size and every record is OUT of at
least two models (a model trained on 10% of the records, like ``digits``, would otherwise be
attacked with shadow models trained on five times as much data).

Models are trained through :mod:`workbench.executor` (in this process, local worker
processes or Ray; the same weights on each) and cached under
``<cache>/reference-models/<key digest>/`` (see :mod:`workbench.audit.model_cache`: atomic
entries, checked on load, and a training-set mask per model so that an erasure can purge
every entry trained on an erased record). The cache folder keeps its old name,
``reference-models``, so that existing caches stay valid.

(This module was ``workbench.audit.reference``; that name still works for one release.)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from workbench.audit.attacks import ShadowSignals
from workbench.audit.model_cache import CacheError, load_entry, write_entry  # noqa: F401  (re-exported)
from workbench.audit.options import DEFAULT_SHADOW_MODELS, TRAINING_KEYWORDS, TrainingOptions
from workbench.audit.signals import record_signals
from workbench.deprecation import legacy_keywords, renamed_attributes
from workbench.executor import TrainData, TrainJob, train_models
from workbench.hashing import (  # table_sha256: re-exported
    canonical_json,
    table_sha256,
    weights_sha256,
)
from workbench.progress import Progress
from workbench.records import RecordTable, TrainRecipe

CACHE_FORMAT = "erasure-workbench/reference-models/1"
HALF_TOLERANCE = 0.05  # member fractions within this of 0.5 use balanced random halves
DEFAULT_COUNT = DEFAULT_SHADOW_MODELS


def default_cache_dir() -> Path:
    """``$WORKBENCH_CACHE`` if set, else ``~/.cache/erasure-workbench``."""
    env = os.environ.get("WORKBENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "erasure-workbench"


def membership_masks(n_records: int, count: int, seed: int,
                     in_fraction: float = 0.5) -> np.ndarray:
    """``(count, n_records)`` bool, True where model ``k`` trains on record ``n``, by seed.

    ``in_fraction`` within ``HALF_TOLERANCE`` of 0.5: each record IN exactly ``count / 2``
    models. Otherwise each model trains on ``round(in_fraction * n_records)`` random records,
    and a record drawn into too many is taken out of some, so that each has two OUT models
    (one when ``count`` is 2): LiRA needs two to estimate a spread.
    """
    if count < 2 or count % 2:
        raise ValueError(f"shadow models come in an even number of at least 2 (each record "
                         f"is IN half of them), got {count}")
    if not 0.0 < in_fraction < 1.0:
        raise ValueError(f"in_fraction must be between 0 and 1, got {in_fraction}")
    if abs(in_fraction - 0.5) <= HALF_TOLERANCE:
        draws = np.random.default_rng([seed, n_records, count]).random((count, n_records))
        return draws.argsort(axis=0).argsort(axis=0) < count // 2
    rng = np.random.default_rng([seed, n_records, count, round(in_fraction * 10_000)])
    size = max(1, round(in_fraction * n_records))
    member = rng.random((count, n_records)).argsort(axis=1).argsort(axis=1) < size
    needed = 2 if count >= 4 else 1  # LiRA estimates a spread from at least two OUTs
    for record in np.flatnonzero((~member).sum(axis=0) < needed):
        inside = np.flatnonzero(member[:, record])
        short = needed - (count - len(inside))
        member[rng.choice(inside, short, replace=False), record] = False
    return member


def member_fraction(table: RecordTable) -> float:
    """Share of the table's records the audited model trained on (0.5 without members)."""
    members = len(table.members())
    return members / len(table) if 0 < members < len(table) else 0.5


def shadow_key(model: nn.Module, table: RecordTable, recipe: TrainRecipe, *, count: int,
                  seed: int) -> dict[str, Any]:
    """What a cache entry depends on: model, data, recipe, count and seed."""
    arch = getattr(model, "spec", None) or f"{type(model).__module__}.{type(model).__qualname__}"
    return {"format": CACHE_FORMAT, "model_sha256": weights_sha256(model), "architecture": arch,
            "data_sha256": table_sha256(table), "n_records": len(table),
            "recipe": recipe.to_dict(), "count": count, "seed": seed}


@dataclass(frozen=True, eq=False)
class ShadowModels:
    """``count`` trained shadow models and which table records each trained on.

    Attributes:
        member: ``(K, N)`` bool over ``ids`` (the table's records in table order).
        from_cache: True when the models were read from the cache instead of trained.
    """

    key: dict[str, Any]
    digest: str
    ids: tuple[str, ...]
    member: np.ndarray
    models: tuple[nn.Module, ...]
    from_cache: bool
    path: Path | None
    train_time_s: float

    @property
    def count(self) -> int:
        return len(self.models)

    def signals(self, table: RecordTable) -> ShadowSignals:
        """Every model's signals on every record of ``table`` (the table they were keyed on)."""
        if table.ids != self.ids:
            raise ValueError("these shadow models were trained for another record table")
        per_model = [record_signals(m, table, name=f"shadow model {k}")
                     for k, m in enumerate(self.models)]
        return ShadowSignals.from_signals(per_model, self.member)


def model_seed(seed: int, k: int) -> int:
    """The training seed of shadow model ``k``."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


@legacy_keywords(moved={k: v.removeprefix("training.") for k, v in TRAINING_KEYWORDS.items()},
                 options="training", factory=TrainingOptions)
def shadow_models(model: nn.Module, table: RecordTable, *, count: int = DEFAULT_COUNT,
                  seed: int = 0, recipe: TrainRecipe | None = None,
                  training: TrainingOptions | None = None,
                  progress: Progress | None = None) -> ShadowModels:
    """Load ``count`` shadow models for ``model`` and ``table`` from the cache, or train them.

    Args:
        model: the audited (original) model; only its architecture is reused.
        recipe: training recipe; defaults to ``table.recipe``.
        training: cache root, executor, workers and device (:class:`TrainingOptions`). Local
            worker processes are spawned: a script that uses them must call this under
            ``if __name__ == "__main__":``. Every backend gives the same models.

    Raises:
        ValueError: no recipe, or an odd or too small ``count``; ``ExecutorUnavailable`` for
            an executor that cannot run (before any training).
        CacheError: a cache entry under this key exists but does not match it.
    """
    training = training or TrainingOptions()
    recipe = recipe or table.recipe
    if recipe is None:
        raise ValueError(f"table {table.name!r} carries no training recipe, so shadow "
                         "models cannot be trained: pass recipe=TrainRecipe(...)")
    in_fraction = member_fraction(table)
    member = membership_masks(len(table), count, seed, in_fraction)
    key = shadow_key(model, table, recipe, count=count, seed=seed)
    if abs(in_fraction - 0.5) > HALF_TOLERANCE:  # halves keep their old keys (and caches)
        key["in_fraction"] = round(in_fraction, 6)
    digest = hashlib.sha256(canonical_json(key).encode()).hexdigest()
    root = Path(training.cache_dir) if training.cache_dir is not None else default_cache_dir()
    folder = root / "reference-models" / digest[:32]
    if folder.exists():
        models, _ = load_entry(folder, key, digest, member, model)
        return ShadowModels(key, digest, table.ids, member, models, True, folder, 0.0)
    data = TrainData.from_table(model, table, recipe, device=training.device)
    batch = train_models(data, shadow_jobs(member, seed), executor=training.executor,
                         workers=training.workers, progress=progress)
    write_entry(folder, key, digest, member, batch.models,
                {"train_time_s": round(batch.wall_time_s, 3), "executor": batch.executor})
    return ShadowModels(key, digest, table.ids, member, batch.models, False, folder,
                           batch.wall_time_s)


def shadow_jobs(member: np.ndarray, seed: int) -> list[TrainJob]:
    """One job per shadow model: its rows, and :func:`model_seed` for init and shuffling."""
    count = len(member)
    return [TrainJob(f"shadow model {k + 1}/{count}", member[k], model_seed(seed, k),
                     model_seed(seed, k)) for k in range(count)]


__getattr__ = renamed_attributes(__name__, ReferenceModels="ShadowModels",
                                 reference_models="shadow_models", reference_jobs="shadow_jobs",
                                 reference_key="shadow_key")
