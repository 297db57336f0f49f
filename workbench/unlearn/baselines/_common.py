"""Small helpers shared by the baselines: seeded batching, frozen teachers, distillation loss."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from workbench.training import reinitialise


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator,
                     device: torch.device) -> Iterator[torch.Tensor]:
    """Index batches over ``range(n)`` in an order drawn from ``generator`` (CPU, seeded)."""
    order = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def num_batches(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def random_subset(n: int, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Indices of a random ``fraction`` of ``range(n)`` (at least one), sorted."""
    keep = max(1, round(n * fraction))
    return torch.randperm(n, generator=generator)[:keep].sort().values


def frozen_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` whose parameters take no gradient (a teacher)."""
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def random_teacher(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """A frozen copy of ``model``, re-initialised from a seed drawn from ``generator``."""
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    return frozen_copy(reinitialise(model, seed))


def distill_kl(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """KL(teacher || student) at ``temperature``, batch mean, scaled by T² (Hinton et al.).

    ``teacher_probs`` are already softened with the same temperature.
    """
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    return F.kl_div(log_student, teacher_probs, reduction="batchmean") * temperature ** 2


def cosine_lr(optimizer: torch.optim.Optimizer, total_steps: int):
    """Cosine decay of every group's learning rate to 0 over ``total_steps`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps)
                                                     / max(1, total_steps))))
