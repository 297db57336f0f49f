"""Per-example epsilon and the forget score F, as in the NeurIPS 2023 unlearning challenge.

For each forgotten record, take its logit-scaled confidence under ``N`` unlearned models
and ``N`` retrained models, both over training randomness: ``N`` originals trained from
scratch with different seeds, each unlearned once, against ``N`` retrains (the gold
standard's seeds). Every single-threshold rule (above ``t`` is the class with the larger median) and
double-threshold rule (inside ``[l, r]`` is the peakier class, for intervals about as wide as
the peakier sample's range, within 2, as in the challenge) gives a false positive rate
and a false negative rate, and

    epsilon = max over rules of max(log(1 - delta - FPR) - log FNR, log(1 - delta - FNR) - log FPR)

with ``delta = 1e-5``. A rule that separates the samples perfectly gives infinity (capped
at 50); rules with exactly one zero rate are dropped as too few samples to tell; a method
whose confidences barely vary (range below 1% of the other's) is capped outright. The
thresholds here are swept exactly at the sample values (the challenge used a fine grid).
Epsilons fall into 0.5-wide buckets worth 1, 1/2, 1/4, ... up to ``ceil(log(N - 1))``; the
forget score F is their mean, and the final score multiplies it by the retain and test
accuracy ratios (unlearned / retrained). With small ``N`` the estimate is coarse: label it so.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from workbench.audit._json import JsonRecord
from workbench.audit.gold import Progress, gold_standard, member_seed
from workbench.audit.model_cache import load_entry, write_entry
from workbench.audit.options import TRAINING_KEYWORDS, TrainingOptions
from workbench.audit.sets import audit_sets
from workbench.audit.shadow import default_cache_dir
from workbench.audit.signals import record_signals
from workbench.deprecation import legacy_keywords
from workbench.executor import Executor, TrainData, TrainJob, train_models
from workbench.hashing import canonical_json, table_sha256
from workbench.records import ForgetSet, RecordTable
from workbench.unlearn import unlearn_model

DELTA = 1e-5
EPSILON_CAP = 50.0
BUCKET_WIDTH = 0.5
INTERVAL_BUFFER = 2.0
CHALLENGE_MODELS = 512
ORIGINALS_FORMAT = "erasure-workbench/originals/1"


@dataclass(frozen=True)
class EpsilonEstimate(JsonRecord):
    """Per-example epsilon of each forgotten record, the forget score and the final score."""

    method: str
    n_models: int
    seed: int
    delta: float
    epsilon_cap: float
    scored_below: float
    bucket_points: tuple[float, ...]
    record_ids: tuple[str, ...]
    epsilons: tuple[float, ...]
    forget_score: float
    retain_accuracy_ratio: float | None
    test_accuracy_ratio: float | None
    final_score: float | None
    small_n: bool
    note: str


def example_epsilon(unlearned: np.ndarray, retrained: np.ndarray, *, delta: float = DELTA,
                    cap: float = EPSILON_CAP) -> float:
    """Epsilon of one example from its ``(N,)`` unlearned and ``(M,)`` retrained confidences."""
    u, r = np.asarray(unlearned, np.float64), np.asarray(retrained, np.float64)
    spread_u, spread_r = np.ptp(u), np.ptp(r)
    largest, smallest = max(spread_u, spread_r), min(spread_u, spread_r)
    if largest == 0.0:
        return 0.0 if u[0] == r[0] else cap
    if smallest / largest < 0.01:
        return cap
    values = np.unique(np.r_[u, r])
    pos, neg = (r, u) if np.median(r) > np.median(u) else (u, r)
    fpr = [np.mean(neg[:, None] >= values, axis=0)]
    fnr = [1.0 - np.mean(pos[:, None] >= values, axis=0)]
    peaky, broad = (u, r) if spread_u < spread_r else (r, u)
    upper = _challenge_intervals(values, smallest)
    for sample, rates in ((peaky, fnr), (broad, fpr)):
        s = np.sort(sample)
        inside = (np.searchsorted(s, values, side="right")[None, :]
                  - np.searchsorted(s, values, side="left")[:, None])[upper] / len(s)
        rates.append(1.0 - inside if rates is fnr else inside)
    fpr_all, fnr_all = np.concatenate(fpr), np.concatenate(fnr)
    if ((fpr_all == 0) & (fnr_all == 0)).any():
        return cap
    keep = (fpr_all > 0) & (fnr_all > 0)
    if not keep.any():
        return 0.0
    fp, fn = fpr_all[keep], fnr_all[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.stack([np.log(1.0 - delta - fp) - np.log(fn),
                           np.log(1.0 - delta - fn) - np.log(fp)])
    bounds = bounds[np.isfinite(bounds)]
    return float(min(cap, max(0.0, bounds.max()))) if bounds.size else 0.0


def _challenge_intervals(values: np.ndarray, width: float) -> np.ndarray:
    """``(m, m)`` bool: may ``[values[i], values[j]]`` stand for a double-threshold rule?

    As in the challenge, an interval must be about as wide as the peakier sample's range
    (within ``INTERVAL_BUFFER``); otherwise narrow windows fitted to noise would inflate
    epsilon. ``[v_i, v_j]`` selects the same samples as any ``[l, r]`` with ``l`` in
    ``(v_{i-1}, v_i]`` and ``r`` in ``[v_j, v_{j+1})``, so its achievable widths run from
    ``v_j - v_i`` to just under ``v_{j+1} - v_{i-1}``.
    """
    below = np.r_[-np.inf, values[:-1]]
    above = np.r_[values[1:], np.inf]
    narrowest = values[None, :] - values[:, None]
    widest = above[None, :] - below[:, None]
    return ((narrowest >= 0) & (narrowest <= width + INTERVAL_BUFFER)
            & (widest > width - INTERVAL_BUFFER))


def per_example_epsilon(unlearned: np.ndarray, retrained: np.ndarray, *, delta: float = DELTA,
                        cap: float = EPSILON_CAP) -> np.ndarray:
    """Epsilons ``(n,)`` from ``(N, n)`` unlearned and ``(M, n)`` retrained confidences."""
    unlearned, retrained = np.asarray(unlearned), np.asarray(retrained)
    if unlearned.ndim != 2 or retrained.ndim != 2 or unlearned.shape[1] != retrained.shape[1]:
        raise ValueError(f"confidences must be (models, examples) arrays over the same "
                         f"examples; got {unlearned.shape} and {retrained.shape}")
    if min(len(unlearned), len(retrained)) < 3:
        raise ValueError("per-example epsilon needs at least 3 models on each side")
    return np.array([example_epsilon(unlearned[:, i], retrained[:, i], delta=delta, cap=cap)
                     for i in range(unlearned.shape[1])])


def bucket_points(n_models: int) -> tuple[float, ...]:
    """Points of each 0.5-wide epsilon bucket from 0 up to ``ceil(log(n_models - 1))``."""
    top = math.ceil(math.log(max(n_models - 1, 1)))
    return tuple(0.5 ** i for i in range(int(top / BUCKET_WIDTH)))


def forget_score(epsilons: np.ndarray, n_models: int) -> float:
    """Mean bucket points of the epsilons (1 = indistinguishable from retraining)."""
    points = bucket_points(n_models)
    index = np.floor(np.asarray(epsilons) / BUCKET_WIDTH).astype(np.int64)
    earned = np.where(index < len(points), np.asarray(points + (0.0,))[
        np.minimum(index, len(points))], 0.0)
    return float(earned.mean())


def original_models(model: nn.Module, table: RecordTable, *, count: int, seed: int = 0,
                    cache_dir: str | Path | None = None,
                    executor: str | Executor | None = None) -> tuple[nn.Module, ...]:
    """``count`` models trained from scratch on the table's members with its recipe and
    seeds derived from ``seed``: draws of "the original" over training randomness. Trained
    through ``executor`` (:func:`workbench.executor.get_executor`) and cached (they trained
    on every member, so an erasure purges them)."""
    recipe = table.recipe
    if recipe is None:
        raise ValueError(f"table {table.name!r} carries no training recipe, so originals cannot "
                         "be retrained for the forget score: set table.recipe")
    members = np.zeros(len(table), dtype=bool)
    members[table.positions(table.members().ids)] = True
    arch = getattr(model, "spec", None) or f"{type(model).__module__}.{type(model).__qualname__}"
    key = {"format": ORIGINALS_FORMAT, "architecture": arch, "data_sha256": table_sha256(table),
           "recipe": recipe.to_dict(), "count": count, "seed": seed}
    digest = hashlib.sha256(canonical_json(key).encode()).hexdigest()
    folder = Path(cache_dir if cache_dir is not None else default_cache_dir()) / "originals" \
        / digest[:32]
    mask = np.tile(members, (count, 1))
    if folder.exists():
        return load_entry(folder, key, digest, mask, model)[0]
    jobs = [TrainJob(f"original {k + 1}/{count}", members, member_seed(seed, k + 1),
                     member_seed(seed, k + 1)) for k in range(count)]
    batch = train_models(TrainData.from_table(model, table, recipe), jobs, executor=executor)
    write_entry(folder, key, digest, mask, batch.models, {"executor": batch.executor})
    return batch.models


@legacy_keywords(moved={k: v.removeprefix("training.") for k, v in TRAINING_KEYWORDS.items()
                        if k != "workers"}, options="training", factory=TrainingOptions)
def estimate_epsilon(model: nn.Module, forget: ForgetSet, *, method: str = "synthetic",
                     params: Any = None, n_models: int = 8, seed: int = 0,
                     training: TrainingOptions | None = None,
                     progress: Progress | None = None) -> EpsilonEstimate:
    """Score every forgotten record's per-example epsilon between ``method`` and retraining,
    both drawn over training randomness as in the NeurIPS 2023 challenge: ``n_models``
    originals trained from scratch with different seeds, each unlearned with ``method``,
    against ``n_models`` retrains (the gold-standard ensemble). Costs ``2 * n_models``
    trainings (cached) and ``n_models`` unlearning runs. ``training`` says where they train
    and are cached (the old ``device=``, ``cache_dir=`` and ``executor=`` keywords still work
    for one release, with a ``DeprecationWarning``).
    """
    training = training or TrainingOptions()
    if n_models < 4:
        raise ValueError(f"per-example epsilon needs at least 4 models per side, got {n_models}")
    table = forget.table
    sets = audit_sets(table, forget)
    originals = original_models(model, table, count=n_models, seed=seed,
                                cache_dir=training.cache_dir, executor=training.executor)
    retrained = gold_standard(model, forget, count=n_models, seed=seed,
                              training=training).models
    phi: dict[str, list[np.ndarray]] = {"unlearned": [], "retrained": []}
    acc: dict[str, list[tuple[float, float]]] = {"unlearned": [], "retrained": []}
    for i, original in enumerate(originals):
        unlearned = unlearn_model(original, forget, method=method, params=params, retain="auto",
                                  seed=seed + i, device=training.device).require_model()
        for side, net in (("unlearned", unlearned), ("retrained", retrained[i])):
            sig = record_signals(net, table, name=f"the {side} model {i}")
            phi[side].append(sig.scaled_confidence[sets.forget])
            correct = sig.correct
            acc[side].append((float(correct[sets.retain].mean()) if len(sets.retain) else 0.0,
                              float(correct[sets.test].mean()) if len(sets.test) else 0.0))
        if progress is not None:
            progress(i + 1, n_models, f"epsilon models {i + 1}/{n_models}")
    return summarise_epsilon(method, seed, np.stack(phi["unlearned"]),
                             np.stack(phi["retrained"]), acc, sets, table)


def summarise_epsilon(method: str, seed: int, unlearned: np.ndarray, retrained: np.ndarray,
                      acc: dict[str, list[tuple[float, float]]], sets: Any,
                      table: RecordTable) -> EpsilonEstimate:
    """The estimate from ``(N, n)`` logit-scaled confidences of both sides."""
    n_models = len(unlearned)
    eps = per_example_epsilon(unlearned, retrained)
    score = forget_score(eps, n_models)
    mean_u, mean_r = np.mean(acc["unlearned"], axis=0), np.mean(acc["retrained"], axis=0)
    ratios = [float(mean_u[j] / mean_r[j]) if mean_r[j] > 0 and n else None
              for j, n in enumerate((len(sets.retain), len(sets.test)))]
    retain_ratio, test_ratio = ratios
    final = score * retain_ratio * test_ratio \
        if retain_ratio is not None and test_ratio is not None else None
    top = math.ceil(math.log(n_models - 1))
    small = n_models < CHALLENGE_MODELS
    note = (f"{'small-N estimate' if small else 'estimate'} from {n_models} originals (trained "
            f"with different seeds, each unlearned) and {n_models} retrained models (the "
            f"challenge used {CHALLENGE_MODELS}): epsilon is resolved only up to about "
            f"log(N - 1) = {math.log(n_models - 1):.2f}, records at or above {top} earn no "
            "points, and two sets of retrains already score well below 1 at this N (see "
            "benchmarks/RESULTS.md)")
    return EpsilonEstimate(
        method=method, n_models=n_models, seed=seed, delta=DELTA, epsilon_cap=EPSILON_CAP,
        scored_below=float(top), bucket_points=bucket_points(n_models),
        record_ids=tuple(table.ids[p] for p in sets.forget),
        epsilons=tuple(float(e) for e in eps), forget_score=score,
        retain_accuracy_ratio=ratios[0], test_accuracy_ratio=ratios[1], final_score=final,
        small_n=small, note=note)
