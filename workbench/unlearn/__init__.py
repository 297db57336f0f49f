"""Unlearning methods behind one verb, :func:`unlearn_model`, and one registry.

``workbench.unlearn`` is this package; calling it (and ``workbench.unlearn.unlearn``, the
verb's old name) still works for one release, with a ``DeprecationWarning``.
"""

from workbench.deprecation import callable_module, renamed_attributes
from workbench.unlearn import (  # noqa: F401  (importing registers each method)
    baselines,
    retrain,
    synthetic,
    synthetic_retain,
)
from workbench.unlearn.api import unlearn_model, unused_params
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
           "register_unlearner", "unlearn_model", "unused_params"]

callable_module(__name__, unlearn_model, "workbench.unlearn", "workbench.unlearn_model")
__getattr__ = renamed_attributes(__name__, unlearn="unlearn_model")
