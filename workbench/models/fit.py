"""Does a model fit a record table? One dry forward pass on two records, before any work.

:func:`fit_to_records` refuses a model without weights, one that expects another input
width, or one whose outputs do not match the table's classes, with a message that names
both sides. A binary classifier with one logit ``z`` per record (``sigmoid(z)`` = P(class
1)) is supported: it runs wrapped in :class:`TwoClassLogits`, whose state dict is the
model's own, so weights hashes, saved files and cached models stay those of the user's
one-output model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

import torch
from torch import nn

if TYPE_CHECKING:
    from workbench.records import RecordTable

PROBE_RECORDS = 2

_Dest = TypeVar("_Dest", bound=dict[str, Any])  # a state_dict's `destination=`


class TwoClassLogits(nn.Module):
    """A one-logit binary classifier as two-class logits ``[-z/2, z/2]`` (softmax of these is
    ``[1 - sigmoid(z), sigmoid(z)]``). ``state_dict`` and ``load_state_dict`` are the wrapped
    model's, so hashes and files are unchanged."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.inner = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return two_class_logits(self.inner(x))

    # the two signatures of nn.Module.state_dict
    @overload
    def state_dict(self, *, destination: _Dest, prefix: str = ...,
                   keep_vars: bool = ...) -> _Dest: ...

    @overload
    def state_dict(self, *, prefix: str = ..., keep_vars: bool = ...) -> dict[str, Any]: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.inner.load_state_dict(state_dict, strict=strict, assign=assign)


def two_class_logits(logits: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` logits as they are; one logit per record, ``(N, 1)`` or ``(N,)``, as
    ``(N, 2)`` logits ``[-z/2, z/2]``."""
    if logits.ndim == 2 and logits.shape[1] != 1:
        return logits
    z = logits.reshape(len(logits), 1)
    return torch.cat([-z / 2, z / 2], dim=1)


def unwrap(model: nn.Module) -> nn.Module:
    """The user's model inside a :class:`TwoClassLogits`, else ``model`` itself."""
    return model.inner if isinstance(model, TwoClassLogits) else model


def fit_to_records(model: nn.Module, table: RecordTable, *,
                   name: str = "the model") -> nn.Module:
    """``model`` ready to run on ``table``'s records: itself, or wrapped in
    :class:`TwoClassLogits` when it has one output and the table two classes.

    Args:
        name: how messages refer to the model (``"the unlearned model"``).

    Raises:
        ValueError: not a module, no weights, another input width or shape, a forward pass
            that fails or returns no tensor, or outputs that do not match the classes.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    first = next(model.parameters(), None)
    if first is None:
        raise ValueError(f"{name} ({type(model).__name__}) has no parameters: there are no "
                         "weights to unlearn or audit; pass the trained classifier itself")
    probe = table.inputs(table.ids[:PROBE_RECORDS])
    was_training = model.training
    try:
        with torch.no_grad():
            out = model.eval()(probe.to(first.device))
    except Exception as error:  # a user's forward pass may raise anything: name the cause
        raise ValueError(_failure(model, table, probe, name, error)) from error
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{name} returns a {type(out).__name__}, not a tensor of logits; a "
                         "classifier maps (N, *input_shape) inputs to (N, C) logits")
    if out.ndim not in (1, 2) or len(out) != len(probe):
        raise ValueError(f"{name} maps {len(probe)} records to outputs of shape "
                         f"{tuple(out.shape)}; a classifier returns (N, C) logits, one row per "
                         "record")
    width = out.shape[1:].numel()  # (N,) is one logit per record
    if width == table.num_classes:
        return model
    if width == 1 and table.num_classes == 2:
        return TwoClassLogits(model)
    raise ValueError(f"{name} outputs {width} value(s) per record but table {table.name!r} has "
                     f"{table.num_classes} classes {list(table.schema.classes)[:10]}; pair the "
                     "model with the records it was trained on (a binary classifier may "
                     "output one logit)")


def input_width(model: nn.Module) -> tuple[int, str] | None:
    """What the model's first layer takes: (features or channels, layer), if it says."""
    for module in model.modules():
        if isinstance(module, nn.Linear) and not isinstance(module, nn.LazyLinear):
            return module.in_features, f"nn.Linear({module.in_features}, {module.out_features})"
        if isinstance(module, nn.modules.conv._ConvNd) and module.in_channels:
            return module.in_channels, f"{type(module).__name__} with {module.in_channels} " \
                                       "input channels"
    return None


def _failure(model: nn.Module, table: RecordTable, probe: torch.Tensor, name: str,
             error: Exception) -> str:
    shape = tuple(probe.shape[1:])
    pair = "pair the model with the records it was trained on"
    expected = input_width(model)
    actual = shape[0] if shape else 0
    if expected is not None and expected[0] != actual:
        unit = "values" if len(shape) == 1 else "channels"
        return (f"the records' features do not fit {name}: it expects {expected[0]} input "
                f"{unit} per record (its first layer is {expected[1]}), but table "
                f"{table.name!r} encodes each record to {actual} {unit} (shape {shape}, after "
                f"encoding); {pair}")
    return (f"the records' features do not fit {name}: it failed on two records of table "
            f"{table.name!r}, which encode to inputs of shape {shape} "
            f"({type(error).__name__} in its forward pass); {pair}, or check its forward()")
