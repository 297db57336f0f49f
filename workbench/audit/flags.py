"""Per-record flags: forgotten records that still look like training members."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.audit._json import JsonRecord
from workbench.audit.attacks import STRONGEST_FIRST
from workbench.audit.metrics import upper_quantile
from workbench.audit.sets import AuditSets
from workbench.audit.verdict import VerdictConfig

Scores = dict[str, dict[str, np.ndarray]]  # attack -> model name -> (N,) scores


@dataclass(frozen=True)
class FlaggedRecord(JsonRecord):
    """A forgotten record whose score under the unlearned model still looks like a member.

    ``p_value`` is the share of non-members scoring at least as high (with +1 smoothing;
    without a gold standard, weighted to the forget set's class mix like the verdicts).
    """

    record_id: str
    score: float
    p_value: float
    original_score: float
    gold_standard_score: float | None
    flagged_under_gold_standard: bool | None


@dataclass(frozen=True)
class RecordFlags(JsonRecord):
    """Forgotten records above each model's ``1 - fpr`` quantile of non-member scores.

    About ``expected_by_chance`` records are flagged even for a perfect erasure; compare
    ``n_flagged`` with ``n_flagged_gold_standard`` (the same test on the retrained model).
    """

    attack: str
    fpr: float
    threshold: float
    n_forget: int
    expected_by_chance: float
    n_flagged: int
    n_flagged_original: int
    n_flagged_gold_standard: int | None
    records: tuple[FlaggedRecord, ...]


def record_flags(scores: Scores, sets: AuditSets, config: VerdictConfig,
                 ids: tuple[str, ...]) -> RecordFlags:
    """Forgotten records that still look like members under the strongest attack run.

    ``ids`` are the table's record ids (positions in ``sets`` index them).
    """
    attack = next(a for a in STRONGEST_FIRST if a in scores)
    by_model = scores[attack]
    fpr = config.record_flag_fpr
    weights = sets.non_member_weights  # the forget set's class mix, as the verdicts weigh

    def flags(name: str) -> tuple[np.ndarray, float]:
        threshold = upper_quantile(by_model[name][sets.non_members], 1.0 - fpr, weights)
        return by_model[name][sets.forget] > threshold, threshold

    flagged, threshold = flags("unlearned")
    gold_flags = flags("gold_standard")[0] if "gold_standard" in by_model else None
    non_member = by_model["unlearned"][sets.non_members]
    share = np.ones(len(non_member)) if weights is None else weights
    records = []
    for i in np.flatnonzero(flagged):
        p = sets.forget[i]
        score = float(by_model["unlearned"][p])
        above = share[non_member >= score].sum()
        records.append(FlaggedRecord(
            record_id=ids[p], score=score,
            p_value=float((1 + above) / (1 + share.sum())),
            original_score=float(by_model["original"][p]),
            gold_standard_score=(float(by_model["gold_standard"][p]) if gold_flags is not None
                                 else None),
            flagged_under_gold_standard=bool(gold_flags[i]) if gold_flags is not None else None))
    records.sort(key=lambda r: (r.p_value, r.record_id))
    return RecordFlags(
        attack=attack, fpr=fpr, threshold=threshold, n_forget=len(sets.forget),
        expected_by_chance=fpr * len(sets.forget), n_flagged=int(flagged.sum()),
        n_flagged_original=int(flags("original")[0].sum()),
        n_flagged_gold_standard=int(gold_flags.sum()) if gold_flags is not None else None,
        records=tuple(records))

