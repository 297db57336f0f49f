"""``synthetic``: our data-free default. It sees the model and the forget records, nothing else.

1. **Overwrite targets.** For a record-level request, each forget record gets as target the
   original model's prediction at *one* random neighbour of it: a model that never saw the
   record predicts it the way the original predicts unseen points nearby, and one sampled
   neighbour reproduces both the confidence and the error rate of such a model (an average
   is too soft). The neighbourhood size ``sigma`` is calibrated so that the original's
   accuracy on neighbours equals its reported test accuracy (one declared scalar of
   non-member information). ``target="sharpened"`` (experimental) uses the neighbourhood's
   average prediction sharpened to the same confidence; its calibration often needs a very
   large ``sigma`` on the tabular samples and then damages test accuracy.
   For a class-level request the target is the original's prediction with the forgotten
   classes removed, as a model that never saw the class would predict.
2. **Retain proxies.** Synthetic inputs drawn from the schema (tabular) or inverted from the
   model (images), plus neighbours of the forget records; the student distils the original's
   outputs on them (with forgotten classes removed for a class-level request).
3. **Stop when forgotten records look like non-members**, not when their confidence is zero:
   a loss-threshold attack that compares the student's forget losses with the original's
   losses on simulated non-members (neighbours) must be at chance.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from workbench.records import ForgetSet, RecordSet
from workbench.schema import InputSpace
from workbench.unlearn.base import DataAccess, RunContext, Unlearner, register_unlearner
from workbench.unlearn.params import Params, param
from workbench.unlearn.synthesis import invert_classes, perturb, random_inputs

SIGMA_RANGE = (0.02, 8.0)
CHECK_EVERY = 5  # steps between two stopping checks
MAX_GRAD_NORM = 5.0  # clip: the first overwrite steps on a class request can be violent
MAX_CHECKED = 512  # forget records the stopping check and sigma calibration look at
CHUNK = 256  # records per forward pass outside the training step (CPU caches; GPU memory)


@dataclass(frozen=True)
class SyntheticParams(Params):
    method = "synthetic"
    steps: int = param(300, low=1, high=20_000, help="maximum optimisation steps")
    optimizer: str = param("sgd", choices=("sgd", "adam"), help="optimiser of the student")
    lr: float = param(0.01, low=1e-6, high=10.0, help="learning rate of the student")
    proxies: int = param(2048, low=16, high=1_000_000, help="synthetic retain proxies")
    local_fraction: float = param(0.25, low=0.0, high=1.0,
                                  help="share of proxies drawn around the forget records")
    batch_size: int = param(256, low=8, high=65_536, help="proxies per step")
    overwrite_weight: float = param(1.0, low=0.0, high=100.0,
                                    help="weight of the forget-record overwrite loss")
    sigma: float | None = param(None, low=SIGMA_RANGE[0], high=SIGMA_RANGE[1],
                                help="neighbour noise; None calibrates it to the model's "
                                     "reported test accuracy (1.0 when there is none)")
    sigma_scale: float = param(1.0, low=0.1, high=10.0,
                               help="multiplies the calibrated sigma")
    target: str = param("sample", choices=("sample", "sharpened"),
                        help="overwrite target: one sampled neighbour's prediction, or the "
                             "neighbourhood average sharpened to the same mean confidence")
    stop_tolerance: float = param(0.0, low=0.0, high=0.5,
                                  help="stop once the attack AUC is at most 0.5 + this")
    mask_fraction: float = param(1.0, low=0.001, high=1.0,
                                 help="share of weights updated: those with the largest "
                                      "overwrite-loss gradient (saliency)")
    weight_anchor: float = param(0.0, low=0.0, high=1e6,
                                 help="L2 pull of the weights towards the original's")
    min_steps: int = param(30, low=0, high=20_000, help="steps before stopping is considered")
    inversion_steps: int = param(60, low=0, high=5_000,
                                 help="model-inversion steps that move proxies towards inputs "
                                      "the model assigns to a random class (0: none)")


@register_unlearner
class Synthetic(Unlearner):
    """Data-free synthetic unlearning: overwrite targets from neighbours, distil on proxies."""

    name = "synthetic"
    data_access = DataAccess.FORGET_ONLY
    Params = SyntheticParams
    summary = ("Data-free: overwrites the forget records with what a model that never saw them "
               "would predict, while distilling the original on synthetic proxies.")

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: SyntheticParams, context: RunContext) -> nn.Module:
        teacher = copy.deepcopy(model).eval().requires_grad_(False)
        space = forget.table.input_space
        x_forget, y_forget = context.forget_inputs, context.forget_labels
        masked = forget.classes
        sigma = self._sigma(teacher, forget, space, params, context)
        targets = self._overwrite_targets(teacher, x_forget, sigma, space, masked, context,
                                          params)
        proxies = self._proxies(teacher, forget, x_forget, sigma, space, params, context)
        proxy_targets = soft_predictions(teacher, proxies, masked)
        checked = checked_rows(len(x_forget), context.seed, context.device)
        reference = self._reference_inputs(x_forget[checked], sigma, space, context)
        return self._distil(model, x_forget, y_forget, targets, proxies, proxy_targets,
                            (checked, *reference), params, context)

    # --- ingredients -------------------------------------------------------------
    def _sigma(self, teacher, forget, space, params, context) -> float:
        if params.sigma is not None or forget.is_class_request:
            return params.sigma or 1.0
        accuracy = forget.table.reported_test_accuracy
        if accuracy is None:
            return 1.0
        context.declared_inputs["reported_test_accuracy"] = accuracy
        sigma = calibrate_sigma(teacher, context.forget_inputs, context.forget_labels, space,
                                accuracy, seed=context.seed,
                                average=params.target == "sharpened")
        context.declared_inputs["calibrated_sigma"] = round(sigma, 4)
        return sigma * params.sigma_scale

    def _overwrite_targets(self, teacher, x_forget, sigma, space, masked, context, params):
        if masked:
            return soft_predictions(teacher, x_forget, masked)
        neighbours = perturb(x_forget, sigma, space, context.generator)
        sampled = soft_predictions(teacher, neighbours, masked)
        if params.target == "sample":
            return sampled
        draws = 16
        many = perturb(x_forget.repeat(draws, *([1] * (x_forget.dim() - 1))), sigma, space,
                       context.generator)
        average = soft_predictions(teacher, many).reshape(draws, len(x_forget), -1).mean(0)
        return sharpen_to(average, float(sampled.max(1).values.mean()))

    def _proxies(self, teacher, forget, x_forget, sigma, space, params, context):
        n_local = int(round(params.proxies * params.local_fraction))
        n_global = params.proxies - n_local
        repeats = max(1, -(-n_local // len(x_forget)))
        local = perturb(x_forget.repeat(repeats, *([1] * (x_forget.dim() - 1))), sigma, space,
                        context.generator)[:n_local]
        start = random_inputs(n_global, space, context.generator).to(context.device)
        if params.inversion_steps:
            # never synthesise the forgotten classes (a retrained model never learned them)
            kept = torch.tensor([c for c in range(forget.table.num_classes)
                                 if c not in forget.classes])
            classes = kept[torch.randint(len(kept), (n_global,), generator=context.generator)]
            glob = invert_classes(teacher, space, start, classes.to(context.device),
                                  steps=params.inversion_steps)
        else:
            glob = start
        return torch.cat([glob, local.to(context.device)])

    def _reference_inputs(self, x_forget, sigma, space, context):
        """Simulated non-members: fresh neighbours of each forget record (about 4096 in all)."""
        draws = max(1, min(8, 4096 // len(x_forget)))
        repeated = x_forget.repeat(draws, *([1] * (x_forget.dim() - 1)))
        return perturb(repeated, sigma, space, context.generator), draws

    # --- optimisation ------------------------------------------------------------
    def _distil(self, student, x_forget, y_forget, targets, proxies, proxy_targets, reference,
                params, context) -> nn.Module:
        student.eval()  # keep BatchNorm statistics frozen: synthetic data must not move them
        optimizer = (torch.optim.SGD(student.parameters(), lr=params.lr, momentum=0.9)
                     if params.optimizer == "sgd" else
                     torch.optim.Adam(student.parameters(), lr=params.lr))
        origin = [p.detach().clone() for p in student.parameters()]
        masks = saliency_masks(student, x_forget, targets, params.mask_fraction)
        for step in range(1, params.steps + 1):
            pick = torch.randint(len(proxies), (min(params.batch_size, len(proxies)),),
                                 generator=context.generator).to(context.device)
            anchor = soft_cross_entropy(student(proxies[pick]), proxy_targets[pick])
            if len(x_forget) > params.batch_size:  # a minibatch: step cost independent of |F|
                rows = torch.randint(len(x_forget), (params.batch_size,),
                                     generator=context.generator).to(context.device)
                overwrite = soft_cross_entropy(student(x_forget[rows]), targets[rows])
            else:
                overwrite = soft_cross_entropy(student(x_forget), targets)
            loss = anchor + params.overwrite_weight * overwrite
            if params.weight_anchor:
                drift = sum(((p - p0) ** 2).sum() for p, p0 in zip(student.parameters(), origin,
                                                                   strict=True))
                loss = loss + params.weight_anchor * drift
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(student.parameters(), MAX_GRAD_NORM)
            if masks is not None:
                for p, m in zip(student.parameters(), masks, strict=True):
                    if p.grad is not None:
                        p.grad.mul_(m)
            optimizer.step()
            checking = step >= params.min_steps and step % CHECK_EVERY == 0
            gap = self._attack_gap(student, x_forget, y_forget, reference) if checking else None
            context.report(step, params.steps, student, loss.item(),
                           f"synthetic step {step}", anchor=anchor.item(),
                           overwrite=overwrite.item(),
                           **({"attack_gap": gap} if gap is not None else {}))
            if gap is not None and gap <= params.stop_tolerance:
                break
        return student

    @torch.no_grad()
    def _attack_gap(self, student, x_forget, y_forget, reference) -> float:
        """AUC - 0.5 of a loss attack telling forget records from their neighbours, under the
        current student: above 0, the forget records still look like members. At most
        ``MAX_CHECKED`` forget records (a fixed seeded subset) take part."""
        checked, neighbours, draws = reference
        x, y = x_forget[checked], y_forget[checked]
        losses = F.cross_entropy(chunked(student, x), y, reduction="none")
        other = F.cross_entropy(chunked(student, neighbours), y.repeat(draws), reduction="none")
        return mann_whitney_auc(-losses, -other) - 0.5


def checked_rows(n: int, seed: int, device: torch.device) -> torch.Tensor:
    """All of ``range(n)``, or a seeded subset of ``MAX_CHECKED`` of them when larger."""
    if n <= MAX_CHECKED:
        return torch.arange(n, device=device)
    generator = torch.Generator().manual_seed(seed + 104729)
    return torch.randperm(n, generator=generator)[:MAX_CHECKED].sort().values.to(device)


def chunked(model: nn.Module, x: torch.Tensor, size: int = CHUNK) -> torch.Tensor:
    """``model(x)`` computed ``size`` records at a time (same values, less memory traffic)."""
    return torch.cat([model(x[i:i + size]) for i in range(0, len(x), size)])


def saliency_masks(model: nn.Module, x: torch.Tensor, targets: torch.Tensor,
                   fraction: float) -> list[torch.Tensor] | None:
    """0/1 masks keeping the ``fraction`` of weights with the largest overwrite gradient."""
    if fraction >= 1.0:
        return None
    model.zero_grad(set_to_none=True)
    soft_cross_entropy(model(x), targets).backward()
    grads = [p.grad.abs() if p.grad is not None else torch.zeros_like(p)
             for p in model.parameters()]
    flat = torch.cat([g.flatten() for g in grads])
    k = max(1, int(fraction * flat.numel()))
    threshold = flat.kthvalue(flat.numel() - k + 1).values
    model.zero_grad(set_to_none=True)
    return [(g >= threshold).float() for g in grads]


def sharpen_to(probs: torch.Tensor, confidence: float, iterations: int = 30) -> torch.Tensor:
    """``probs ** (1/T)`` renormalised; T makes the mean top probability ``confidence``."""
    log_probs = probs.clamp_min(1e-12).log()
    low, high = 0.01, 1.0  # temperatures: low sharpens hardest, 1 leaves probs unchanged
    if float(probs.max(1).values.mean()) >= confidence:
        return probs
    for _ in range(iterations):
        middle = (low + high) / 2
        if float(F.softmax(log_probs / middle, 1).max(1).values.mean()) > confidence:
            low = middle
        else:
            high = middle
    return F.softmax(log_probs / ((low + high) / 2), 1)


def soft_predictions(model: nn.Module, x: torch.Tensor, masked: tuple[int, ...] = (),
                     batch_size: int = CHUNK) -> torch.Tensor:
    """Softmax outputs ``(N, C)`` with the ``masked`` classes removed and the rest renormalised."""
    with torch.no_grad():
        logits = chunked(model, x, batch_size)
    if masked:
        logits[:, list(masked)] = float("-inf")
    return F.softmax(logits.float(), dim=1)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` ``(N, C)`` against soft ``targets`` ``(N, C)``."""
    log_probs = F.log_softmax(logits.float(), dim=1)
    return -(targets * log_probs.clamp_min(-1e4)).sum(dim=1).mean()


