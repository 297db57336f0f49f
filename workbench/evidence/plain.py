"""The audit in plain words: what was asked, what was done, each question's answer and why,
and what to do next. One pure function per part; the HTML and PDF reports only lay them out.

Verdict ids and numbers stay in the JSON and the technical tables; here every test has its
label (:mod:`workbench.labels`) and every FAIL or INCONCLUSIVE has a reason a DPO can act on,
over-forgetting included (records that look *less* like training data than under retraining
stand out as erased).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.audit.result import AuditResult
from workbench.audit.summary import next_step as technical_next_step
from workbench.audit.verdict import (
    COLLATERAL,
    ERASURE,
    FAIL,
    GROUPS,
    INCONCLUSIVE,
    PASS,
    UTILITY,
    Verdict,
)
from workbench.evidence.record import AuditRecord
from workbench.labels import ATTACKS, label_for_method, label_for_test
from workbench.unlearn.base import RETAIN_READ

CLASS_DRIFT_NOTABLE = 0.05  # a per-class accuracy change this large is named in words
QUESTIONS = {ERASURE: "Erased?", COLLATERAL: "Kept records safe?", UTILITY: "Still useful?"}
MEANING = {ERASURE: "Does the model now treat the forgotten records as a model retrained "
                    "without them would: recognising them no more and no less?",
           COLLATERAL: "Are the training records that stay no more exposed than under "
                       "retraining?",
           UTILITY: "Does the model still predict unseen records as well as before?"}
ANSWERS = {
    ERASURE: {PASS: "Yes: every test treats the forgotten records as retraining does.",
              FAIL: "No: at least one test shows the records were not erased as retraining "
                    "would erase them.",
              INCONCLUSIVE: "Not established: the evidence does not decide either way."},
    COLLATERAL: {PASS: "Yes: the kept training records are no more exposed than before.",
                 FAIL: "No: the kept training records became easier to identify.",
                 INCONCLUSIVE: "Not established: the evidence does not decide either way."},
    UTILITY: {PASS: "Yes: accuracy on unseen records is kept.",
              FAIL: "No: accuracy on unseen records dropped beyond the allowed margin.",
              INCONCLUSIVE: "Not established: the evidence does not decide either way."},
}


@dataclass(frozen=True)
class Answer:
    """One question's verdict, its answer in a sentence and the reason behind each test."""

    group: str
    question: str
    meaning: str
    status: str
    answer: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ClassDrift:
    """Held-out accuracy of one class before, after and under retraining (None: no gold)."""

    name: str
    original: float | None
    unlearned: float | None
    gold_standard: float | None
    change: float | None  # after minus retrained (or minus original without a gold standard)
    notable: bool


@dataclass(frozen=True)
class PlainSummary:
    """Everything the report's first section says, as text."""

    asked: str
    done: str
    answers: tuple[Answer, ...]
    next_step: str
    power: str
    flags: str
    class_drift: tuple[ClassDrift, ...]
    drift_lines: tuple[str, ...]
    notes: tuple[str, ...]
    rule: str


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _who(v: Verdict) -> str:
    return "retrained models" if v.yardstick.compared_to == "gold standard" else \
        f"the {v.yardstick.compared_to}"


def verdict_reason(v: Verdict, n_forget: int, min_forget: int) -> str:
    """Why one test came out as it did, in words (the label first)."""
    label, value, target, who = label_for_test(v.test).label, _n(v.value), _n(v.target), _who(v)
    membership = v.test.startswith("mia_")
    if v.over_forgetting:
        how = ("look less like training data to an attacker" if membership
               else "are predicted worse")
        return (f"{label}: over-forgetting. The forgotten records now {how} than under "
                f"{who} ({value} against {target}). That is not extra safety: records that "
                "score unusually low stand out, so an attacker can tell they were erased (the "
                "Streisand effect). A gentler setting (fewer steps, a lower learning rate) or "
                "another method should bring them back within range.")
    if v.status == PASS:
        return f"{label}: within the range of {who} ({value} against {target})."
    if v.status == FAIL:
        if v.group == ERASURE:
            how = ("are still recognised as training data" if membership
                   else "are still predicted better than by a model that never saw them")
            return f"{label}: the forgotten records {how} ({value} against {target} for {who})."
        if v.group == COLLATERAL:
            return (f"{label}: the kept records became easier to identify ({value} against "
                    f"{target} for {who}).")
        return f"{label}: accuracy fell to {value} from {target} ({who}), beyond the margin."
    if v.power is False:
        return (f"{label}: no power. The untouched original scores {_n(v.original_value)} "
                "and would pass this test too, so passing it shows nothing was erased.")
    low, high = v.allowed
    inside = ((low is None or v.interval[0] >= low) and (high is None or v.interval[1] <= high))
    if v.group == ERASURE and n_forget < min_forget and inside:
        return (f"{label}: too few records to decide. {n_forget} were erased; a PASS needs at "
                f"least {min_forget}. The numbers agree with retraining ({value} against "
                f"{target}) but cannot establish it.")
    return (f"{label}: too uncertain to decide ({value} against {target} for {who}): the "
            "measurement's interval crosses the edge of the allowed range. More records or "
            "more retrained models would settle it.")


