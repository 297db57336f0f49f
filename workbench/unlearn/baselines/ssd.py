"""``ssd``: Selective Synaptic Dampening (Foster et al., AAAI'24). No training loop.

Importance of each parameter on a data set X: the mean over minibatches of the squared
gradient of the minibatch cross-entropy (a diagonal Fisher estimate), computed on the forget
set F and on the full training set D = F ∪ retain. Parameters with ``imp_F > alpha * imp_D``
are specialised on the forget records; each one is multiplied by ``min(lambda * imp_D / imp_F,
1)``. Every other parameter is left bit-for-bit unchanged.
Paper defaults: lambda=1, alpha=10 (both kept). They remove a whole class (digits: forget
accuracy 0, at a cost in retain accuracy, as reported for CIFAR-10), but on a random 5% of
records hardly any parameter passes alpha=10 and the model barely changes; alpha=1 is the
setting that does something there. Minibatch order is drawn from the run's generator, so the
D batches mix forget and retain records; the importances depend on ``batch_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from workbench.records import ForgetSet, RecordSet
from workbench.unlearn.base import DataAccess, RunContext, Unlearner, register_unlearner
from workbench.unlearn.baselines._common import shuffled_batches
from workbench.unlearn.params import Params, param


@dataclass(frozen=True)
class SSDParams(Params):
    method = "ssd"
    alpha: float = param(
        10.0, low=0.0, high=1e6,
        label="Selection threshold", unit="times the importance on all data", advanced=False,
        help="selection threshold: dampen where forget importance exceeds alpha times full-data "
             "importance (paper: 10; try 1 for a few random records)")
    lam: float = param(
        1.0, low=0.0, high=1e6,
        label="Dampening strength", unit="factor", advanced=False,
        help="dampening constant lambda: scale by min(lambda*imp_D/imp_F, 1) (paper: 1)")
    batch_size: int = param(64, low=1, high=65_536,
                            help="minibatch size for the importance estimates")


def importances(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                context: RunContext) -> list[torch.Tensor]:
    """Mean over minibatches of the squared CE gradient, one tensor per parameter."""
    params = [p for p in model.parameters() if p.requires_grad]
    totals = [torch.zeros_like(p) for p in params]
    count = 0
    for b in shuffled_batches(len(x), batch_size, context.generator, context.device):
        grads = torch.autograd.grad(F.cross_entropy(model(x[b]), y[b]), params,
                                    allow_unused=True)
        for total, g in zip(totals, grads, strict=True):
            if g is not None:
                total.add_(g.pow(2))
        count += 1
    return [t / count for t in totals]


@register_unlearner
class SSD(Unlearner[SSDParams]):
    """Dampen the parameters far more important to the forget set than to the training set."""

    name = "ssd"
    data_access = DataAccess.FORGET_AND_RETAIN
    Params = SSDParams
    summary = ("Selective Synaptic Dampening: shrink parameters whose Fisher importance on the "
               "forget set far exceeds their importance on the full training set. No training.")

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: SSDParams, context: RunContext) -> nn.Module:
        retain = self.require_retain(retain)
        device = context.device
        xf, yf = context.forget_inputs, context.forget_labels
        xd = torch.cat([xf, retain.inputs().to(device)])
        yd = torch.cat([yf, retain.labels().to(device)])
        model.eval()  # importances must not update batch-norm statistics
        imp_f = importances(model, xf, yf, params.batch_size, context)
        context.report(1, 3, model, float("nan"), "ssd: forget importance")
        imp_d = importances(model, xd, yd, params.batch_size, context)
        context.report(2, 3, model, float("nan"), "ssd: training-set importance")
        selected = total = 0
        with torch.no_grad():
            live = [p for p in model.parameters() if p.requires_grad]
            for p, f_imp, d_imp in zip(live, imp_f, imp_d, strict=True):
                mask = f_imp > params.alpha * d_imp
                factor = (params.lam * d_imp / f_imp.clamp_min(1e-38)).clamp(max=1.0)
                p[mask] = p[mask] * factor[mask]
                selected += int(mask.sum())
                total += mask.numel()
        context.report(3, 3, model, float("nan"), "ssd: dampened",
                       selected_fraction=selected / max(1, total))
        return model
