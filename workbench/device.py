"""Pick the compute device: CUDA when present, CPU otherwise."""

from __future__ import annotations

import re
from typing import Literal, TypeVar

import torch

DeviceChoice = Literal["auto", "cpu", "cuda"]
M = TypeVar("M", bound=torch.nn.Module)


def resolve_device(choice: str | torch.device = "auto") -> torch.device:
    """Return the torch device for ``choice``.

    Args:
        choice: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``
            (or ``"cuda:N"``), or a ``torch.device``.

    Raises:
        ValueError: an unknown choice, or CUDA asked for on a machine without it.
    """
    if isinstance(choice, torch.device):
        choice = str(choice)
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if re.fullmatch(r"cuda(:\d+)?", choice):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {choice!r} was asked for but CUDA is not available on this machine; "
                "use device='auto' or 'cpu', or install the CUDA build of torch (see README)."
            )
        index = int(choice.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {choice!r} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device(choice)
    raise ValueError(f"unknown device {choice!r}; use 'auto', 'cpu' or 'cuda'.")


def memory_layout(inputs: torch.Tensor, model: torch.nn.Module) -> torch.memory_format:
    """Channels-last for 4-D image batches ``(N, C, H, W)`` into the workbench's own CNN, the
    default layout otherwise.

    Convolution and max-pooling run faster channels-last on both devices (on this CPU build
    a forward pass of the sample CNN took a third of the time: max-pooling NCHW was its
    slowest operation). Other models keep the default layout: one that calls ``.view`` on its
    activations would fail on channels-last tensors.
    """
    ours = getattr(model, "spec", None)
    if inputs.dim() == 4 and isinstance(ours, dict) and ours.get("name") == "cnn":
        return torch.channels_last
    return torch.contiguous_format


def to_layout(model: M, layout: torch.memory_format,
              device: torch.device | None = None) -> M:
    """``model.to(device, memory_format=layout)`` (in place, returned): its weights in
    ``layout``, on ``device`` when given."""
    # torch's stubs give Module.to no memory_format=, which it accepts (torch._C._nn._parse_to)
    if device is None:
        return model.to(memory_format=layout)  # type: ignore[call-overload]
    return model.to(device, memory_format=layout)  # type: ignore[call-overload]
