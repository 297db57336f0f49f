"""The audit's tests, run on scores and signals: membership, accuracy, per-record flags."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.audit._json import JsonRecord
from workbench.audit.metrics import upper_quantile
from workbench.audit.sets import AuditSets
from workbench.audit.signals import Signals
from workbench.audit.verdict import (
    GOLD,
    NON_MEMBERS,
    ORIGINAL,
    Verdict,
    VerdictConfig,
    make_verdict,
    mean_difference,
    paired_auc_difference,
)

STRONGEST_FIRST = ("lira", "rmia", "loss")
MATCHED = " (non-members weighted to the forget set's class mix)"
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


def _pair(sets_a: np.ndarray, sets_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.r_[sets_a, sets_b]
    return positions, np.r_[np.ones(len(sets_a), bool), np.zeros(len(sets_b), bool)]


def membership_verdicts(scores: Scores, sets: AuditSets, config: VerdictConfig,
                        seed: int) -> list[Verdict]:
    """Forget-vs-non-member (erasure) and retain-vs-held-out (collateral) AUC tests."""
    out = []
    for attack, by_model in scores.items():
        gold = by_model.get("gold_standard")
        pos, truth = _pair(sets.forget, sets.non_members)
        tol = config.mia_auc_tolerance
        matched = sets.non_member_weights is not None
        numbers = paired_auc_difference(by_model["unlearned"][pos],
                                        None if gold is None else gold[pos], truth, config, seed,
                                        record_weights=sets.forget_pair_weights())
        out.append(make_verdict(
            f"mia_forget_{attack}", "Is the forget set as member-like as under the target?",
            f"{attack} AUC, forget vs {sets.non_member_rule}{MATCHED if matched else ''}",
            numbers, (-tol, tol), GOLD if gold is not None else NON_MEMBERS, config,
            over_forgetting_below=-tol))
        if len(sets.retain) and len(sets.retain_non_members):
            pos, truth = _pair(sets.retain, sets.retain_non_members)
            target = gold if gold is not None else by_model["original"]
            numbers = paired_auc_difference(by_model["unlearned"][pos], target[pos], truth,
                                            config, seed)
            out.append(make_verdict(
                f"mia_retain_{attack}", "Did unlearning expose the retain set more?",
                f"{attack} AUC, retain vs held-out", numbers,
                (None, config.retain_mia_auc_increase), GOLD if gold is not None else ORIGINAL,
                config))
    return out


def accuracy_verdicts(models: dict[str, Signals], sets: AuditSets, config: VerdictConfig,
                      seed: int) -> list[Verdict]:
    """Forget accuracy (two-sided) and test / retain accuracy (a bounded drop)."""
    unlearned = models["unlearned"].correct
    gold = models.get("gold_standard")
    tol = config.forget_accuracy_tolerance
    if gold is not None:
        numbers = mean_difference(unlearned[sets.forget], gold.correct[sets.forget], config, seed,
                                  paired=True)
        compared = GOLD
    else:
        numbers = mean_difference(unlearned[sets.forget], unlearned[sets.non_members], config,
                                  seed, paired=False, target_weights=sets.non_member_weights)
        compared = NON_MEMBERS
    matched = sets.non_member_weights is not None
    out = [make_verdict("forget_accuracy", "Is the forget set predicted like unseen records?",
                        f"accuracy on the forget set{MATCHED if matched else ''}", numbers,
                        (-tol, tol), compared, config, over_forgetting_below=-tol)]
    target = (gold if gold is not None else models["original"]).correct
    compared = GOLD if gold is not None else ORIGINAL
    for name, positions, drop in (("test", sets.test, config.test_accuracy_drop),
                                  ("retain", sets.retain, config.retain_accuracy_drop)):
        if len(positions):
            numbers = mean_difference(unlearned[positions], target[positions], config, seed,
                                      paired=True)
            out.append(make_verdict(f"{name}_accuracy", f"Is {name} accuracy kept?",
                                    f"accuracy on the {name} set", numbers, (-drop, None),
                                    compared, config))
    return out


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

