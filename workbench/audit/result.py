"""``AuditResult``: everything an audit found, as a frozen, JSON-native record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.audit._json import JsonRecord
from workbench.audit.confidence import ConfidenceReport
from workbench.audit.drift import DriftReport
from workbench.audit.epsilon import EpsilonEstimate
from workbench.audit.flags import RecordFlags
from workbench.audit.metrics import AttackMetrics
from workbench.audit.verdict import Verdict, VerdictConfig
from workbench.deprecation import renamed_attributes, warn

SCHEMA_VERSION = 2  # 2: calibrated verdicts, gold-standard ensembles, three questions
MODEL_NAMES = ("original", "unlearned", "gold_standard")
COMPARISONS = ("forget", "retain")


@dataclass(frozen=True)
class MembershipResult(JsonRecord):
    """One attack on one model for one comparison.

    ``comparison`` is ``forget`` (forget set vs its non-members: the erasure question) or
    ``retain`` (retain set vs held-out: collateral leakage).
    """

    attack: str
    model: str
    comparison: str
    metrics: AttackMetrics


@dataclass(frozen=True)
class ShadowInfo(JsonRecord):
    """The shadow models behind RMIA and LiRA, and how the attacks used them."""

    count: int
    out_per_record: int
    seed: int
    cache_key_sha256: str
    from_cache: bool
    train_time_s: float
    rmia_a: float
    rmia_a_source: str
    rmia_gamma: float
    lira_fixed_variance: bool
    note: str
    weights_sha256: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditResult(JsonRecord):
    """What an audit measured and decided.

    Attributes:
        compared_to: ``"gold standard"`` when retrained models were given, else
            ``"held-out non-members"`` (the forget-set tests then target non-members).
        gold_standard_sha256s: weights hashes of the gold-standard models (empty without).
        membership: one entry per attack, model and comparison (see :meth:`metrics`).
        confidence: before/after confidence of each forgotten record (sensitive: it reveals
            who was forgotten).
        drift: accuracy of each model on each record group, and the deltas.
        verdicts: PASS / FAIL / INCONCLUSIVE per test (see ``decision_rule``).
        erasure, collateral, utility: the verdict of each question (group of tests).
        overall: the erasure verdict (never decided by a utility or collateral number).
        decision_rule: the rule the verdicts follow, in words, with the numbers used.
        flags: forgotten records that still look like members.
        config: the thresholds used.
        shadow_models: the shadow models (None when only the LOSS attack ran). JSON key
            ``reference`` (its name before; signed records keep it).
        epsilon: the per-example epsilon estimate, when requested.
        forget_ids: the audited forget set's ids, for checks in this process (not written to
            JSON: they would name who was erased).
    """

    seed: int
    attacks: tuple[str, ...]
    records_name: str
    data_sha256: str
    forget_rule: str
    forget_count: int
    is_class_request: bool
    non_member_rule: str
    non_member_count: int
    retain_count: int
    original_sha256: str
    unlearned_sha256: str
    gold_standard_sha256s: tuple[str, ...]
    unlearned_method: str | None
    compared_to: str
    membership: tuple[MembershipResult, ...]
    confidence: ConfidenceReport
    drift: DriftReport
    verdicts: tuple[Verdict, ...]
    erasure: str
    collateral: str
    utility: str
    overall: str
    decision_rule: str
    flags: RecordFlags
    config: VerdictConfig
    shadow_models: ShadowInfo | None = field(metadata={"key": "reference"})
    epsilon: EpsilonEstimate | None
    notes: tuple[str, ...]
    wall_time_s: float
    schema_version: int = SCHEMA_VERSION
    forget_ids: tuple[str, ...] | None = field(default=None, compare=False, repr=False,
                                               metadata={"json": False})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditResult:
        """Rebuild from :meth:`to_dict` output; other schema versions raise ``ValueError``."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise ValueError(f"audit result has schema_version {version!r}; this workbench "
                             f"reads version {SCHEMA_VERSION}")
        return super().from_dict(data)

    def metrics(self, attack: str, model: str = "unlearned",
                comparison: str = "forget") -> AttackMetrics:
        """The metrics of ``attack`` on ``model`` (original / unlearned / gold_standard)."""
        for entry in self.membership:
            if (entry.attack, entry.model, entry.comparison) == (attack, model, comparison):
                return entry.metrics
        raise KeyError(f"no {attack!r} result for model {model!r} and comparison "
                       f"{comparison!r}; attacks run: {list(self.attacks)}")

    @property
    def reference(self) -> ShadowInfo | None:
        """Deprecated: :attr:`shadow_models` (one release)."""
        warn("AuditResult.reference is deprecated: use AuditResult.shadow_models")
        return self.shadow_models

    @property
    def gold_standard_count(self) -> int:
        return len(self.gold_standard_sha256s)

    def verdict(self, test: str) -> Verdict:
        """The verdict of ``test`` (e.g. ``mia_forget_lira``, ``test_accuracy``)."""
        for v in self.verdicts:
            if v.test == test:
                return v
        raise KeyError(f"no verdict {test!r}; tests: {[v.test for v in self.verdicts]}")


__getattr__ = renamed_attributes(__name__, ReferenceInfo="ShadowInfo")
