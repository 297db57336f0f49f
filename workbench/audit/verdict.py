"""Verdicts: PASS / FAIL / INCONCLUSIVE per test, with thresholds that are data.

Each test has a band of allowed values for a difference (unlearned minus its target) and a
bootstrap interval for it. The interval inside the band is a PASS and wholly outside it a
FAIL. An interval across an edge is decided by the point estimate when it is at most
``max_interval_width`` wide, and is INCONCLUSIVE otherwise (too wide to decide).

The target is the gold standard (a model retrained without the forget set) when one is
given; the membership band is two-sided, and a forget set *less* member-like than under the
gold standard is over-forgetting (the Streisand effect): flagged, never praised. Without a
gold standard, the forget set is compared with held-out non-members (AUC 0.5, their
accuracy), weighted to the forget set's class mix for a record request, and utility with the
original model, and each verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.audit._json import JsonRecord
from workbench.audit.metrics import bootstrap_stats, bootstrap_weights, interval, roc_auc

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
GOLD, NON_MEMBERS, ORIGINAL = "gold standard", "held-out non-members", "original model"


@dataclass(frozen=True)
class VerdictConfig(JsonRecord):
    """Thresholds of every verdict (recorded in the result).

    Attributes:
        mia_auc_tolerance: allowed |AUC(unlearned) - AUC(target)|, forget vs non-members.
        retain_mia_auc_increase: allowed rise of the retain-vs-held-out AUC (collateral
            leakage) over the gold standard (or the original model without one).
        forget_accuracy_tolerance: allowed |forget accuracy - target's|.
        test_accuracy_drop: allowed fall of test accuracy below the target's.
        retain_accuracy_drop: allowed fall of retain accuracy below the target's.
        max_interval_width: widest bootstrap interval that may still decide a verdict.
        record_flag_fpr: a forgotten record is flagged when its membership score exceeds
            this upper quantile of the non-members' scores.
        n_bootstrap, confidence_level: the bootstrap behind every interval.
    """

    mia_auc_tolerance: float = 0.05
    retain_mia_auc_increase: float = 0.05
    forget_accuracy_tolerance: float = 0.10
    test_accuracy_drop: float = 0.02
    retain_accuracy_drop: float = 0.05
    max_interval_width: float = 0.2
    record_flag_fpr: float = 0.05
    n_bootstrap: int = 1000
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        for name in ("mia_auc_tolerance", "retain_mia_auc_increase", "forget_accuracy_tolerance",
                     "test_accuracy_drop", "retain_accuracy_drop", "max_interval_width"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"VerdictConfig.{name} must lie in [0, 1], got {value}")
        if not 0.0 < self.record_flag_fpr < 1.0:
            raise ValueError(f"record_flag_fpr must lie in (0, 1), got {self.record_flag_fpr}")
        if not 0.5 <= self.confidence_level < 1.0:
            raise ValueError(f"confidence_level must lie in [0.5, 1), got {self.confidence_level}")
        if self.n_bootstrap < 100:
            raise ValueError(f"n_bootstrap must be at least 100, got {self.n_bootstrap}")


@dataclass(frozen=True)
class Verdict(JsonRecord):
    """One test's outcome.

    ``difference`` is ``value - target`` and ``interval`` its bootstrap interval;
    ``allowed`` the band the difference must lie in (None: unbounded on that side).
    """

    test: str
    question: str
    status: str
    metric: str
    value: float
    target: float
    difference: float
    interval: tuple[float, float]
    allowed: tuple[float | None, float | None]
    compared_to: str
    over_forgetting: bool
    reason: str


def decide(difference: float, ci: tuple[float, float], low: float | None, high: float | None,
           max_width: float) -> tuple[str, str]:
    """Status and the reason for a difference, its interval and the allowed band."""
    if not np.isfinite(ci).all():
        return INCONCLUSIVE, (f"difference {difference:+.3f}: no bootstrap interval could be "
                              "estimated; more records would settle it")
    lo, hi = (-np.inf if low is None else low), (np.inf if high is None else high)
    band = (f"[{'-inf' if low is None else f'{low:+.3f}'}, "
            f"{'inf' if high is None else f'{high:+.3f}'}]")
    seen = f"difference {difference:+.3f}, interval [{ci[0]:+.3f}, {ci[1]:+.3f}], allowed {band}"
    if lo <= ci[0] and ci[1] <= hi:
        return PASS, f"{seen}: the whole interval is within tolerance"
    if ci[0] > hi or ci[1] < lo:
        return FAIL, f"{seen}: the whole interval is outside tolerance"
    width = ci[1] - ci[0]
    if width > max_width:
        return INCONCLUSIVE, (f"{seen}: the interval (width {width:.3f} > {max_width}) is too "
                              "wide to decide; more records would settle it")
    inside = lo <= difference <= hi
    return (PASS if inside else FAIL), (f"{seen}: the interval straddles the tolerance edge; "
                                        f"the point estimate is {'in' if inside else 'out'}side")


def paired_auc_difference(scores: np.ndarray, target_scores: np.ndarray | None,
                          is_member: np.ndarray, config: VerdictConfig, seed: int,
                          baseline: float = 0.5, record_weights: np.ndarray | None = None,
                          ) -> tuple[float, float, float, tuple[float, float]]:
    """(AUC, target AUC, difference, interval): records resampled alike for both models.

    Without ``target_scores`` the target is the constant ``baseline``. ``record_weights``
    ``(N,)`` weigh each record in every AUC (for instance non-members reweighted to the
    members' class mix).
    """
    weights = bootstrap_weights(is_member, config.n_bootstrap, seed, record_weights)
    auc = roc_auc(scores, is_member, record_weights)
    boot = bootstrap_stats(scores, is_member, weights)["auc"]
    if target_scores is None:
        target, target_boot = baseline, np.full_like(boot, baseline)
    else:
        target = roc_auc(target_scores, is_member, record_weights)
        target_boot = bootstrap_stats(target_scores, is_member, weights)["auc"]
    return (auc, float(target), auc - target,
            interval(boot - target_boot, config.confidence_level))


def mean_difference(values: np.ndarray, target: np.ndarray, config: VerdictConfig,
                    seed: int, *, paired: bool, target_weights: np.ndarray | None = None,
                    ) -> tuple[float, float, float, tuple[float, float]]:
    """(mean, target mean, difference, interval) of per-record values such as correctness.

    ``paired``: ``target`` holds the same records (under another model) and is resampled
    with ``values``; otherwise it is an independent sample, resampled on its own, and
    ``target_weights`` (unpaired only) make its mean a weighted one.
    """
    rng = np.random.default_rng(seed)
    n = config.n_bootstrap

    def boot(v: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        if w is None:
            return rng.multinomial(len(v), np.full(len(v), 1.0 / len(v)), size=n) @ v / len(v)
        total = np.zeros(n)  # weighted: resampled within each group of equal weight
        for level in np.unique(w[w > 0]):
            group = v[w == level]
            counts = rng.multinomial(len(group), np.full(len(group), 1.0 / len(group)), size=n)
            total += level * (counts @ group)
        return total / w.sum()

    values, target = values.astype(np.float64), target.astype(np.float64)
    if paired:
        if len(target) != len(values) or target_weights is not None:
            raise ValueError("paired samples must have the same length and no weights")
        diffs = boot(values - target)
        target_mean = float(target.mean())
    else:
        w = None if target_weights is None else np.asarray(target_weights, dtype=np.float64)
        diffs = boot(values) - boot(target, w)
        target_mean = float(target.mean() if w is None else (target * w).sum() / w.sum())
    return (float(values.mean()), target_mean, float(values.mean()) - target_mean,
            interval(diffs, config.confidence_level))


def make_verdict(test: str, question: str, metric: str, numbers: tuple, allowed: tuple,
                 compared_to: str, config: VerdictConfig, *,
                 over_forgetting_below: float | None = None) -> Verdict:
    """Build a verdict from ``(value, target, difference, interval)`` and the allowed band."""
    value, target, diff, ci = numbers
    status, reason = decide(diff, ci, allowed[0], allowed[1], config.max_interval_width)
    over = over_forgetting_below is not None and diff < over_forgetting_below
    if over:
        reason = (f"over-forgetting (Streisand effect): the forget set is now less member-like "
                  f"than under the {compared_to}, which itself marks the erased records; {reason}")
    return Verdict(test=test, question=question, status=status, metric=metric, value=value,
                   target=target, difference=diff, interval=ci, allowed=allowed,
                   compared_to=compared_to, over_forgetting=over,
                   reason=f"compared with the {compared_to}: {reason}")


def overall_status(verdicts: tuple[Verdict, ...]) -> str:
    """FAIL if any test fails, else INCONCLUSIVE if any is, else PASS."""
    statuses = {v.status for v in verdicts}
    return FAIL if FAIL in statuses else INCONCLUSIVE if INCONCLUSIVE in statuses else PASS
