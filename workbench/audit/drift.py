"""Accuracy drift: forget, retain, test and per-class accuracy of each model, and the deltas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.audit._json import JsonRecord
from workbench.audit.sets import AuditSets
from workbench.audit.signals import Signals


@dataclass(frozen=True)
class Accuracy(JsonRecord):
    """One model's accuracy on each record group (None where the group is empty).

    ``per_class`` is keyed by class name and measured on every held-out record of the class.
    ``forgotten_class_test`` is set for class-level requests only.
    """

    forget: float
    retain: float | None
    test: float | None
    forgotten_class_test: float | None
    per_class: dict[str, float | None]


@dataclass(frozen=True)
class DriftReport(JsonRecord):
    """Accuracy of the original, unlearned and (when given) gold-standard models (the mean
    over the gold-standard ensemble).

    The deltas are ``unlearned - original`` and ``unlearned - gold_standard``.
    """

    test_rule: str
    n_forget: int
    n_retain: int
    n_test: int
    original: Accuracy
    unlearned: Accuracy
    gold_standard: Accuracy | None
    unlearned_minus_original: Accuracy
    unlearned_minus_gold_standard: Accuracy | None


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def accuracy(sig: Signals, sets: AuditSets, class_names: tuple[str, ...]) -> Accuracy:
    """Accuracy of one model (its signals over the whole table) on each group."""
    correct = sig.correct
    per_class = {name: _mean(correct[sets.population[sig.labels[sets.population] == c]])
                 for c, name in enumerate(class_names)}
    return Accuracy(forget=float(correct[sets.forget].mean()), retain=_mean(correct[sets.retain]),
                    test=_mean(correct[sets.test]),
                    forgotten_class_test=_mean(correct[sets.forgotten_class_test]),
                    per_class=per_class)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def difference(a: Accuracy, b: Accuracy) -> Accuracy:
    """``a - b`` field by field (None where either side is None)."""
    return Accuracy(forget=a.forget - b.forget, retain=_minus(a.retain, b.retain),
                    test=_minus(a.test, b.test),
                    forgotten_class_test=_minus(a.forgotten_class_test, b.forgotten_class_test),
                    per_class={k: _minus(v, b.per_class.get(k)) for k, v in a.per_class.items()})


def mean_accuracy(sigs: list[Signals], sets: AuditSets,
                  class_names: tuple[str, ...]) -> Accuracy:
    """Field-by-field mean accuracy of several models (a gold-standard ensemble)."""
    each = [accuracy(s, sets, class_names) for s in sigs]

    def mean(values: list[float | None]) -> float | None:
        # a field is measured for every model or for none (the same sets)
        numbers = [v for v in values if v is not None]
        return None if values[0] is None else float(np.mean(numbers))

    return Accuracy(forget=float(np.mean([a.forget for a in each])),
                    retain=mean([a.retain for a in each]), test=mean([a.test for a in each]),
                    forgotten_class_test=mean([a.forgotten_class_test for a in each]),
                    per_class={k: mean([a.per_class[k] for a in each]) for k in each[0].per_class})


def drift_report(original: Signals, unlearned: Signals, gold: list[Signals],
                 sets: AuditSets, class_names: tuple[str, ...]) -> DriftReport:
    """Accuracies of each model (the gold standard's: its members' mean) and the deltas of
    the unlearned model."""
    acc_o = accuracy(original, sets, class_names)
    acc_u = accuracy(unlearned, sets, class_names)
    acc_g = mean_accuracy(gold, sets, class_names) if gold else None
    return DriftReport(
        test_rule=sets.test_rule, n_forget=len(sets.forget), n_retain=len(sets.retain),
        n_test=len(sets.test), original=acc_o, unlearned=acc_u, gold_standard=acc_g,
        unlearned_minus_original=difference(acc_u, acc_o),
        unlearned_minus_gold_standard=difference(acc_u, acc_g) if acc_g is not None else None)