def answers(result: AuditResult) -> tuple[Answer, ...]:
    """Erased? Kept records safe? Still useful? Each with a reason per test."""
    n, floor = result.forget_count, result.config.min_forget_records
    out = []
    for group in GROUPS:
        status = getattr(result, group)
        tests = [v for v in result.verdicts if v.group == group]
        failing = [v for v in tests if v.status != PASS or v.over_forgetting]
        reasons = tuple(verdict_reason(v, n, floor) for v in failing or tests)
        answer = ANSWERS[group][status] if tests else "Not tested."
        if group == ERASURE and status == INCONCLUSIVE and n < floor:
            answer = (f"Not established: {n} records are too few to show an erasure (a PASS "
                      f"needs at least {floor}); no test failed.")
        if group == ERASURE and any(v.over_forgetting for v in failing):
            answer = ("No: the records were over-forgotten, so they now stand out as erased "
                      "(see why below).")
        out.append(Answer(group, QUESTIONS[group], MEANING[group], status, answer, reasons))
    return tuple(out)


def power_text(result: AuditResult) -> str:
    """What the untouched original scored on the erasure tests: can they tell at all?"""
    tests = [v for v in result.verdicts if v.group == ERASURE and v.original_value is not None]
    if not tests:
        return "No erasure test measured the untouched original."
    scored = "; ".join(f"{label_for_test(v.test).label} {v.original_value:.2f} "
                       f"({v.original_status})" for v in tests)
    blind = [label_for_test(v.test).label for v in tests if v.power is False]
    if blind:
        return (f"The untouched original would pass {', '.join(blind)} too, so those tests "
                f"cannot show an erasure (no power). Original model: {scored}.")
    return (f"Every erasure test can tell: the untouched original does not pass them. "
            f"Original model: {scored}.")


def flags_text(result: AuditResult) -> str:
    """How many forgotten records still score like training members (ids not shown)."""
    f = result.flags
    attack = ATTACKS.get(f.attack, (f.attack,))[0]
    gold = ("" if f.n_flagged_gold_standard is None else
            f" A model retrained without them flags {f.n_flagged_gold_standard}.")
    return (f"Record flags: {f.n_flagged} of {f.n_forget} forgotten records still score like "
            f"training members under the {attack} (above the {1 - f.fpr:.0%} mark of unseen "
            f"records); about {f.expected_by_chance:.1f} would by chance.{gold} The untouched "
            f"original flags {f.n_flagged_original}. Which records are flagged is kept out "
            "of this report.")


def class_drift(result: AuditResult) -> tuple[ClassDrift, ...]:
    """Per-class held-out accuracy, notable where it moved at least ``CLASS_DRIFT_NOTABLE``
    from retraining (from the original without a gold standard)."""
    d = result.drift
    rows = []
    for name, after in d.unlearned.per_class.items():
        before = d.original.per_class.get(name)
        gold = None if d.gold_standard is None else d.gold_standard.per_class.get(name)
        ref = gold if d.gold_standard is not None else before
        change = None if after is None or ref is None else after - ref
        rows.append(ClassDrift(name, before, after, gold, change,
                               change is not None and abs(change) >= CLASS_DRIFT_NOTABLE))
    return tuple(rows)


