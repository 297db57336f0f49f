"""The audit engine: did an unlearned model forget, and at what cost?

``audit_model(original, unlearned, records=..., forget=..., gold_standard=...)`` returns an
``AuditResult``. Underneath, the membership inference runs in three pure stages:
``record_signals`` (per-record model outputs) -> ``attack_scores`` (LOSS, offline RMIA, offline
LiRA; higher = member) -> ``attack_metrics`` (AUC, balanced accuracy, TPR at low FPR, ROC,
bootstrap intervals).

``workbench.audit`` is this package; the verb is ``audit_model`` (calling the package, and
the old names ``workbench.audit.audit`` and ``workbench.audit.signals(...)``, still work for
one release with a ``DeprecationWarning``).
"""

from workbench.audit.api import audit_model
from workbench.audit.attacks import (
    ATTACK_NAMES,
    AttackOptions,
    ShadowSignals,
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
from workbench.audit.options import AuditOptions, TrainingOptions
from workbench.audit.result import AuditResult, MembershipResult, ShadowInfo
from workbench.audit.shadow import (
    CacheError,
    ShadowModels,
    default_cache_dir,
    shadow_models,
)
from workbench.audit.signals import Signals, record_signals
from workbench.audit.verdict import DECISION_RULE, Verdict, VerdictConfig, Yardstick
from workbench.deprecation import callable_module, renamed_attributes

__all__ = [
    "ATTACK_NAMES", "DECISION_RULE", "DEFAULT_GOLD_COUNT", "Accuracy", "AttackMetrics",
    "AttackOptions", "AuditOptions", "AuditResult", "CacheError", "ConfidenceReport",
    "DriftReport", "EpsilonEstimate", "FlaggedRecord", "GoldStandard", "MembershipResult",
    "PurgeReport", "RecordConfidence", "RecordFlags", "ShadowInfo", "ShadowModels",
    "ShadowSignals", "Signals", "TrainingOptions", "Verdict", "VerdictConfig", "Yardstick",
    "attack_metrics", "attack_scores", "audit_model", "default_cache_dir", "estimate_epsilon",
    "forget_score", "gold_standard", "lira_attack", "loss_attack", "per_example_epsilon",
    "purge_trained_on", "record_signals", "rmia_attack", "roc_auc", "roc_curve",
    "shadow_models", "tpr_at_fpr", "tune_rmia_a",
]

callable_module(__name__, audit_model, "workbench.audit", "workbench.audit_model")
__getattr__ = renamed_attributes(
    __name__, audit="audit_model", ReferenceInfo="ShadowInfo", ReferenceModels="ShadowModels",
    ReferenceSignals="ShadowSignals", reference_models="shadow_models")
