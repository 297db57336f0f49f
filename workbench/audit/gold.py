"""The gold standard as an ensemble: ``K`` models retrained without the forget set.

Two retrains of the same data differ (seed to seed, a forget set's membership AUC moves by
0.02-0.05 on the samples), so one retrained model is one draw, not the truth. The audit's
verdicts compare an unlearned model with the spread of ``K`` retrains (see
:mod:`workbench.audit.verdict`). Member ``0`` is trained with the request's own seed, so it
is the model ``unlearn_model(..., method="retrain", seed=seed)`` returns; the others with seeds
derived from it.

Members train through :mod:`workbench.executor` (each is exactly what ``unlearn_model(...,
method="retrain", seed=member_seed(seed, k))`` returns, whichever backend trains it) and
ensembles are cached like the shadow models (:mod:`workbench.audit.model_cache`), keyed by
the original model, the table, the forget set, the recipe, ``K`` and the seed, with each
member's training-set mask, so that an erasure can purge every cached model trained on an
erased record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from workbench.audit.model_cache import load_entry, write_entry
from workbench.audit.options import TRAINING_KEYWORDS, TrainingOptions
from workbench.audit.shadow import default_cache_dir
from workbench.deprecation import legacy_keywords
from workbench.executor import TrainData, TrainJob, train_models
from workbench.hashing import canonical_json, ids_sha256, table_sha256, weights_sha256
from workbench.progress import Progress
from workbench.records import ForgetSet, RecordTable, TrainRecipe
from workbench.unlearn.retrain import RetrainParams, resolve_recipe

CACHE_FORMAT = "erasure-workbench/gold-standard/1"
# Chosen by measurement (benchmarks/audit_calibration.py, RESULTS.md): with 8 retrains an
# independent retrain is INCONCLUSIVE on about 10% of requests, with 4 on about 22%.
DEFAULT_GOLD_COUNT = 8
MIN_GOLD_COUNT = 2  # a spread needs two; audit_model() accepts one model as a weaker yardstick


@dataclass(frozen=True, eq=False)
class GoldStandard:
    """``K`` retrained models and what they were trained for.

    Attributes:
        models: the retrained models, member 0 first.
        seeds: the training seed of each member.
        trained_on: ``(K, N)`` bool over the table's rows: which records each member saw.
        forget_rule, forget_count: the request the ensemble was trained for.
        original_sha256: weights hash of the model the request erases from.
        table_sha256: hash of the record table (ids, labels, encoded inputs).
        from_cache: True when the models were read from the cache.
        train_time_s: seconds spent training (0 when cached).
    """

    models: tuple[nn.Module, ...]
    seeds: tuple[int, ...]
    trained_on: np.ndarray
    forget_rule: str
    forget_count: int
    original_sha256: str
    table_sha256: str
    from_cache: bool = False
    train_time_s: float = 0.0
    path: Path | None = None

    @property
    def count(self) -> int:
        return len(self.models)

    @property
    def weights_sha256(self) -> tuple[str, ...]:
        return tuple(weights_sha256(m) for m in self.models)


def member_seed(seed: int, k: int) -> int:
    """Training seed of ensemble member ``k``, derived from the request's ``seed`` and never
    equal to it: ``unlearn_model(..., method="retrain", seed=seed)`` is then an independent retrain,
    not a copy of a gold model (the audit would compare a model with itself)."""
    derived = int(np.random.SeedSequence([seed, k, 0x601D]).generate_state(1)[0] % 2**31)
    return derived if derived != seed else derived + 1


def gold_key(original: nn.Module, forget: ForgetSet, recipe: TrainRecipe | None,
             params: dict[str, Any], *, count: int, seed: int) -> dict[str, Any]:
    """What an ensemble depends on: model, table, forget set, recipe, count and seed."""
    arch = getattr(original, "spec", None) or \
        f"{type(original).__module__}.{type(original).__qualname__}"
    forget_ids = ids_sha256(forget.ids)
    return {"format": CACHE_FORMAT, "model_sha256": weights_sha256(original),
            "architecture": arch, "data_sha256": table_sha256(forget.table),
            "forget_ids_sha256": forget_ids, "forget_classes": list(forget.classes),
            "recipe": recipe.to_dict() if recipe is not None else None, "params": params,
            "count": count, "seed": seed}


def training_mask(table: RecordTable, forget: ForgetSet) -> np.ndarray:
    """``(N,)`` bool: the rows a retrain without ``forget`` trains on."""
    mask = np.zeros(len(table), dtype=bool)
    mask[table.positions(table.retain_for(forget).ids)] = True
    return mask


@legacy_keywords(moved={k: v.removeprefix("training.") for k, v in TRAINING_KEYWORDS.items()
                        if k != "workers"}, options="training", factory=TrainingOptions)
def gold_standard(original: nn.Module, forget: ForgetSet, *, count: int = DEFAULT_GOLD_COUNT,
                  seed: int = 0, params: dict[str, Any] | None = None,
                  training: TrainingOptions | None = None,
                  progress: Progress | None = None) -> GoldStandard:
    """Retrain ``count`` models without ``forget`` (seeds :func:`member_seed`), or load them.

    Args:
        original: the model the request erases from (its architecture and recipe are reused;
            it is never modified).
        forget: the records to forget.
        count: ensemble size, at least ``MIN_GOLD_COUNT``.
        params: ``retrain`` parameters overriding the table's recipe (e.g. ``{"epochs": 50}``).
        training: cache root, executor, workers and device of the retrains
            (:class:`TrainingOptions`; the old ``cache_dir=``, ``device=`` and ``executor=``
            keywords still work for one release, with a ``DeprecationWarning``).

    Raises:
        ValueError: ``count`` below the minimum, no recipe, a forget set with no retain data,
            an executor that cannot run (``ExecutorUnavailable``; before any training).
    """
    if not isinstance(count, int) or count < MIN_GOLD_COUNT:
        raise ValueError(f"a gold-standard ensemble needs at least {MIN_GOLD_COUNT} retrained "
                         f"models to measure their spread, got {count!r}; pass a single "
                         "retrained model to audit_model(gold_standard=...) for the weaker "
                         "one-model comparison")
    if not isinstance(forget, ForgetSet) or len(forget) == 0:
        raise ValueError("forget must be a non-empty ForgetSet (use RecordTable.select)")
    table = forget.table
    retain = table.retain_for(forget)
    if len(retain) == 0:
        raise ValueError(f"the forget set ({forget.rule}) is every training member: a retrain "
                         "would have nothing to train on")
    training = training or TrainingOptions()
    retrain_params = RetrainParams.from_mapping(params)
    recipe = resolve_recipe(table.recipe, retrain_params)  # no recipe: a clear error, now
    key = gold_key(original, forget, recipe, retrain_params.to_dict(), count=count, seed=seed)
    digest = hashlib.sha256(canonical_json(key).encode()).hexdigest()
    folder = Path(training.cache_dir if training.cache_dir is not None
                  else default_cache_dir()) \
        / "gold-standard" / digest[:32]
    mask = np.tile(training_mask(table, forget), (count, 1))
    seeds = tuple(member_seed(seed, k) for k in range(count))
    common: dict[str, Any] = {
        "seeds": seeds, "trained_on": mask, "forget_rule": forget.rule,
        "forget_count": len(forget), "original_sha256": key["model_sha256"],
        "table_sha256": key["data_sha256"]}
    if folder.exists():
        models, _ = load_entry(folder, key, digest, mask, original)
        return GoldStandard(models=models, from_cache=True, path=folder, **common)
    data = TrainData.from_table(original, table, recipe, device=training.device)
    jobs = [TrainJob(f"gold standard {k + 1}/{count}", mask[k], member, member)
            for k, member in enumerate(seeds)]
    batch = train_models(data, jobs, executor=training.executor, workers=training.workers,
                         progress=progress)
    write_entry(folder, key, digest, mask, batch.models,
                {"train_time_s": round(batch.wall_time_s, 3), "executor": batch.executor})
    return GoldStandard(models=batch.models, from_cache=False, train_time_s=batch.wall_time_s,
                        path=folder, **common)