def drift_lines(rows: tuple[ClassDrift, ...]) -> tuple[str, ...]:
    """One sentence per notable class."""
    out = []
    for r in rows:
        if not r.notable or r.change is None:  # notable: a change was measured
            continue
        verb = "fell" if r.change < 0 else "rose"
        ref = ("" if r.gold_standard is None else
               f"; retrained models: {_n(r.gold_standard)}")
        out.append(f"Accuracy on unseen records of class '{r.name}' {verb} from "
                   f"{_n(r.original)} to {_n(r.unlearned)}{ref}.")
    return tuple(out)


def next_step(record: AuditRecord) -> str:
    """What to do now, in words, from the three verdicts and the methods tried."""
    result = record.tests.audit
    tried = [a.method for a in record.attempts] or [record.method.name]
    over = [v for v in result.verdicts if v.group == ERASURE and v.over_forgetting]
    small = result.forget_count < result.config.min_forget_records
    if result.erasure == FAIL and over:
        step = ("Do not deploy this model: it over-forgot, so the erased records stand out. "
                "Re-run with a gentler setting or another method, or reject the erasure.")
    elif result.erasure == INCONCLUSIVE and small:
        step = (f"{result.forget_count} records are too few to establish an erasure. Erase "
                "them together with other requests, retrain, or approve with a written "
                "override reason that states the evidence is limited.")
    else:
        step = technical_next_step(result.erasure, tried)
    if result.utility == FAIL:
        step += " Accuracy dropped: check the model is still fit for use before deploying."
    return step


def how_it_ran(resolved: Mapping[str, object]) -> str:
    """What the method settled at run time, in words, where that changes what it did."""
    read = resolved.get(RETAIN_READ)
    sample = (f" It did read {read:,} kept training records, drawn at random from those it was "
              "given (the record commits to which by a hash of their ids), only to keep the "
              "erased model's answers on them close to the original's." if
              isinstance(read, int) and read > 0 else "")
    if resolved.get("unseen_profile") or resolved.get("unseen_margin_profile"):  # (earlier)
        return (" How sure a model that never saw these records would be of them came from "
                "the confidence profile reported with the model (measured when it was built, "
                "on models trained without each record), not from the kept records." + sample)
    if resolved.get("target") != "one-label retrain":
        return sample
    size = resolved.get("retain_size")
    count = f"{size:,} " if isinstance(size, int) and size > 0 else ""
    capped = resolved.get("inputs_capped_at")
    limit = (f" The stand-ins were capped at {capped:,}, so it trained fewer steps than a "
             "retrain would and may be less confident than one." if capped else "")
    return (f" One class was left, so it trained a fresh copy of the model, with the model's "
            f"training recipe, on {count}synthetic stand-ins of that class (as many as the "
            "kept records, counted, not read): what a model that never saw the forgotten "
            "class learns." + limit)


def plain_summary(record: AuditRecord) -> PlainSummary:
    """The report's first section."""
    req, result, m = record.request, record.tests.audit, label_for_method(record.method.name)
    kind = "whole class(es)" if record.erased.is_class_request else "record(s)"
    basis = req.legal_basis or "no legal basis given"
    asked = (f"Request {req.reference or '(no reference)'} ({basis}), received "
             f"{req.received or '–'}, due {req.due or '–'}: erase "
             f"{record.erased.count} {kind} from the model '{record.model.name}'."
             + (f" Request notes: {req.notes}" if req.notes else ""))
    steps = " then ".join(label_for_method(a.method).label for a in record.attempts)
    gold = record.gold_standard
    done = (f"Erased with {m.label} ({record.method.name}): {m.explanation}"
            + how_it_ran(record.method.resolved)
            + (f" Methods tried in turn: {steps}." if len(record.attempts) > 1 else "")
            + (f" Judged against {len(gold.models)} model(s) retrained without the records."
               if gold.built else " No retrained model was built: the erasure was judged "
               "against records the model never saw, a weaker yardstick."))
    rows = class_drift(result)
    notes = tuple(n for n in result.notes if not n.startswith("Decision rule"))
    return PlainSummary(asked=asked, done=done, answers=answers(result),
                        next_step=next_step(record), power=power_text(result),
                        flags=flags_text(result), class_drift=rows,
                        drift_lines=drift_lines(rows), notes=notes, rule=result.config.rule)
