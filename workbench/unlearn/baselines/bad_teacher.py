"""``bad_teacher``: distil from a competent and an incompetent teacher (Chundawat et al., AAAI'23).

The student starts as the original model. On forget records it matches an *incompetent*
teacher (the same architecture, randomly re-initialised with a seed drawn from the run's
generator); on a random subset of the retain records it matches the original model. The loss
is KL(teacher || student) at temperature T=1 over the shuffled union of both sets.
Paper setting: 1 epoch, Adam lr 1e-4, 30% retain subset, batch 256, T=1.
``epochs`` and ``lr``: scaled to 10 epochs at lr 1e-3, because on these small record sets one
epoch is one or two Adam steps, and 1e-4 leaves the forget predictions where they were
(peer_anchor.md: at the paper's setting the method does nothing on the tabular samples).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from workbench.records import ForgetSet, RecordSet
from workbench.unlearn.base import DataAccess, RunContext, Unlearner, register_unlearner
from workbench.unlearn.baselines._common import (
    distill_kl,
    frozen_copy,
    num_batches,
    random_subset,
    random_teacher,
    shuffled_batches,
)
from workbench.unlearn.params import Params, param


@dataclass(frozen=True)
class BadTeacherParams(Params):
    method = "bad_teacher"
    epochs: int = param(10, low=1, high=500,
                        help="passes over forget + retain subset (paper: 1; scaled to 10 "
                             "because small record sets give only a step or two per epoch)")
    lr: float = param(1e-3, low=1e-7, high=1.0,
                      help="Adam learning rate (paper: 1e-4; scaled to 1e-3, since 1e-4 "
                           "leaves overfit tiny models unchanged)")
    retain_fraction: float = param(
        0.3, low=0.0, high=1.0,
        label="Share of kept records used", unit="share, 0 to 1", advanced=False,
        help="share of retain records the student distils on (paper: 0.3)")
    temperature: float = param(1.0, low=0.1, high=100.0, help="KL temperature (paper: 1)")
    batch_size: int = param(256, low=1, high=65_536, help="batch size (paper: 256)")


@register_unlearner
class BadTeacher(Unlearner[BadTeacherParams]):
    """Student distils a random teacher on forget records and the original on retain records."""

    name = "bad_teacher"
    data_access = DataAccess.FORGET_AND_RETAIN
    Params = BadTeacherParams
    summary = ("Bad Teacher: distil a randomly initialised teacher on forget records and the "
               "original model on a retain subset.")

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: BadTeacherParams, context: RunContext) -> nn.Module:
        retain = self.require_retain(retain)
        device, gen, t = context.device, context.generator, params.temperature
        good = frozen_copy(model)
        bad = random_teacher(model, gen).to(device)
        keep = random_subset(len(retain), params.retain_fraction, gen) \
            if params.retain_fraction > 0 else torch.zeros(0, dtype=torch.long)
        xr = retain.inputs()[keep].to(device)
        x = torch.cat([context.forget_inputs, xr])
        is_forget = torch.zeros(len(x), dtype=torch.bool, device=device)
        is_forget[:len(context.forget_inputs)] = True
        with torch.no_grad():
            target = torch.where(is_forget[:, None], F.softmax(bad(x) / t, dim=1),
                                 F.softmax(good(x) / t, dim=1))
        optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
        per_epoch = num_batches(len(x), params.batch_size)
        model.train()
        for epoch in range(1, params.epochs + 1):
            total = 0.0
            for b in shuffled_batches(len(x), params.batch_size, gen, device):
                loss = distill_kl(model(x[b]), target[b], t)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() / per_epoch
            context.report(epoch, params.epochs, model, total,
                           f"bad teacher epoch {epoch}/{params.epochs}")
        return model