def mann_whitney_auc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(score of a positive > score of a negative), ties counting half: the ROC AUC.

    Computed from ranks in O(n log n); tied scores share their mean rank.
    """
    scores = torch.cat([positive, negative]).double().cpu()
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    unique, inverse = scores.unique(return_inverse=True)
    if len(unique) < len(scores):  # average the ranks of ties
        sums = torch.zeros(len(unique), dtype=scores.dtype).index_add_(0, inverse, ranks)
        counts = torch.bincount(inverse, minlength=len(unique)).to(scores.dtype)
        ranks = (sums / counts)[inverse]
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibrate_sigma(teacher: nn.Module, x: torch.Tensor, y: torch.Tensor, space: InputSpace,
                    accuracy: float, *, seed: int, draws: int = 16, iterations: int = 18,
                    average: bool = False) -> float:
    """Noise level at which the model's accuracy on neighbours of ``x`` equals ``accuracy``.

    Bisection on a log scale over ``SIGMA_RANGE``; every trial uses the same random draws,
    so the search is deterministic for a given ``seed``. At most ``MAX_CHECKED`` records
    (a seeded subset) take part.
    """
    if len(x) > MAX_CHECKED:
        keep = checked_rows(len(x), seed, x.device)
        x, y = x[keep], y[keep]
    repeated = x.repeat(draws, *([1] * (x.dim() - 1)))
    labels = y.repeat(draws)

    def neighbour_accuracy(sigma: float) -> float:
        neighbours = perturb(repeated, sigma, space, torch.Generator().manual_seed(seed + 7919))
        with torch.no_grad():
            probs = F.softmax(chunked(teacher, neighbours).float(), 1)
        if average:  # accuracy of the neighbourhood's average prediction
            probs = probs.reshape(draws, len(x), -1).mean(0)
            return float((probs.argmax(1) == y).float().mean())
        return float((probs.argmax(1) == labels).float().mean())

    low, high = (torch.tensor(SIGMA_RANGE).log()).tolist()
    if neighbour_accuracy(SIGMA_RANGE[0]) <= accuracy:
        return SIGMA_RANGE[0]
    if neighbour_accuracy(SIGMA_RANGE[1]) >= accuracy:
        return SIGMA_RANGE[1]
    for _ in range(iterations):
        middle = (low + high) / 2
        if neighbour_accuracy(float(torch.tensor(middle).exp())) > accuracy:
            low = middle
        else:
            high = middle
    return float(torch.tensor((low + high) / 2).exp())
