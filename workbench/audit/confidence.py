"""Before/after confidence: each forgotten record's confidence in its true label under the
original, unlearned and gold-standard models, next to the held-out non-members' distribution.

Per-record before/after values reveal membership (a drop marks a forgotten record), so
they belong in the auditor's record, not in a published model card.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.audit._json import JsonRecord
from workbench.audit.sets import AuditSets, matched_sample
from workbench.audit.signals import Signals

QUANTILES = (5, 25, 50, 75, 95)
HISTOGRAM_EDGES = tuple(round(float(e), 4) for e in np.linspace(0.0, 1.0, 21))


@dataclass(frozen=True)
class Distribution(JsonRecord):
    """Confidences of a group of records: mean, percentiles and a 20-bin histogram on [0, 1]."""

    count: int
    mean: float
    percentiles: dict[str, float]
    histogram: tuple[int, ...]


@dataclass(frozen=True)
class RecordConfidence(JsonRecord):
    """One forgotten record's confidence in its true label under each model.

    ``unlearned_percentile`` is the share of non-members whose confidence under the
    unlearned model is at most this record's: near 100 still looks like a training member.
    """

    record_id: str
    label: str
    original: float
    unlearned: float
    gold_standard: float | None
    unlearned_percentile: float


@dataclass(frozen=True)
class ConfidenceReport(JsonRecord):
    """Per-record confidences and the group distributions, keyed by model name.

    ``non_member_rule`` names the non-members summarised: without a gold standard, for a
    record request, a sample of them with the forget set's class mix (as the verdicts weigh).
    """

    non_member_rule: str
    histogram_edges: tuple[float, ...]
    records: tuple[RecordConfidence, ...]
    forget: dict[str, Distribution]
    non_members: dict[str, Distribution]


def distribution(values: np.ndarray) -> Distribution:
    """Summary of confidences in [0, 1]."""
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=np.asarray(HISTOGRAM_EDGES))
    return Distribution(count=len(values), mean=float(values.mean()),
                        percentiles={str(q): float(v) for q, v in
                                     zip(QUANTILES, np.percentile(values, QUANTILES),
                                         strict=True)},
                        histogram=tuple(int(c) for c in counts))


def confidence_report(models: dict[str, Signals], sets: AuditSets,
                      class_names: tuple[str, ...]) -> ConfidenceReport:
    """``models`` maps ``original`` / ``unlearned`` / ``gold_standard`` to whole-table signals."""
    unlearned = models["unlearned"]
    gold = models.get("gold_standard")
    non_members, rule = sets.non_members, sets.non_member_rule
    if sets.non_member_weights is not None:  # as the verdicts compare
        non_members = matched_sample(unlearned.labels, sets)
        rule = f"{rule} (a sample with the forget set's class mix)"
    reference = np.sort(unlearned.confidence[non_members])
    records = []
    for p in sets.forget:
        conf = float(unlearned.confidence[p])
        share = np.searchsorted(reference, conf, side="right") / len(reference)
        records.append(RecordConfidence(
            record_id=unlearned.ids[p], label=class_names[int(unlearned.labels[p])],
            original=float(models["original"].confidence[p]), unlearned=conf,
            gold_standard=float(gold.confidence[p]) if gold is not None else None,
            unlearned_percentile=round(100.0 * float(share), 2)))
    return ConfidenceReport(
        non_member_rule=rule, histogram_edges=HISTOGRAM_EDGES,
        records=tuple(records),
        forget={n: distribution(s.confidence[sets.forget]) for n, s in models.items()},
        non_members={n: distribution(s.confidence[non_members]) for n, s in models.items()})
