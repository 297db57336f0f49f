"""A classifier's head: the last block that maps features to logits, found and checked on data.

A method that updates only the head keeps the rest of the network (the trunk) frozen, so the
trunk's output on a fixed input never changes: it is computed once, and every later step
costs a forward pass of the head alone. On the Fashion-MNIST CNN the head is a fifth of the
forward cost, and its features are computed once instead of at every step.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.neighbours import CHUNK, chunked

HEAD_NAMES = ("head", "classifier", "fc")  # attribute names used by torchvision and by us
HEAD_MIN_PIXELS = 512  # update="auto" trains only the head on images this large (28x28: yes)
HEAD_TOLERANCE = 1e-4  # largest |logit difference| of head(features) vs model(x), relative


def find_head(model: nn.Module, probe: torch.Tensor) -> nn.Module | None:
    """The module whose output *is* the model's output: an attribute named ``head``,
    ``classifier`` or ``fc``, else the last ``nn.Linear``; None when neither reproduces
    ``model(probe)`` from its own input (a head called twice, a residual after it).

    Args:
        probe: ``(n, *input_shape)`` a few inputs to check the split on.
    """
    candidates = [getattr(model, name, None) for name in HEAD_NAMES]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    candidates += linears[-1:]
    for head in candidates:
        if not isinstance(head, nn.Module) or head is model:
            continue
        trainable = next(head.parameters(), None) is not None
        if trainable and _reproduces(model, head, probe):
            return head
    return None


@torch.no_grad()
def head_inputs(model: nn.Module, head: nn.Module, x: torch.Tensor,
                size: int = CHUNK) -> torch.Tensor:
    """What ``head`` receives when ``model`` runs on ``x``: ``(N, *feature_shape)`` (N may
    be 0: the feature shape then comes from one blank input)."""
    if len(x) == 0:
        return head_inputs(model, head, x.new_zeros((1, *x.shape[1:])), size)[:0]
    captured: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    try:
        chunked(model, x, size)
    finally:
        handle.remove()
    if sum(len(c) for c in captured) != len(x):
        raise ValueError("the model calls its head more than once per forward pass; "
                         "use update='all'")
    return torch.cat(captured).contiguous()


@torch.no_grad()
def _reproduces(model: nn.Module, head: nn.Module, probe: torch.Tensor) -> bool:
    try:
        features = head_inputs(model, head, probe)
    except (ValueError, TypeError, IndexError):
        return False
    whole, split = model(probe).float(), head(features).float()
    if whole.shape != split.shape:
        return False
    return bool((whole - split).abs().max() <= HEAD_TOLERANCE * (1 + whole.abs().max()))


def trainable_head(model: nn.Module, x_forget: torch.Tensor, update: str) -> nn.Module | None:
    """The head to train alone, or None to train every weight. ``auto`` picks the head for
    images ``(N, C, H, W)`` of at least ``HEAD_MIN_PIXELS`` values, when the model has a
    head that reproduces its output: there the convolutions dominate the cost of a step."""
    large_image = x_forget.dim() == 4 and x_forget[0].numel() >= HEAD_MIN_PIXELS
    if update == "all" or (update == "auto" and not large_image):
        return None
    head = find_head(model.eval(), x_forget[:8])
    if head is None and update == "head":
        raise ValueError("update='head' needs a model whose last block (an attribute head, "
                         "classifier or fc, or its last nn.Linear) computes the logits from "
                         "its input alone; this model has none: use update='all'")
    return head
