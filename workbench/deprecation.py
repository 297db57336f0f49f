"""Old names that keep working for one release, each with a ``DeprecationWarning``.

Three shapes of rename, one helper each:

- a verb renamed because it shadowed its own module (``workbench.audit`` was a function over
  the package ``workbench.audit``): :func:`callable_module` makes the module itself callable,
  so ``workbench.audit`` is the package again and ``workbench.audit(...)`` still runs;
- a module attribute renamed (``workbench.audit.audit``): :func:`renamed_attributes` gives
  the module a ``__getattr__`` that warns and hands back the new object;
- a keyword renamed, or moved into an options object: the decorator :func:`legacy_keywords`
  (the function keeps its honest signature: an unknown keyword is still a ``TypeError``).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

REMOVAL = "will be removed in the next release"


def warn(message: str, stacklevel: int = 3) -> None:
    """One ``DeprecationWarning``, attributed to the caller of the deprecated name."""
    warnings.warn(f"{message} ({REMOVAL})", DeprecationWarning, stacklevel=stacklevel)


class _CallableModule(types.ModuleType):
    """A module that can be called as the function that used to shadow it (deprecated)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        old, new, target = self.__dict__["_deprecated_call"]
        warn(f"calling {old}(...) is deprecated: call {new}(...)")
        return target(*args, **kwargs)


def callable_module(module: str, target: Callable[..., Any], old: str, new: str) -> None:
    """Make the module ``module`` callable as ``target`` (``old`` is what users called)."""
    mod = sys.modules[module]
    mod.__dict__["_deprecated_call"] = (old, new, target)
    mod.__class__ = _CallableModule


def renamed_attributes(module: str, **renamed: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves each old name (key) as its new one (value)."""

    def __getattr__(name: str) -> Any:
        if name in renamed:
            warn(f"{module}.{name} is deprecated: use {module}.{renamed[name]}", stacklevel=3)
            return getattr(sys.modules[module], renamed[name])
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


F = TypeVar("F", bound=Callable[..., Any])


def legacy_keywords(*, renamed: Mapping[str, str] | None = None,
                    moved: Mapping[str, str] | None = None, options: str = "options",
                    factory: Callable[[], Any] | None = None) -> Callable[[F], F]:
    """Accept a function's old keywords for one release, warning once per call.

    ``renamed`` maps an old keyword to its new name; ``moved`` maps an old keyword to the
    field (dotted for nested options, e.g. ``"training.device"``) of the frozen options
    dataclass passed as ``options`` (built with ``factory`` when the call gave none). The
    function's own signature is untouched: any other unknown keyword still raises Python's
    ``TypeError`` naming it.
    """
    renamed, moved = dict(renamed or {}), dict(moved or {})

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            old = [k for k in kwargs if k in renamed or k in moved]
            if not old:
                return function(*args, **kwargs)
            name = function.__name__
            for key in (k for k in old if k in renamed and renamed[k] in kwargs):
                raise TypeError(f"{name}() got both {key!r} (deprecated) and {renamed[key]!r}")
            warn(f"{name}(): " + ", ".join(
                f"{k}= is now {renamed[k]}=" if k in renamed else
                f"{k}= is now {options}.{moved[k]}" for k in old))
            for key in (k for k in old if k in renamed):
                kwargs[renamed[key]] = kwargs.pop(key)
            if any(k in moved for k in old):
                if factory is None:  # pragma: no cover - a wiring error, caught by tests
                    raise TypeError(f"{name}(): moved keywords need a factory")
                target = kwargs.get(options) or factory()
                for key in (k for k in old if k in moved):
                    target = _replace_path(target, moved[key].split("."), kwargs.pop(key))
                kwargs[options] = target
            return function(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def _replace_path(obj: Any, path: list[str], value: Any) -> Any:
    """``obj`` (a frozen dataclass) with the field at ``path`` set to ``value``."""
    head, *rest = path
    new = _replace_path(getattr(obj, head), rest, value) if rest else value
    return dataclasses.replace(obj, **{head: new})
