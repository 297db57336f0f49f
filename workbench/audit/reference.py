"""Deprecated: this module is now :mod:`workbench.audit.shadow` (one release).

Every name still resolves here, with a ``DeprecationWarning``; importing the module alone
does not warn.
"""

from __future__ import annotations

from typing import Any

from workbench.audit import shadow as _shadow
from workbench.deprecation import warn

_RENAMED = {"ReferenceModels": "ShadowModels", "reference_models": "shadow_models",
            "reference_jobs": "shadow_jobs", "reference_key": "shadow_key"}


def __getattr__(name: str) -> Any:
    new = _RENAMED.get(name, name)
    if name.startswith("__") or not hasattr(_shadow, new):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warn(f"{__name__}.{name} is deprecated: use workbench.audit.shadow.{new}")
    return getattr(_shadow, new)
