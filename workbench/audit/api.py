"""``audit_model``: the one verb that checks an erasure, from models and records to verdicts."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
from torch import nn

from workbench.audit.attacks import (
    ATTACK_NAMES,
    DEFAULT_RMIA_A,
    FIXED_VARIANCE_BELOW,
    SHADOW_ATTACKS,
    AttackOptions,
    ShadowSignals,
    attack_scores,
    tune_rmia_a,
)
from workbench.audit.checks import comparisons, verdicts
from workbench.audit.confidence import confidence_report
from workbench.audit.drift import drift_report
from workbench.audit.epsilon import estimate_epsilon
from workbench.audit.flags import record_flags
from workbench.audit.gold import DEFAULT_GOLD_COUNT
from workbench.audit.metrics import attack_metrics
from workbench.audit.options import AUDIT_KEYWORDS, AuditOptions
from workbench.audit.request_models import (
    Gold,
    as_module,
    check_attacks,
    fit_models,
    gold_models_of,
    model_of,
)
from workbench.audit.result import AuditResult, MembershipResult, ShadowInfo
from workbench.audit.sets import AuditSets, audit_sets, class_mix_gap
from workbench.audit.shadow import ShadowModels, shadow_models
from workbench.audit.signals import record_signals
from workbench.audit.verdict import (
    COLLATERAL,
    ERASURE,
    GOLD,
    NON_MEMBERS,
    UTILITY,
    VerdictConfig,
    group_status,
)
from workbench.audit.yardsticks import Comparison
from workbench.deprecation import legacy_keywords, renamed_attributes
from workbench.executor import get_executor
from workbench.hashing import table_sha256, weights_sha256
from workbench.models.fit import unwrap
from workbench.progress import Progress
from workbench.records import ForgetSet, RecordTable
from workbench.unlearn import UnlearnResult

CLASS_MIX_ALPHA = 0.01  # below this p-value an audit without gold notes the class-mix confound
SMALL_K = 16  # fewer shadow models than this: RMIA/LiRA say they are a small-K estimate
EXACT_TPR_AT = 1000  # fewer non-members: TPR at 0.1% FPR is the TPR at zero false positives


@legacy_keywords(renamed={"reference": "gold_standard"}, moved=AUDIT_KEYWORDS,
                 factory=AuditOptions)
def audit_model(original: nn.Module, unlearned: nn.Module | UnlearnResult, *,
                records: RecordTable, forget: ForgetSet, gold_standard: Gold | None = None,
                attacks: Iterable[str] = ATTACK_NAMES, options: AuditOptions | None = None,
                progress: Progress | None = None) -> AuditResult:
    """Audit whether ``unlearned`` forgot ``forget``: confidence, membership, drift, verdicts.

    Args:
        original: the model before unlearning (never modified).
        unlearned: the unlearned model, or the ``UnlearnResult`` that holds it.
        records: the record table the models were trained on (members and held-out).
        forget: the records that were to be forgotten (``records.select(...)``).
        gold_standard: models retrained without ``forget``: a :class:`GoldStandard` ensemble
            (``gold_standard(original, forget)``: ``K`` retrains, the calibrated yardstick), a
            sequence of retrained models or results, or one (``unlearn_model(...,
            method="retrain")``; a weaker yardstick: its spread is estimated from one pair).
            None compares with held-out non-members instead (weighted to the forget set's
            class mix).
        attacks: any of ``loss``, ``rmia`` and ``lira`` (the last two train shadow models).
        options: seed, verdict thresholds, shadow and epsilon models, and where they train
            (:class:`AuditOptions`; None: its defaults).
        progress: called as ``progress(step, total, message)``.

    The keywords of the previous release (``reference=``, ``seed=``, ``config=``,
    ``reference_models=``, ``recipe=``, ``epsilon_models=``, ``cache_dir=``, ``workers=``,
    ``executor=``, ``device=``) still work, with a ``DeprecationWarning``.

    Raises:
        ValueError: unknown attacks, a forget set with no held-out counterpart, models with
            mismatched outputs, records whose features do not fit the models, results made
            from another model or forget set. ``CacheError`` for a mismatched cache entry.
    """
    start = time.perf_counter()
    options = options or AuditOptions()
    seed, config = options.seed, options.config or VerdictConfig()
    attacks = check_attacks(attacks)
    workers = options.training.workers
    executor = get_executor(options.training.executor, workers=workers)  # fails before work
    if not isinstance(records, RecordTable):
        raise ValueError(f"records must be a RecordTable, got {type(records).__name__}")
    if options.epsilon_models and not isinstance(unlearned, UnlearnResult):
        raise ValueError("epsilon_models needs the UnlearnResult of the unlearning run (to "
                         "rerun its method with other seeds), not a bare model")
    sets = audit_sets(records, forget, class_matched=gold_standard is None,
                      limit=config.compare_limit, seed=seed)
    models = {"original": as_module(original, "original"),
              "unlearned": model_of(unlearned, original, forget, "unlearned")}
    gold = gold_models_of(gold_standard, models["original"], forget, sets)
    models.update(zip(gold_names(len(gold)), gold, strict=True))
    models = fit_models(models, records)  # before any work: widths, classes, weights
    if workers is None and type(unwrap(models["original"])).__module__ == "__main__":
        workers = 1  # a wrapped class from __main__ may not reach spawned workers
    report = progress or (lambda step, total, message: None)
    report(1, 4, "signals")
    sig = {name: record_signals(m, records, name=f"the {name.replace('_', ' ')} model")
           for name, m in models.items()}
    training = replace(options.training, executor=executor, workers=workers)
    setup, info, shadow_signals = AttackOptions(population=sets.population), None, None
    if any(a in SHADOW_ATTACKS for a in attacks):
        report(2, 4, "shadow models")
        shadows = shadow_models(models["original"], records, count=options.shadow_models,
                                seed=seed, recipe=options.recipe, training=training,
                                progress=progress)
        shadow_signals = shadows.signals(records)
        setup, info = _attack_setup(shadows, shadow_signals, sets.population, seed)
    report(3, 4, "attacks and metrics")
    scores = {a: {name: attack_scores(a, s, shadow_signals, setup) for name, s in sig.items()}
              for a in attacks}
    resampled = comparisons(sets, config, seed)
    tests = verdicts(scores, {name: s.correct for name, s in sig.items()}, sets,
                     gold_names(len(gold)), config, seed, resampled)
    epsilon = None
    if options.epsilon_models:
        report(4, 4, "per-example epsilon")
        assert isinstance(unlearned, UnlearnResult)  # a bare model was refused above
        epsilon = estimate_epsilon(models["original"], forget, method=unlearned.method,
                                   params=unlearned.params, n_models=options.epsilon_models,
                                   seed=seed, training=training)
    classes = records.schema.classes
    return AuditResult(
        seed=seed, attacks=attacks, records_name=records.name, data_sha256=table_sha256(records),
        forget_rule=forget.rule, forget_count=len(forget), forget_ids=tuple(forget.ids),
        is_class_request=forget.is_class_request, non_member_rule=sets.non_member_rule,
        non_member_count=len(sets.non_members), retain_count=len(sets.retain),
        original_sha256=weights_sha256(models["original"]),
        unlearned_sha256=weights_sha256(models["unlearned"]),
        gold_standard_sha256s=tuple(weights_sha256(m) for m in gold),
        unlearned_method=unlearned.method if isinstance(unlearned, UnlearnResult) else None,
        compared_to=GOLD if gold else NON_MEMBERS,
        membership=_membership(scores, sets, config, seed, resampled),
        confidence=confidence_report(sig, sets, classes),
        drift=drift_report(sig["original"], sig["unlearned"],
                           [sig[n] for n in gold_names(len(gold))], sets, classes),
        verdicts=tests, erasure=group_status(tests, ERASURE),
        collateral=group_status(tests, COLLATERAL), utility=group_status(tests, UTILITY),
        overall=group_status(tests, ERASURE), decision_rule=config.rule,
        flags=record_flags(scores, sets, config, records.ids), config=config, shadow_models=info,
        epsilon=epsilon, notes=_notes(len(gold), sets, info, records, forget, config),
        wall_time_s=round(time.perf_counter() - start, 3))


def gold_names(count: int) -> list[str]:
    """Model names of ``count`` gold members: ``gold_standard`` (member 0, the one the plots,
    flags and confidences show), then ``gold_standard_1``, ..."""
    return ["gold_standard", *(f"gold_standard_{k}" for k in range(1, count))][:count]


def _attack_setup(refs: ShadowModels, shadow_signals: ShadowSignals,
                  population: np.ndarray, seed: int) -> tuple[AttackOptions, ShadowInfo]:
    """RMIA's ``a`` (tuned on the shadow models) and LiRA's variance mode, recorded."""
    tuned = tune_rmia_a(shadow_signals)
    out = refs.count // 2
    options = AttackOptions(population=population,
                            rmia_a=DEFAULT_RMIA_A if tuned is None else tuned,
                            lira_fixed_variance=out < FIXED_VARIANCE_BELOW)
    size = f"{refs.count} shadow models, {out} OUT per record"
    info = ShadowInfo(
        count=refs.count, out_per_record=out, seed=seed, cache_key_sha256=refs.digest,
        from_cache=refs.from_cache, train_time_s=round(refs.train_time_s, 3),
        rmia_a=options.rmia_a,
        rmia_a_source="tuned on the shadow models" if tuned is not None else
        f"default {DEFAULT_RMIA_A} (too few shadow models to tune)",
        rmia_gamma=options.rmia_gamma, lira_fixed_variance=bool(options.lira_fixed_variance),
        weights_sha256=tuple(weights_sha256(m) for m in refs.models),
        note=(f"small-K estimate: {size}; more shadow models make RMIA and LiRA stronger"
              if refs.count < SMALL_K else size))
    return options, info


def _membership(scores: dict[str, dict[str, np.ndarray]], sets: AuditSets,
                config: VerdictConfig, seed: int,
                resampled: tuple[Comparison, Comparison | None]) -> tuple[MembershipResult, ...]:
    """Metrics of every attack on the original, unlearned and first gold model, forget vs
    non-members and retain vs held-out (95% percentile intervals)."""
    out = []
    for attack, by_model in scores.items():
        for name in ("original", "unlearned", "gold_standard"):
            if name not in by_model:
                continue
            for comparison, sides in zip(("forget", "retain"), resampled, strict=True):
                if sides is None:
                    continue
                metrics = attack_metrics(by_model[name][sides.positions], sides.truth,
                                         n_bootstrap=config.n_bootstrap, seed=seed,
                                         weights=sides.weights, replicates=sides.replicates)
                out.append(MembershipResult(attack, name, comparison, metrics))
    return tuple(out)


def _notes(gold_count: int, sets: AuditSets, info: ShadowInfo | None, records: RecordTable,
           forget: ForgetSet, config: VerdictConfig) -> tuple[str, ...]:
    notes = [f"Decision rule: {config.rule}"]
    if len(sets.forget) < config.min_forget_records:
        notes.append(f"Too small to decide: {len(sets.forget)} forgotten records, fewer than "
                     f"{config.min_forget_records}. A forget-set test at this size can FAIL but "
                     "not PASS: the numbers are shown, the erasure cannot be established.")
    if gold_count == 1:
        notes.append("One retrained model was given as the gold standard: each verdict's "
                     "yardstick is estimated from that one model, so the verdicts are weaker "
                     "(in the calibration benchmark 11-46% of independent retrains PASS against "
                     f"one model, 84-97% against {DEFAULT_GOLD_COUNT}; most of the rest are "
                     "INCONCLUSIVE). Pass gold_standard(original, forget) for the calibrated "
                     "ensemble.")
    elif gold_count:
        notes.append(f"Gold standard: {gold_count} models retrained without the forget set "
                     "(different seeds); every band is their spread.")
    if not gold_count:
        notes.append("No gold standard was given: forget-set verdicts compare the unlearned "
                     f"model with {sets.non_member_rule} (AUC 0.5, their accuracy) and utility "
                     "with the original model. This cannot tell memorisation from forgotten "
                     "records that differ from the held-out ones by chance; retrained models "
                     "(gold_standard()) are the stronger yardstick.")
        gap = None if forget.is_class_request else class_mix_gap(records.labels().numpy(), sets)
        if gap is not None and gap.p_value < CLASS_MIX_ALPHA:
            mix = (f"The forget set's class mix is unlike a random draw of "
                   f"{sets.non_member_rule} (class {records.schema.classes[gap.label]}: "
                   f"{gap.forget_share:.0%} of the forget set, {gap.non_member_share:.0%} of "
                   f"the non-members; p = {gap.p_value:.1g}). ")
            notes.append(mix + (
                "The forget-set verdicts weight the non-members to its class mix; a selection "
                "by features (a query) can still differ from them in other ways: a retrained "
                "model as gold_standard= is the like-for-like comparison."
                if sets.non_member_weights is not None else
                "Some of its classes have no held-out record, so the forget-vs-non-member "
                "verdicts mix forgetting with how hard those classes are: pass a retrained "
                "model as gold_standard= for a like-for-like comparison."))
    if info is not None:
        notes.append(info.note)
    weights = sets.non_member_weights
    counted = len(sets.non_members) if weights is None else int((weights > 0).sum())
    if counted < EXACT_TPR_AT:
        which = "non-members" if weights is None else "non-members of the forget set's classes"
        notes.append(f"Only {counted} {which}: TPR at 0.1% FPR is the TPR at zero false "
                     "positives.")
    notes.append("Membership tests are empirical evidence against these attacks at this "
                 "strength, not a proof that no trace of the records remains.")
    return tuple(notes)


__getattr__ = renamed_attributes(__name__, audit="audit_model")
