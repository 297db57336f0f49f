"""The audit's tests: three questions, each answered against a calibrated yardstick.

- **erasure**: do the forgotten records look as member-like (one test per attack) and are
  they predicted as well (forget accuracy) as under models that never saw them?
- **collateral**: did the kept training records become more exposed (retain-set AUC)?
- **utility**: is test accuracy kept? (Retain accuracy is judged only when
  ``VerdictConfig.judge_retain_accuracy`` asks for it, and is always shown in the drift
  report: a retrained model memorises its retain set, an unlearned one need not.)

Each test's yardstick comes from the gold-standard models (their mean, their spread pooled
with the record bootstrap, and the mean's uncertainty), from one gold model, or without a
gold standard from held-out non-members and the original model. :func:`verdicts` applies
:func:`workbench.audit.verdict.decide` to each and checks the untouched original's power.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from workbench.audit.sets import AuditSets
from workbench.audit.verdict import (
    COLLATERAL,
    ERASURE,
    GOLD,
    INCONCLUSIVE,
    LOWER,
    NON_MEMBERS,
    ORIGINAL,
    PASS,
    TWO_SIDED,
    UPPER,
    UTILITY,
    Verdict,
    VerdictConfig,
    Yardstick,
    decide,
    describe,
)
from workbench.audit.yardsticks import Comparison, Values, ensemble_yardstick, pair_yardstick
from workbench.deprecation import legacy_keywords

Scores = dict[str, dict[str, np.ndarray]]  # attack -> model name -> (N,) scores
MATCHED = " (non-members weighted to the forget set's class mix)"


@dataclass(frozen=True)
class CheckSpec:
    """One test: its id, group, wording, side, floor and how to measure a model."""

    test: str
    group: str
    question: str
    metric: str
    side: str
    floor: float
    measure: Callable[[str], Values]  # model name -> its value and replicates
    no_gold: Callable[[str], Yardstick]  # model name -> its yardstick without a gold standard


def _yardstick(spec: CheckSpec, model: str, gold: list[str]) -> Yardstick:
    if len(gold) >= 2:
        return ensemble_yardstick([spec.measure(g) for g in gold], spec.floor)
    if len(gold) == 1:
        return pair_yardstick(spec.measure(gold[0]), spec.measure(model), GOLD, spec.floor,
                              models=1, spread_from_pair=True)
    return spec.no_gold(model)


def _status(spec: CheckSpec, model: str, gold: list[str], config: VerdictConfig):
    value = spec.measure(model)[0]
    stick = _yardstick(spec, model, gold)
    status, ci, allowed = decide(value - stick.target, stick, spec.side, config)
    return value, stick, status, ci, allowed


def run_check(spec: CheckSpec, gold: list[str], n_forget: int, config: VerdictConfig,
              candidate: str = "unlearned") -> Verdict:
    """The ``candidate`` model's verdict on ``spec``, with the original's power check."""
    value, stick, status, ci, allowed = _status(spec, candidate, gold, config)
    difference = value - stick.target
    reason = describe(status, difference, ci, allowed, stick)
    power, original_value, original_status = None, None, None
    over = spec.side == TWO_SIDED and allowed[0] is not None and difference < allowed[0]
    if spec.group == ERASURE:
        original_value, _, original_status, _, _ = _status(spec, "original", gold, config)
        power = original_status != PASS
        if over:
            reason = ("over-forgetting: the records now look less like training members than "
                      "under models that never saw them, which itself marks them as erased "
                      f"(the Streisand effect); {reason}")
        if status == PASS and not power:
            status = INCONCLUSIVE
            reason = (f"no power at this size: the untouched original passes this test too "
                      f"(it scores {original_value:.3f}), so it cannot show that anything was "
                      f"erased; {reason}")
        elif status == PASS and n_forget < config.min_forget_records:
            status = INCONCLUSIVE
            reason = (f"too small to decide: {n_forget} forgotten records, fewer than "
                      f"{config.min_forget_records}; {reason}")
    return Verdict(test=spec.test, group=spec.group, question=spec.question,
                   metric=spec.metric, status=status, value=value, target=stick.target,
                   difference=difference, interval=ci, allowed=allowed, side=spec.side,
                   yardstick=stick, power=power,
                   original_value=original_value, original_status=original_status,
                   over_forgetting=bool(over), reason=reason)


def comparisons(sets: AuditSets, config: VerdictConfig,
                seed: int) -> tuple[Comparison, Comparison | None]:
    """The forget-vs-non-member and retain-vs-held-out comparisons (None: no retain side),
    each resampled once for the whole audit."""
    b = config.n_bootstrap
    forget = Comparison.of(sets.forget, sets.non_members, sets.forget_pair_weights(), b, seed)
    retain = (Comparison.of(sets.retain, sets.retain_non_members, None, b, seed + 1)
              if len(sets.retain) and len(sets.retain_non_members) else None)
    return forget, retain


def _auc(comparison: Comparison, by_model: dict[str, np.ndarray], model: str) -> Values:
    return comparison.auc(by_model[model])


def _accuracy(comparison: Comparison, correct: dict[str, np.ndarray], members: bool,
              model: str) -> Values:
    return comparison.accuracy(correct[model], members=members)


def check_specs(scores: Scores, correct: dict[str, np.ndarray], sets: AuditSets,
                config: VerdictConfig, forget: Comparison, retain: Comparison | None,
                measured: dict[tuple[str, str], Values] | None = None) -> list[CheckSpec]:
    """Every test of an audit over ``scores`` (attack -> model -> ``(N,)``) and ``correct``
    (model -> ``(N,)`` bool), models named ``original``, ``unlearned`` and gold members.
    ``measured``: a cache of ``(test, model) -> values`` shared between calls over the same
    scores and comparisons (benchmarks judging many candidates)."""
    n = len(sets.forget)
    measured = {} if measured is None else measured

    def _memo(test: str, measure: Callable[[str], Values]) -> Callable[[str], Values]:
        def cached(model: str) -> Values:
            if (test, model) not in measured:
                measured[test, model] = measure(model)
            return measured[test, model]
        return cached

    matched = MATCHED if sets.non_member_weights is not None else ""
    specs: list[CheckSpec] = []
    for attack, by_model in scores.items():
        forget_auc = _memo(f"mia_forget_{attack}", partial(_auc, forget, by_model))

        def chance(model: str, measure=forget_auc) -> Yardstick:
            sd = max(float(np.nanstd(measure(model)[1])), forget.null_auc_sd())
            return Yardstick(NON_MEMBERS, 0, 0.5, sd, 0.0, 1.0 / n)

        specs.append(CheckSpec(
            f"mia_forget_{attack}", ERASURE,
            "Do the forgotten records look no more (and no less) like training members than "
            "under a model that never saw them?",
            f"{attack} AUC, forget set vs {sets.non_member_rule}{matched}", TWO_SIDED, 1.0 / n,
            forget_auc, chance))
        if retain is not None:
            retain_auc = _memo(f"mia_retain_{attack}", partial(_auc, retain, by_model))

            specs.append(CheckSpec(
                f"mia_retain_{attack}", COLLATERAL,
                "Are the kept training records no more exposed than under retraining?",
                f"{attack} AUC, retain set vs held-out", UPPER, config.retain_mia_auc_increase,
                retain_auc, _against_original(retain_auc, config.retain_mia_auc_increase)))

    forget_acc = _memo("forget_accuracy",
                       lambda model: forget.accuracy(correct[model], members=True))

    def unseen_acc(model: str) -> Yardstick:
        p, reps = forget.accuracy(correct[model], members=False)
        return Yardstick(NON_MEMBERS, 0, p, math.sqrt(p * (1.0 - p) / n),
                         float(np.nanstd(reps)), 1.0 / n)

    specs.append(CheckSpec(
        "forget_accuracy", ERASURE,
        "Are the forgotten records predicted no better (and no worse) than by a model that "
        "never saw them?", f"accuracy on the forget set{matched}", TWO_SIDED, 1.0 / n,
        forget_acc, unseen_acc))
    if retain is not None:
        judged = [("test", False, config.test_accuracy_drop)]
        if config.judge_retain_accuracy:  # else shown in the drift table only
            judged.append(("retain", True, config.retain_accuracy_drop))
        for name, members, floor in judged:
            acc = _memo(f"{name}_accuracy", partial(_accuracy, retain, correct, members))

            rule = sets.test_rule if name == "test" else "the retain set"
            specs.append(CheckSpec(
                f"{name}_accuracy", UTILITY, f"Is accuracy on {rule} kept?",
                f"accuracy on {rule}", LOWER, floor, acc, _against_original(acc, floor)))
    return specs


def _against_original(measure: Callable[[str], Values], floor: float
                      ) -> Callable[[str], Yardstick]:
    def yardstick(model: str) -> Yardstick:
        return pair_yardstick(measure("original"), measure(model), ORIGINAL, floor,
                              spread_from_pair=False)
    return yardstick


@dataclass(frozen=True)
class Judging:
    """Which model :func:`verdicts` judges, and what it may reuse.

    Attributes:
        candidate: the judged model's name in ``scores`` and ``correct``.
        measured: a cache of ``(test, model) -> values`` shared between calls over the same
            scores and comparisons (benchmarks judging many candidates); see
            :func:`check_specs`. The dict fills as tests run.
    """

    candidate: str = "unlearned"
    measured: dict[tuple[str, str], Values] | None = None


@legacy_keywords(moved={"candidate": "candidate", "measured": "measured"}, options="judging",
                 factory=Judging)
def verdicts(scores: Scores, correct: dict[str, np.ndarray], sets: AuditSets,
             gold: list[str], config: VerdictConfig, seed: int,
             resampled: tuple[Comparison, Comparison | None] | None = None, *,
             judging: Judging | None = None) -> tuple[Verdict, ...]:
    """Every test's verdict for the model ``judging.candidate`` (default ``unlearned``;
    ``gold``: the gold members' names in ``scores`` and ``correct``; empty without a gold
    standard). ``resampled``: the audit's :func:`comparisons` (drawn from ``seed`` when not
    given)."""
    judging = judging or Judging()
    forget, retain = resampled or comparisons(sets, config, seed)
    specs = check_specs(scores, correct, sets, config, forget, retain, judging.measured)
    return tuple(run_check(spec, gold, len(sets.forget), config, judging.candidate)
                 for spec in specs)


__all__ = ["CheckSpec", "Comparison", "Judging", "check_specs", "comparisons",
           "ensemble_yardstick", "pair_yardstick", "run_check", "verdicts"]
