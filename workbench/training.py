"""Train classifiers from scratch with a recipe, and read out predictions and losses."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from workbench.device import memory_layout, to_layout
from workbench.models.fit import two_class_logits
from workbench.progress import Progress
from workbench.records import TrainRecipe


def reinitialise(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with every layer's parameters re-drawn from its default init.

    Works for any module built from standard layers (those with ``reset_parameters``).
    """
    fresh = copy.deepcopy(model)
    cuda = [p.device for p in fresh.parameters() if p.device.type == "cuda"][:1]
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        for module in fresh.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return fresh


def make_optimizer(model: nn.Module, recipe: TrainRecipe, *,
                   fused: bool = False) -> torch.optim.Optimizer:
    """The optimizer a recipe names (``adam`` or ``sgd``); ``fused``: one CUDA kernel per step."""
    fused_kernel = True if fused else None  # None: torch's default
    if recipe.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                                fused=fused_kernel)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9,
                               weight_decay=recipe.weight_decay, fused=fused_kernel)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; use 'adam' or 'sgd'")


def train_classifier(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                     recipe: TrainRecipe, *, seed: int, device: torch.device | str = "cpu",
                     progress: Progress | None = None, amp: bool | None = None) -> nn.Module:
    """Train ``model`` in place with cross-entropy, mini-batches shuffled by ``seed``. A
    binary classifier may output one logit per record (see ``two_class_logits``).

    The whole training set is moved to ``device`` once (from pinned memory on CUDA), so no
    batch crosses the bus. On CUDA, ``amp`` (default on there) runs the forward pass in
    bfloat16 autocast with a fused optimizer. On both devices 4-D image inputs and weights
    are kept channels-last while training (on the CPU a training step of the sample CNN
    took about 30% less time); the weights come back in the default layout.

    Args:
        model: a freshly initialised classifier.
        inputs: ``(N, *input_shape)`` float tensor.
        labels: ``(N,)`` class indices.
        amp: mixed precision on CUDA (None: on); ignored on the CPU.
    """
    device = torch.device(device)
    fast = device.type == "cuda" and (amp is None or amp)
    layout = memory_layout(inputs, model)
    to_layout(model, layout, device).train()
    if fast and inputs.device.type == "cpu":
        inputs = inputs.pin_memory()
    inputs = inputs.to(device, non_blocking=fast).contiguous(memory_format=layout)
    labels = labels.to(device)
    optimizer = make_optimizer(model, recipe, fused=fast)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(recipe.epochs):
        order = torch.randperm(len(inputs), generator=generator).to(device)
        for start in range(0, len(order), recipe.batch_size):
            batch = order[start:start + recipe.batch_size]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=fast):
                logits = model(inputs[batch])
            F.cross_entropy(two_class_logits(logits.float()), labels[batch]).backward()
            optimizer.step()
        if progress is not None:
            progress(epoch + 1, recipe.epochs, f"epoch {epoch + 1}/{recipe.epochs}")
    to_layout(model, torch.contiguous_format)  # the layout every other caller expects
    return model.eval()


@torch.no_grad()
def predict_logits(model: nn.Module, inputs: torch.Tensor, *,
                   batch_size: int = 4096) -> torch.Tensor:
    """Logits ``(N, C)`` on the CPU, computed on the model's own device in eval mode.

    Image batches run through a channels-last copy of the model (a third of the time on the
    CPU); ``model`` itself is left as it was.
    """
    layout = memory_layout(inputs, model)
    runner = model if layout == torch.contiguous_format else \
        to_layout(copy.deepcopy(model), layout)
    was_training = model.training
    runner.eval()
    device = next(runner.parameters()).device
    chunks = [runner(inputs[i:i + batch_size].to(device)).float().cpu()
              for i in range(0, len(inputs), batch_size)]
    model.train(was_training)
    if not chunks:
        raise ValueError("no records to predict on")
    return torch.cat(chunks)


def per_record_loss(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each record, shape ``(N,)``."""
    return F.cross_entropy(two_class_logits(predict_logits(model, inputs)), labels,
                           reduction="none")


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of records whose argmax prediction equals the label."""
    if len(labels) == 0:
        return float("nan")
    return float((two_class_logits(predict_logits(model, inputs)).argmax(1) == labels)
                 .float().mean())
