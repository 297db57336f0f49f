"""The audit engine: did an unlearned model forget, and at what cost?

``audit(original, unlearned, records=..., forget=..., reference=...)`` returns an
``AuditResult``. Underneath, the membership inference runs in three pure stages:
``signals`` (per-record model outputs) -> ``attack_scores`` (LOSS, offline RMIA, offline
LiRA; higher = member) -> ``attack_metrics`` (AUC, balanced accuracy, TPR at low FPR, ROC,
bootstrap intervals).
"""

from workbench.audit.api import audit
from workbench.audit.attacks import (
    ATTACK_NAMES,
    AttackOptions,
    ReferenceSignals,
    attack_scores,
    lira_attack,
    loss_attack,
    rmia_attack,
    tune_rmia_a,
)
from workbench.audit.confidence import ConfidenceReport, RecordConfidence
from workbench.audit.drift import Accuracy, DriftReport
from workbench.audit.epsilon import (
    EpsilonEstimate,
    estimate_epsilon,
    forget_score,
    per_example_epsilon,
)
from workbench.audit.flags import FlaggedRecord, RecordFlags
from workbench.audit.gold import DEFAULT_GOLD_COUNT, GoldStandard, gold_standard
from workbench.audit.metrics import AttackMetrics, attack_metrics, roc_auc, roc_curve, tpr_at_fpr
from workbench.audit.model_cache import PurgeReport, purge_trained_on
from workbench.audit.reference import (
    CacheError,
    ReferenceModels,
    default_cache_dir,
    reference_models,
)
from workbench.audit.result import AuditResult, MembershipResult, ReferenceInfo
from workbench.audit.signals import Signals, signals
from workbench.audit.verdict import DECISION_RULE, Verdict, VerdictConfig, Yardstick

__all__ = [
    "ATTACK_NAMES", "DECISION_RULE", "DEFAULT_GOLD_COUNT", "GoldStandard", "PurgeReport",
    "Yardstick", "gold_standard", "purge_trained_on", "Accuracy", "AttackMetrics",
    "AttackOptions", "AuditResult", "CacheError",
    "ConfidenceReport", "DriftReport", "EpsilonEstimate", "FlaggedRecord", "MembershipResult",
    "RecordConfidence", "RecordFlags", "ReferenceInfo", "ReferenceModels", "ReferenceSignals",
    "Signals", "Verdict", "VerdictConfig", "attack_metrics", "attack_scores", "audit",
    "default_cache_dir", "estimate_epsilon", "forget_score", "lira_attack", "loss_attack",
    "per_example_epsilon", "reference_models", "rmia_attack", "roc_auc", "roc_curve", "signals",
    "tpr_at_fpr", "tune_rmia_a",
]
