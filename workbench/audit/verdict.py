"""Verdicts: PASS / FAIL / INCONCLUSIVE per test, calibrated against retraining's own spread.

Every test asks whether a number (the unlearned model's forget-set membership AUC, its
forget accuracy, ...) lies where the same number lies for models that never saw the forget
set. Those models are the gold standard (``K`` retrains) or, without one, held-out
non-members (forget-set questions) and the original model (collateral and utility).
Each test carries a :class:`Yardstick`: the target (the gold models' mean), the spread of
one such model around it, and how uncertain the target itself is. The decision rule,
:data:`DECISION_RULE`, is an equivalence test:

- the **band** holds ``band_coverage`` (99%) of the values a model that never saw the
  forget set takes: ``target +- z * spread`` (one-sided tests have one edge), never
  narrower than the test's stated floor;
- the **interval** is the difference ``value - target`` with the target's uncertainty,
  at ``confidence_level`` (90% two-sided: each edge a one-sided 95% test, as in TOST);
- **PASS** when the interval lies inside the band, **FAIL** when it lies wholly outside,
  **INCONCLUSIVE** otherwise.

Measured, not assumed (``benchmarks/audit_calibration.py``): an independent retrain is
FAILed on at most a few percent of random requests and the untouched sample models on
nearly all of them. A forget-set test the untouched original would PASS too has no power:
it says so instead of PASS. Below ``min_forget_records`` a forget-set PASS is reported as
INCONCLUSIVE (too small to decide).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from workbench.audit._json import JsonRecord

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
STATUSES = (PASS, FAIL, INCONCLUSIVE)
GOLD, NON_MEMBERS, ORIGINAL = "gold standard", "held-out non-members", "original model"
ERASURE, COLLATERAL, UTILITY = "erasure", "collateral", "utility"
GROUPS = (ERASURE, COLLATERAL, UTILITY)
TWO_SIDED, UPPER, LOWER = "two-sided", "at most", "at least"
DECISION_RULE = (
    "Equivalence test against models that never saw the forget set. The band holds "
    "{coverage:.0%} of the values such a model takes (target +- z x spread, z from the "
    "normal distribution; one edge for one-sided tests; never narrower than the test's "
    "floor). The interval is the unlearned model's difference from the target with the "
    "target's uncertainty ({level:.0%}, two-sided). PASS: the interval lies inside the band. "
    "FAIL: it lies wholly outside. INCONCLUSIVE: it crosses an edge. A forget-set test that "
    "the untouched original would also PASS has no power and is INCONCLUSIVE; so is a "
    "forget-set PASS on fewer than {min_forget} records. Each question (erasure, collateral, "
    "utility) FAILs if any of its tests FAILs, PASSes if every test with power PASSes, and "
    "is INCONCLUSIVE otherwise.")


@dataclass(frozen=True)
class VerdictConfig(JsonRecord):
    """The decision rule's settings (recorded with every result).

    Attributes:
        band_coverage: share of never-trained-on models whose value the band holds.
        confidence_level: two-sided level of the interval on the difference.
        min_forget_records: fewer forgotten records and a forget-set test cannot PASS.
        test_accuracy_drop: the utility band's floor: a test-accuracy drop below the target
            this small always passes, whatever the retrains' spread.
        retain_accuracy_drop: the same for retain accuracy (judged only when asked).
        retain_mia_auc_increase: the collateral band's floor (retain-set AUC rise).
        judge_retain_accuracy: judge retain accuracy as utility (off: shown, not judged; a
            retrained model memorises its retain set, an unlearned one need not).
        record_flag_fpr: a forgotten record is flagged when its membership score exceeds
            this upper quantile of the non-members' scores.
        n_bootstrap: bootstrap replicates behind every spread and interval.
        compare_limit: at most this many records in each group a forget-set or retain-set
            test compares (non-members, retained records, held-out and test records), drawn
            with the audit's seed, so the audit's time and memory follow the forget set, not
            the table (None: every record). The forget set itself is never sampled; the
            groups' rules in the result say when a sample was drawn.
    """

    band_coverage: float = 0.99
    confidence_level: float = 0.90
    min_forget_records: int = 25
    test_accuracy_drop: float = 0.02
    retain_accuracy_drop: float = 0.05
    retain_mia_auc_increase: float = 0.02
    judge_retain_accuracy: bool = False
    record_flag_fpr: float = 0.05
    n_bootstrap: int = 1000
    compare_limit: int | None = 5_000

    def __post_init__(self) -> None:
        for name in ("band_coverage", "confidence_level"):
            value = getattr(self, name)
            if not 0.5 <= value < 1.0:
                raise ValueError(f"VerdictConfig.{name} must lie in [0.5, 1), got {value}")
        for name in ("test_accuracy_drop", "retain_accuracy_drop", "retain_mia_auc_increase"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"VerdictConfig.{name} must lie in [0, 1], got {value}")
        if not 0.0 < self.record_flag_fpr < 1.0:
            raise ValueError(f"record_flag_fpr must lie in (0, 1), got {self.record_flag_fpr}")
        if self.n_bootstrap < 100:
            raise ValueError(f"n_bootstrap must be at least 100, got {self.n_bootstrap}")
        if self.compare_limit is not None and self.compare_limit < 1000:
            raise ValueError(f"compare_limit must be at least 1000 (or None: every record), "
                             f"got {self.compare_limit}")
        if self.min_forget_records < 1:
            raise ValueError(f"min_forget_records must be at least 1, got "
                             f"{self.min_forget_records}")

    @property
    def rule(self) -> str:
        """The decision rule in words, with this configuration's numbers."""
        return DECISION_RULE.format(coverage=self.band_coverage, level=self.confidence_level,
                                    min_forget=self.min_forget_records)

    def band_z(self, side: str) -> float:
        """Standard-normal multiple of the spread at the band's edge."""
        tail = (1.0 - self.band_coverage) / (2.0 if side == TWO_SIDED else 1.0)
        return NormalDist().inv_cdf(1.0 - tail)

    @property
    def interval_z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence_level / 2.0)


