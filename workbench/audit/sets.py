"""Which records an audit compares: forget, retain, their non-member counterparts, test.

Positions are row indices into the record table, so one pass of each model over the whole
table serves every comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.records import ForgetSet, RecordSet, RecordTable


@dataclass(frozen=True, eq=False)
class AuditSets:
    """Row positions of each record group the audit uses.

    Attributes:
        forget: the records to forget.
        retain: training members minus ``forget``.
        non_members: held-out records compared with ``forget`` (for a class request, the
            held-out records of the forgotten classes).
        retain_non_members: held-out records compared with ``retain`` (for a class request,
            those of the other classes).
        test: held-out records for utility (for a class request, the other classes).
        forgotten_class_test: held-out records of the forgotten classes (class requests).
        population: every held-out record: RMIA's reference population ``z``.
        non_member_weights: ``(len(non_members),)`` weights that give the non-members the
            forget set's class mix (mean 1; 0 for classes it lacks); None when not asked for
            (an audit against a gold standard), for a class request (already one class) or
            when a class of the forget set has no held-out record.
    """

    forget: np.ndarray
    retain: np.ndarray
    non_members: np.ndarray
    retain_non_members: np.ndarray
    test: np.ndarray
    forgotten_class_test: np.ndarray
    population: np.ndarray
    non_member_rule: str
    test_rule: str
    non_member_weights: np.ndarray | None = None

    def forget_pair_weights(self) -> np.ndarray | None:
        """Weights of ``forget`` then ``non_members`` (1 for each forget record), or None."""
        if self.non_member_weights is None:
            return None
        return np.r_[np.ones(len(self.forget)), self.non_member_weights]


def _bounded(positions: np.ndarray, limit: int | None, rng: np.random.Generator
             ) -> np.ndarray:
    if limit is None or len(positions) <= limit:
        return positions
    return np.sort(rng.choice(positions, size=limit, replace=False))


def _say_sampled(rule: str, kept: int, total: int) -> str:
    return rule if kept == total else f"{rule} (a random {kept:,} of {total:,})"


def audit_sets(table: RecordTable, forget: ForgetSet, *, class_matched: bool = True,
               limit: int | None = None, seed: int = 0) -> AuditSets:
    """The record groups for auditing ``forget`` on ``table``; ``class_matched``: weigh the
    non-members of a record request to its class mix (an audit without a gold standard).
    ``limit``: at most this many records in each group compared with another (the
    non-members, the retained records and their held-out counterparts, the test records),
    drawn with ``seed``, so that an audit's cost follows the forget set rather than the
    table; the rules then say so. The forget set is never sampled.

    Raises:
        ValueError: ``forget`` is not a selection from ``table``, or it has no held-out
            counterpart to compare against.
    """
    if not isinstance(forget, ForgetSet) or len(forget) == 0:
        raise ValueError("forget must be a non-empty ForgetSet (use RecordTable.select)")
    if forget.table is not table:
        raise ValueError(f"the forget set was selected from table {forget.table.name!r}, not "
                         f"from the records given ({table.name!r}); select it from them")
    labels = table.labels().numpy()
    member = np.zeros(len(table), dtype=bool)  # without copying the feature columns
    member[table.positions(table.members().ids)] = True
    forget_pos = np.sort(table.positions(forget.ids))
    in_forget = np.zeros(len(table), dtype=bool)
    in_forget[forget_pos] = True
    held = ~member
    if forget.is_class_request:
        names = ", ".join(table.schema.classes[c] for c in forget.classes)
        of_class = np.isin(labels, forget.classes)
        non_members, others = held & of_class, held & ~of_class
        non_member_rule = f"held-out records of class {names}"
        test_rule = f"held-out records of the other classes (not {names})"
        forgotten_class_test = np.flatnonzero(non_members)
    else:
        non_members, others = held, held
        non_member_rule = test_rule = "held-out records"
        forgotten_class_test = np.zeros(0, dtype=np.int64)
    if not non_members.any():
        raise ValueError(f"the forget set ({forget.rule}) has no held-out counterpart: table "
                         f"{table.name!r} holds no {non_member_rule} to compare it against; "
                         "add held-out (member=False) records like the forgotten ones")
    rng = np.random.default_rng(seed)
    all_non_members, all_others = np.flatnonzero(non_members), np.flatnonzero(others)
    kept_non_members = _bounded(all_non_members, limit, rng)
    kept_others = _bounded(all_others, limit, rng)
    return AuditSets(forget=forget_pos,
                     retain=_bounded(np.flatnonzero(member & ~in_forget), limit, rng),
                     non_members=kept_non_members, retain_non_members=kept_others,
                     test=kept_others,
                     forgotten_class_test=_bounded(forgotten_class_test, limit, rng),
                     population=np.flatnonzero(held),
                     non_member_rule=_say_sampled(non_member_rule, len(kept_non_members),
                                                  len(all_non_members)),
                     test_rule=_say_sampled(test_rule, len(kept_others), len(all_others)),
                     non_member_weights=class_matching(labels[forget_pos],
                                                       labels[kept_non_members])
                     if class_matched and not forget.is_class_request else None)


def matched_sample(labels: np.ndarray, sets: AuditSets, seed: int = 0) -> np.ndarray:
    """Positions of non-members whose class mix is the forget set's (as the weights make it):
    the largest such sample, drawn with ``seed`` within each class, in table order. Without
    weights, every non-member. For summaries that count records (histograms)."""
    if sets.non_member_weights is None:
        return sets.non_members
    forget_classes, forget_counts = np.unique(labels[sets.forget], return_counts=True)
    shares = forget_counts / forget_counts.sum()
    held = labels[sets.non_members]
    scale = min((held == c).sum() / share for c, share in zip(forget_classes, shares,
                                                              strict=True))
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(sets.non_members[held == c])[:max(1, int(scale * share))]
              for c, share in zip(forget_classes, shares, strict=True)]
    return np.sort(np.concatenate(picked))


def class_matching(forget_labels: np.ndarray, held_labels: np.ndarray) -> np.ndarray | None:
    """Weights ``(len(held_labels),)``, mean 1, under which the held-out records' class mix is
    the forget set's: ``share in forget / share in held-out`` per class. None when a class of
    the forget set has no held-out record (no weighting can match it)."""
    classes, forget_counts = np.unique(forget_labels, return_counts=True)
    held_counts = np.array([(held_labels == c).sum() for c in classes])
    if (held_counts == 0).any():
        return None
    per_class = dict(zip(classes.tolist(), (forget_counts / len(forget_labels))
                         / (held_counts / len(held_labels)), strict=True))
    weights = np.array([per_class.get(int(c), 0.0) for c in held_labels])
    return weights / weights.mean()


def record_set(table: RecordTable, positions: np.ndarray, rule: str) -> RecordSet:
    """The records of ``table`` at row ``positions`` as a ``RecordSet`` (in that order)."""
    ids = table.ids
    return RecordSet(table, tuple(ids[i] for i in positions), rule)


def evaluation_sets(table: RecordTable, forget: ForgetSet) -> tuple[RecordSet, RecordSet]:
    """(held-out records to attack ``forget`` against, held-out records to measure test
    accuracy on), chosen as the audit chooses them (:func:`audit_sets`)."""
    sets = audit_sets(table, forget)
    return (record_set(table, sets.non_members, sets.non_member_rule),
            record_set(table, sets.test, sets.test_rule))


@dataclass(frozen=True)
class ClassMixGap:
    """The class whose share of the forget set departs most from its share of the non-members
    (of two equally unlikely departures, the over-represented class).

    ``p_value``: two-sided binomial test of the forget set's count of ``label`` against the
    non-members' share, times the number of classes tested (Bonferroni).
    """

    label: int
    forget_share: float
    non_member_share: float
    p_value: float


def class_mix_gap(labels: np.ndarray, sets: AuditSets) -> ClassMixGap | None:
    """How unlike a random draw of non-members the forget set's class mix is (``labels``:
    ``(N,)`` class of every table row); None for an empty side."""
    forget, held = labels[sets.forget], labels[sets.non_members]
    if not len(forget) or not len(held):
        return None
    classes = np.union1d(np.unique(forget), np.unique(held))
    tests = []
    for c in classes:
        k, share = int((forget == c).sum()), float((held == c).mean())
        tests.append((binomial_two_sided(k, len(forget), share), int(c), k / len(forget), share))
    p = min(t[0] for t in tests)
    tied = [t for t in tests if t[0] <= p * (1 + 1e-6)]  # two classes: the same tail twice
    _, label, forget_share, held_share = max(tied, key=lambda t: t[2] - t[3])
    return ClassMixGap(label, forget_share, held_share, min(1.0, p * len(classes)))


def binomial_two_sided(k: int, n: int, p: float) -> float:
    """P(a Binomial(n, p) count at least as far into the tail as ``k``), doubled, at most 1."""
    if p <= 0.0 or p >= 1.0:
        return 1.0 if k == round(n * p) else 0.0
    j = np.arange(n + 1)
    log_comb = np.r_[0.0, np.cumsum(np.log(np.arange(n, 0, -1)) - np.log(np.arange(1, n + 1)))]
    pmf = np.exp(log_comb + j * math.log(p) + (n - j) * math.log1p(-p))
    tail = pmf[k:].sum() if k >= n * p else pmf[:k + 1].sum()
    return float(min(1.0, 2.0 * tail))
