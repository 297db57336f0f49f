"""Erasure Workbench: synthetic unlearning for PyTorch classifiers, and evidence it worked.

The verbs are ``unlearn_model`` and ``audit_model``; ``workbench.unlearn`` and
``workbench.audit`` are their packages (calling a package, the verbs' old names, still works
for one release with a ``DeprecationWarning``).
"""

from workbench.audit import (
    AuditOptions,
    AuditResult,
    GoldStandard,
    TrainingOptions,
    VerdictConfig,
    audit_model,
    gold_standard,
)
from workbench.card import ModelCard, UnseenProfile
from workbench.device import resolve_device
from workbench.hashing import weights_sha256
from workbench.models import load_model, save_model
from workbench.models.user_class import build_user_model
from workbench.records import Encoding, ForgetSet, RecordSet, RecordTable, TrainRecipe
from workbench.samples import Sample, list_samples, load_sample
from workbench.samples.pack import pack
from workbench.schema import FeatureSchema, FeatureSpec
from workbench.unlearn import (
    UnlearnResult,
    available_methods,
    check_unlearner,
    get_unlearner,
    param_specs,
    register_unlearner,
    unlearn_model,
    unused_params,
)

__all__ = [
    "AuditOptions", "AuditResult", "GoldStandard", "TrainingOptions", "VerdictConfig",
    "audit_model", "gold_standard",
    "UnlearnResult", "available_methods", "check_unlearner", "get_unlearner", "param_specs",
    "register_unlearner", "unlearn_model", "unused_params",
    "Encoding", "FeatureSchema", "FeatureSpec", "ForgetSet", "ModelCard", "RecordSet",
    "RecordTable", "Sample", "TrainRecipe", "build_user_model", "list_samples", "load_model",
    "UnseenProfile", "load_sample", "pack", "resolve_device", "save_model", "weights_sha256",
]
