"""Unlearning methods behind one verb, :func:`unlearn`, and one registry."""

from workbench.unlearn import baselines, retrain, synthetic  # noqa: F401  (registers methods)
from workbench.unlearn.api import unlearn
from workbench.unlearn.base import (
    DataAccess,
    RunContext,
    Unlearner,
    available_methods,
    get_unlearner,
    register_unlearner,
)
from workbench.unlearn.check import (
    CheckFailed,
    CheckReport,
    ContractFailure,
    check_unlearner,
    checks,
)
from workbench.unlearn.params import Params, ParamSpec, param, param_specs
from workbench.unlearn.result import TraceStep, UnlearnResult

__all__ = ["CheckFailed", "CheckReport", "ContractFailure", "DataAccess", "ParamSpec", "Params",
           "RunContext", "TraceStep", "UnlearnResult", "Unlearner", "available_methods",
           "check_unlearner", "checks", "get_unlearner", "param", "param_specs",
           "register_unlearner", "unlearn"]