@dataclass(frozen=True)
class Yardstick(JsonRecord):
    """What a model that never saw the forget set scores on one test.

    Attributes:
        compared_to: ``gold standard``, ``held-out non-members`` or ``original model``.
        models: gold-standard models behind it (0 without a gold standard).
        target: their mean value (or the non-members' / original's value).
        spread: standard deviation of one such model's value around ``target`` (the larger
            of the between-retrain and the record-bootstrap estimate; 0 where only a floor
            applies).
        target_sd: standard deviation of ``target`` itself (``spread / sqrt(K)`` for an
            ensemble; for one model its own deviation; the record bootstrap otherwise).
        floor: the band's smallest half-width (one record's worth, or a stated tolerance).
    """

    compared_to: str
    models: int
    target: float
    spread: float
    target_sd: float
    floor: float


@dataclass(frozen=True)
class Verdict(JsonRecord):
    """One test's outcome under :data:`DECISION_RULE`.

    ``difference`` is ``value - target``; ``interval`` its interval; ``allowed`` the band
    (None: unbounded on that side). ``power`` is False when the untouched original passes
    the test too (forget-set tests only; None elsewhere).
    """

    test: str
    group: str
    question: str
    metric: str
    status: str
    value: float
    target: float
    difference: float
    interval: tuple[float, float]
    allowed: tuple[float | None, float | None]
    side: str
    yardstick: Yardstick
    power: bool | None
    original_value: float | None
    original_status: str | None
    over_forgetting: bool
    reason: str

    @property
    def compared_to(self) -> str:
        return self.yardstick.compared_to


def band(yardstick: Yardstick, side: str, config: VerdictConfig) -> tuple[float | None,
                                                                          float | None]:
    """The allowed range of the difference ``value - target``."""
    half = max(yardstick.floor, config.band_z(side) * yardstick.spread)
    return (None if side == UPPER else -half, None if side == LOWER else half)


def decide(difference: float, yardstick: Yardstick, side: str,
           config: VerdictConfig) -> tuple[str, tuple[float, float], tuple[float | None,
                                                                          float | None]]:
    """(status, interval, band) of a difference under :data:`DECISION_RULE`."""
    allowed = band(yardstick, side, config)
    width = config.interval_z * yardstick.target_sd
    ci = (difference - width, difference + width)
    if not (np.isfinite(difference) and np.isfinite(width)):
        return INCONCLUSIVE, ci, allowed
    lo = -np.inf if allowed[0] is None else allowed[0]
    hi = np.inf if allowed[1] is None else allowed[1]
    if lo <= ci[0] and ci[1] <= hi:
        return PASS, ci, allowed
    if ci[0] > hi or ci[1] < lo:
        return FAIL, ci, allowed
    return INCONCLUSIVE, ci, allowed


def _edge(value: float | None, sign: str) -> str:
    if value is None:
        return f"{sign}inf"
    return f"{value:+.3f}"


def describe(status: str, difference: float, ci: tuple[float, float],
             allowed: tuple[float | None, float | None], yardstick: Yardstick) -> str:
    """The numbers behind a status, in one sentence."""
    who = (f"{yardstick.models} retrained model{'s' if yardstick.models != 1 else ''}"
           if yardstick.compared_to == GOLD else f"the {yardstick.compared_to}")
    seen = (f"difference from {who} {difference:+.3f}, interval [{ci[0]:+.3f}, {ci[1]:+.3f}], "
            f"band [{_edge(allowed[0], '-')}, {_edge(allowed[1], '+')}]")
    if status == PASS:
        return f"{seen}: the interval lies inside the band"
    if status == FAIL:
        return f"{seen}: the interval lies wholly outside the band"
    if not np.isfinite(ci).all():
        return f"{seen}: the interval could not be estimated"
    return f"{seen}: the interval crosses the band's edge; more records or more " \
           "gold-standard models would settle it"


def group_status(verdicts: tuple[Verdict, ...] | list[Verdict], group: str) -> str:
    """FAIL if a test of ``group`` fails, PASS if every test with power passes (and one has
    power), else INCONCLUSIVE. A group with no test is INCONCLUSIVE."""
    judged = [v for v in verdicts if v.group == group]
    if any(v.status == FAIL for v in judged):
        return FAIL
    powered = [v for v in judged if v.power is not False]
    if powered and all(v.status == PASS for v in powered):
        return PASS
    return INCONCLUSIVE


def overall_status(verdicts: tuple[Verdict, ...] | list[Verdict]) -> str:
    """The erasure verdict: never decided by a utility or collateral number."""
    return group_status(verdicts, ERASURE)
