"""``finetune``: keep training the model on the retain records only (FT).

Paper setting (NeurIPS'23 unlearning challenge starting kit): 5 epochs of SGD (momentum 0.9,
weight decay 5e-4) at lr 0.1 with a cosine schedule, batch 64 on CIFAR-10. All kept: at lr 0.1
the sample models do drift away from their forget records (below 0.1 they do not move at
all: near-zero retain loss). Fine-tuning cannot remove a whole class without collapsing the
model (digits: forget accuracy stays 1.0 at lr 0.1; 0.0 only at lr 1.0, with test accuracy
at chance), the known weakness of FT in class forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from workbench.records import ForgetSet, RecordSet
from workbench.unlearn.base import DataAccess, RunContext, Unlearner, register_unlearner
from workbench.unlearn.baselines._common import (
    cosine_lr,
    num_batches,
    shuffled_batches,
)
from workbench.unlearn.params import Params, param


@dataclass(frozen=True)
class FinetuneParams(Params):
    method = "finetune"
    epochs: int = param(5, low=1, high=200, help="passes over the retain set (paper: 5)")
    lr: float = param(0.1, low=1e-6, high=10.0,
                      help="SGD learning rate, cosine-decayed to 0 (paper: 0.1; below it an "
                           "overfit model does not move)")
    momentum: float = param(0.9, low=0.0, high=0.999, help="SGD momentum (paper: 0.9)")
    weight_decay: float = param(5e-4, low=0.0, high=1.0, help="SGD weight decay (paper: 5e-4)")
    batch_size: int = param(64, low=1, high=65_536, help="retain batch size (paper: 64)")


@register_unlearner
class Finetune(Unlearner[FinetuneParams]):
    """Fine-tune on the retain set with SGD and a cosine learning-rate schedule."""

    name = "finetune"
    data_access = DataAccess.RETAIN_ONLY
    Params = FinetuneParams
    summary = "Fine-tune (FT): a few epochs of SGD on the retain set, cosine schedule."

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: FinetuneParams, context: RunContext) -> nn.Module:
        retain = self.require_retain(retain)
        x, y = retain.inputs().to(context.device), retain.labels().to(context.device)
        optimizer = torch.optim.SGD(model.parameters(), lr=params.lr, momentum=params.momentum,
                                    weight_decay=params.weight_decay)
        per_epoch = num_batches(len(x), params.batch_size)
        schedule = cosine_lr(optimizer, params.epochs * per_epoch)
        model.train()
        for epoch in range(1, params.epochs + 1):
            total = 0.0
            for batch in shuffled_batches(len(x), params.batch_size, context.generator,
                                          context.device):
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item()
            context.report(epoch, params.epochs, model, total / per_epoch,
                           f"finetune epoch {epoch}/{params.epochs}", retain_ce=total / per_epoch)
        return model
