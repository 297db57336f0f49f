"""The unlearner protocol, its registry, and the context a running method receives."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from workbench.progress import Progress
from workbench.records import ForgetSet, RecordSet
from workbench.unlearn.params import Params
from workbench.unlearn.result import TraceStep

# The parameters class a method takes (``Unlearner[FinetuneParams]``).
P = TypeVar("P", bound=Params)


class DataAccess(enum.StrEnum):
    """What a method may read besides the model."""

    FORGET_ONLY = "forget_only"  # the forget records and the feature schema; never retain data
    RETAIN_ONLY = "retain_only"  # the retain records (retrain, fine-tune)
    FORGET_AND_RETAIN = "forget_and_retain"

    @property
    def needs_retain(self) -> bool:
        return self is not DataAccess.FORGET_ONLY


# the declared-inputs key of the retain records a method read, when fewer than it was given
RETAIN_READ = "retain_records_read"


@dataclass
class RunContext:
    """What a method gets besides its data: device, seeded generator, progress and trace.

    ``forget_inputs``/``forget_labels`` are kept to log mean forget confidence in the trace.
    A method that reads fewer retain records than it is given declares how many as
    ``declared_inputs[RETAIN_READ]``; the result's ``records_used`` says that number.
    """

    device: torch.device
    seed: int
    generator: torch.Generator
    forget_inputs: torch.Tensor
    forget_labels: torch.Tensor
    progress: Progress | None = None
    trace: list[TraceStep] = field(default_factory=list)
    declared_inputs: dict[str, object] = field(default_factory=dict)

    def report(self, step: int, total: int, model: nn.Module, loss: float | torch.Tensor,
               message: str = "", *, inputs: torch.Tensor | None = None,
               parts: Mapping[str, float] | None = None, **named_parts: float) -> None:
        """Log one step in the trace and tell the progress callback. ``inputs``: what
        ``model`` reads for the forget records, when not their raw inputs (a head's
        features). The loss parts come as keywords (``retain_ce=...``) or, with names made
        at run time, as the mapping ``parts``."""
        parts = {**(parts or {}), **named_parts}
        self.trace.append(TraceStep(step, _finite_or_none(loss),
                                    self.forget_confidence(model, inputs),
                                    tuple((k, _finite_or_none(v)) for k, v in parts.items())))
        self.tick(step, total, message)

    def tick(self, step: int, total: int, message: str = "") -> None:
        """Tell the progress callback about a step that the trace does not log."""
        if self.progress is not None:
            self.progress(step, total, message or f"step {step}/{total}")

    @torch.no_grad()
    def forget_confidence(self, model: nn.Module, inputs: torch.Tensor | None = None) -> float:
        """Mean softmax probability of the true label over the forget set (over 512 evenly
        spaced forget records when there are more: it is logged many times per run)."""
        was_training = model.training
        model.eval()
        x = self.forget_inputs if inputs is None else inputs
        y = self.forget_labels
        if len(x) > 512:
            rows = torch.linspace(0, len(x) - 1, 512, device=x.device).long()
            x, y = x[rows], y[rows]
        probs = F.softmax(model(x).float(), dim=1)
        model.train(was_training)
        return float(probs.gather(1, y[:, None]).mean())


def _finite_or_none(value: float | torch.Tensor) -> float | None:
    """A plain float for the trace; None where there is no finite value (strict JSON)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().item()
    value = float(value)
    return value if math.isfinite(value) else None


class Unlearner(Generic[P]):
    """Base class of every unlearning method.

    Subclasses (``class Finetune(Unlearner[FinetuneParams])``) set ``name``, ``data_access``,
    ``Params`` and ``summary``, and implement :meth:`unlearn`, which receives a private copy
    of the model (on ``context.device``) and returns the unlearned model.
    ``known_check_failures`` maps a contract of
    :func:`~workbench.unlearn.check.check_unlearner` the method is known to break
    (``"seed_drives_randomness"``, or one request: ``"forget_set_moves[class]"``) to why.
    """

    name: ClassVar[str]
    data_access: ClassVar[DataAccess]
    # set on the class (``Params = FinetuneParams``); no ClassVar only because a ClassVar
    # cannot name the type variable
    Params: type[P]
    summary: ClassVar[str] = ""
    class_level_only: ClassVar[bool] = False
    known_check_failures: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: P, context: RunContext) -> nn.Module:
        raise NotImplementedError

    def unused_params(self, model: nn.Module, forget: ForgetSet, params: P) -> dict[str, str]:
        """The parameters this request would not read, each with the reason in words (a
        screen greys them out, so a setting that changes nothing does not look like one).
        Default: every parameter is read."""
        return {}

    def require_retain(self, retain: RecordSet | None) -> RecordSet:
        """``retain`` for a method whose ``data_access`` needs it (:func:`workbench.unlearn`
        refuses to run such a method without it); ``ValueError`` naming the method if None."""
        if retain is None:
            raise ValueError(f"method {self.name!r} needs the retain records "
                             f"({self.data_access.value}); pass retain=table.retain_for(forget)")
        return retain


_REGISTRY: dict[str, type[Unlearner[Any]]] = {}

U = TypeVar("U", bound=type[Unlearner[Any]])


def register_unlearner(cls: U) -> U:
    """Class decorator: make ``cls`` available to :func:`workbench.unlearn` by its ``name``."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} needs a non-empty `name` to be registered")
    if not isinstance(getattr(cls, "data_access", None), DataAccess):
        raise ValueError(f"{cls.__name__} must declare `data_access` (a DataAccess member)")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"an unlearner named {cls.name!r} is already registered")
    registered: type[Unlearner[Any]] = cls  # any parameters class: P is Any here
    if registered.Params.method != cls.name:
        raise ValueError(f"{cls.__name__}.Params.method must be {cls.name!r}")
    _REGISTRY[cls.name] = registered
    return cls


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    return sorted(_REGISTRY)


def get_unlearner(name: str) -> type[Unlearner[Any]]:
    """The registered class for ``name``; unknown names raise ``ValueError`` listing valid ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown unlearning method {name!r}; available: {available_methods()}")
    return _REGISTRY[name]
