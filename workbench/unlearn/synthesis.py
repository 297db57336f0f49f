"""Synthetic inputs from a model and the input schema alone: neighbours and retain proxies.

Everything here reads only the forget records, the model and the ``InputSpace`` (ranges,
categories, shape); never another record.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from workbench.schema import InputSpace


def marginal_samples(n: int, space: InputSpace, generator: torch.Generator) -> torch.Tensor:
    """``n`` inputs drawn feature by feature: standard normal (clamped), uniform categories.

    Shape ``(n, *space.shape)``. Tabular encoders standardise numeric features, so N(0, 1)
    matches each feature's scale without reading any record.
    """
    flat = torch.zeros(n, space.size)
    if space.continuous:
        idx = torch.tensor(space.continuous)
        draws = torch.randn(n, len(idx), generator=generator)
        lower, upper = torch.tensor(space.lower), torch.tensor(space.upper)
        flat[:, idx] = torch.maximum(torch.minimum(draws, upper), lower)
    for column, values in space.discrete:
        choice = torch.randint(len(values), (n,), generator=generator)
        flat[:, column] = torch.tensor(values)[choice]
    for group in space.onehot:
        choice = torch.randint(len(group), (n,), generator=generator)
        flat[:, torch.tensor(group)] = F.one_hot(choice, len(group)).float()
    return flat.reshape(n, *space.shape)


def random_inputs(n: int, space: InputSpace, generator: torch.Generator) -> torch.Tensor:
    """Starting points for synthesis: uniform within the bounds for images, marginal otherwise."""
    if len(space.shape) > 1:
        lower = torch.tensor(space.lower).reshape(space.shape)
        upper = torch.tensor(space.upper).reshape(space.shape)
        return lower + torch.rand(n, *space.shape, generator=generator) * (upper - lower)
    return marginal_samples(n, space, generator)


def invert_classes(model: nn.Module, space: InputSpace, start: torch.Tensor,
                   targets: torch.Tensor, *, steps: int, lr: float = 0.05,
                   tv_weight: float = 0.05, chunk: int = 256) -> torch.Tensor:
    """Class-conditional model inversion: move ``start`` until the model predicts ``targets``.

    Only continuous columns move (discrete and one-hot columns keep their drawn values);
    they stay within their bounds. Images also get a total-variation prior.

    Args:
        start: ``(N, *space.shape)`` starting inputs, on the model's device.
        targets: ``(N,)`` class per input.
    """
    device = start.device
    mask = torch.zeros(space.size, device=device)
    lower = torch.full((space.size,), -torch.inf, device=device)
    upper = torch.full((space.size,), torch.inf, device=device)
    if space.continuous:
        idx = torch.tensor(space.continuous, device=device)
        mask[idx] = 1.0
        lower[idx] = torch.tensor(space.lower, device=device)
        upper[idx] = torch.tensor(space.upper, device=device)
    mask, lower, upper = (t.reshape(space.shape) for t in (mask, lower, upper))
    x = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        # the same mean loss, accumulated 256 inputs at a time (CPU caches, GPU memory)
        for i in range(0, len(x), chunk):
            part, share = x[i:i + chunk], min(chunk, len(x) - i) / len(x)
            loss = F.cross_entropy(model(part), targets[i:i + chunk]) \
                + tv_weight * total_variation(part)
            (loss * share).backward()
        assert x.grad is not None  # filled by backward() above
        x.grad.mul_(mask)
        optimizer.step()
        with torch.no_grad():
            x.copy_(torch.maximum(torch.minimum(x, upper), lower))
    return x.detach()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels of ``(N, C, H, W)`` images."""
    if x.dim() < 4:
        return x.new_zeros(())
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
            + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def invert_features(head: nn.Module, start: torch.Tensor, targets: torch.Tensor, *,
                    steps: int, lr: float = 0.1) -> torch.Tensor:
    """Model inversion in a head's feature space: move ``start`` (``(N, *feature_shape)``,
    features of synthetic inputs) until ``head`` predicts ``targets`` ``(N,)``, staying within
    the range of values the starting features take (post-ReLU features stay non-negative)."""
    lower, upper = start.min(), start.max()
    x = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(head(x), targets).backward()
        optimizer.step()
        with torch.no_grad():
            x.clamp_(lower, upper)
    return x.detach()
