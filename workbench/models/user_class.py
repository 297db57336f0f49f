"""A user's own ``nn.Module`` class, named by import path (``package.module:Class``).

The class path and its constructor arguments are what the evidence records about a user's
architecture (the built-in ones record their ``spec``). Importing a class runs its module's
code, so a verifier imports one only when told to (``workbench verify --model-class``), never
because a record or a model file names it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from torch import nn

from workbench.errors import InputError
from workbench.models.io import load_model

ATTRIBUTE = "_workbench_class"  # set on instances built here: {"class": ..., "kwargs": ...}


def class_path(model: nn.Module) -> str:
    """``module:QualName`` of ``model``'s class."""
    return f"{type(model).__module__}:{type(model).__qualname__}"


def import_class(path: str) -> type[nn.Module]:
    """The ``nn.Module`` subclass at ``path`` (``package.module:Class``)."""
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise InputError(f"model class {path!r} must read package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"model class {path!r}: module {module_name!r} cannot be imported "
                         f"({error}); put its folder on PYTHONPATH or pip-install its "
                         "package") from None
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise InputError(f"model class {path!r}: {module_name} has no {name!r}")
    if not (isinstance(target, type) and issubclass(target, nn.Module)):
        raise InputError(f"model class {path!r} is not a torch.nn.Module subclass")
    return target


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """Constructor arguments given as a JSON object (None or empty: none)."""
    if not text:
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"--model-kwargs must be a JSON object: {error}") from None
    if not isinstance(kwargs, dict):
        raise InputError("--model-kwargs must be a JSON object, e.g. '{\"width\": 64}'")
    return kwargs


def build_user_model(path: str, kwargs: dict[str, Any] | None = None) -> nn.Module:
    """A fresh instance of the class at ``path``, remembering how it was built."""
    cls = import_class(path)
    try:
        model = cls(**(kwargs or {}))
    except TypeError as error:
        raise InputError(f"model class {path!r} cannot be built with arguments "
                         f"{kwargs or {}}: {error}; pass --model-kwargs") from None
    setattr(model, ATTRIBUTE, {"class": path, "kwargs": dict(kwargs or {})})
    return model


def user_architecture(model: nn.Module) -> dict[str, Any] | None:
    """``{"class": ..., "kwargs": ...}`` for a model built by :func:`build_user_model`."""
    built = getattr(model, ATTRIBUTE, None)
    return dict(built) if built else None


def architecture_of(model: nn.Module) -> dict[str, Any] | None:
    """What evidence and packages record to rebuild ``model``: a built-in ``spec``, or the
    user's class and arguments (:func:`build_user_model`); None when neither is known."""
    spec = getattr(model, "spec", None)
    return dict(spec) if spec else user_architecture(model)


def user_template(architecture: dict[str, Any], model_class: str | None, *,
                  holder: str) -> nn.Module | None:
    """A fresh instance of the user's class that ``architecture`` (recorded by ``holder``, e.g.
    "the record") names, or None for a built-in spec (or an older record naming a class it
    cannot build). Imported only when ``model_class`` names that same class."""
    named = architecture.get("class")
    if named is None or "name" in architecture or ":" not in named:
        return None
    if model_class is None:
        raise InputError(f"{holder} holds a user's own class {named!r}; pass --model-class "
                         f"{named} (model_class=) to import it (importing runs its code)")
    if model_class != named:
        raise InputError(f"model class {model_class!r} is not the class {holder} names "
                         f"({named!r})")
    return build_user_model(named, architecture.get("kwargs") or {})


def load_model_file(path: str | Path, model_class: str | None = None,
                    kwargs: dict[str, Any] | None = None) -> nn.Module:
    """A model file: a built-in architecture by its recorded spec, or, with ``model_class``,
    into a fresh instance of the user's class built with ``kwargs``."""
    template = build_user_model(model_class, kwargs) if model_class else None
    return load_model(path, model=template)
