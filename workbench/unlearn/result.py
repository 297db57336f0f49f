"""The result of one unlearning run: a frozen, JSON-native record plus the new model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TraceStep:
    """One logged step: total loss (None when the step has none), its parts, and the mean
    confidence in the true label on the forget set."""

    step: int
    loss: float | None
    forget_confidence: float
    parts: tuple[tuple[str, float | None], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "loss": self.loss, "forget_confidence": self.forget_confidence,
                "parts": dict(self.parts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceStep:
        return cls(int(data["step"]), _optional_float(data["loss"]),
                   float(data["forget_confidence"]),
                   tuple((str(k), _optional_float(v)) for k, v in data.get("parts", {}).items()))


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class UnlearnResult:
    """What an unlearning run did and produced. ``model`` and ``forget_ids`` (the forgotten
    ids, which the audit and the record check against their forget set) are not serialised.

    Attributes:
        method, params, seed, device: how the run was configured.
        data_access: the data the method declares it uses (e.g. ``forget_only``).
        records_used: how many forget / retain records the method read.
        forget_rule, forget_count: which records were to be forgotten.
        original_weights_sha256, weights_sha256: the model before and after.
        wall_time_s: seconds the method ran.
        trace: per-step losses and mean forget-set confidence.
        declared_inputs: anything beyond the records the method read (e.g. a reported
            test accuracy), by name.
    """

    method: str
    params: dict[str, Any]
    seed: int
    device: str
    data_access: str
    records_used: dict[str, int]
    forget_rule: str
    forget_count: int
    original_weights_sha256: str
    weights_sha256: str
    wall_time_s: float
    trace: tuple[TraceStep, ...]
    declared_inputs: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    model: nn.Module | None = field(default=None, compare=False, repr=False)
    forget_ids: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def require_model(self) -> nn.Module:
        """The unlearned model; ``ValueError`` for a result rebuilt by :meth:`from_dict`,
        which carries none."""
        if self.model is None:
            raise ValueError(f"this {self.method!r} result carries no model (a result read "
                             "back from its JSON form); load the unlearned model's weights")
        return self.model

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form (no model, no numpy or torch values)."""
        return {
            "schema_version": self.schema_version, "method": self.method,
            "params": dict(self.params), "seed": self.seed, "device": self.device,
            "data_access": self.data_access, "records_used": dict(self.records_used),
            "forget_rule": self.forget_rule, "forget_count": self.forget_count,
            "original_weights_sha256": self.original_weights_sha256,
            "weights_sha256": self.weights_sha256, "wall_time_s": self.wall_time_s,
            "trace": [s.to_dict() for s in self.trace],
            "declared_inputs": dict(self.declared_inputs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnlearnResult:
        """Rebuild from :meth:`to_dict` output (the model is not restored)."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"unlearn result has schema_version {version!r}; "
                             f"this workbench reads version {SCHEMA_VERSION}")
        fields = dict(data)
        fields["trace"] = tuple(TraceStep.from_dict(s) for s in data["trace"])
        return cls(**fields)
