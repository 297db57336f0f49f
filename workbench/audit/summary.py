"""The scorecard as text: one source for the notebook, the HTML report and the PDF.

Three questions, each with its own verdict, then every test with its value, what a model
that never saw the forget set scores (the target and the band), the interval, what the
untouched original scores (power) and the reason.
"""

from __future__ import annotations

from workbench.audit.result import AuditResult
from workbench.audit.verdict import COLLATERAL, ERASURE, FAIL, PASS, UTILITY, Verdict

QUESTIONS = {
    ERASURE: "Erased: does the model now treat the forgotten records as a model retrained "
             "without them would (recognising them no more and no less)?",
    COLLATERAL: "Collateral: are the kept training records no more exposed than before?",
    UTILITY: "Utility: is accuracy on unseen records kept?",
}
HEADER = ("question", "test", "verdict", "value", "target ± spread", "difference [interval]",
          "band", "original (power)")


def band_text(allowed: tuple[float | None, float | None]) -> str:
    """``[-0.050, +0.050]``, with ``−∞`` / ``+∞`` for an open side."""
    low, high = allowed
    return (f"[{'−∞' if low is None else f'{low:+.3f}'}, "
            f"{'+∞' if high is None else f'{high:+.3f}'}]")


def status_text(v: Verdict) -> str:
    extra = (" (over-forgetting)" if v.over_forgetting else
             " (no power)" if v.power is False else "")
    return v.status + extra


def original_text(v: Verdict) -> str:
    if v.original_value is None:
        return "-"
    return f"{v.original_value:.3f} ({v.original_status})"


def question_lines(result: AuditResult) -> list[tuple[str, str]]:
    """``(verdict, question)`` for erasure, collateral and utility, in that order."""
    return [(getattr(result, group), QUESTIONS[group]) for group in (ERASURE, COLLATERAL,
                                                                     UTILITY)]


def verdict_rows(result: AuditResult) -> list[tuple[str, ...]]:
    """One row per test, grouped by question, in :data:`HEADER`'s columns."""
    rows: list[tuple[str, ...]] = []
    for group in (ERASURE, COLLATERAL, UTILITY):
        for v in (v for v in result.verdicts if v.group == group):
            stick = v.yardstick
            rows.append((group, v.test, status_text(v), f"{v.value:.3f}",
                         f"{v.target:.3f} ± {stick.spread:.3f}",
                         f"{v.difference:+.3f} [{v.interval[0]:+.3f}, {v.interval[1]:+.3f}]",
                         band_text(v.allowed), original_text(v)))
    return rows


def yardstick_text(result: AuditResult) -> str:
    """Against what the verdicts were decided, in one sentence."""
    k = result.gold_standard_count
    if k > 1:
        who = f"an ensemble of {k} models retrained without the forget set"
    elif k == 1:
        who = "one model retrained without the forget set (a weaker yardstick than an ensemble)"
    else:
        who = "held-out non-members and the original model (no gold standard)"
    return (f"Compared with {who}; {result.forget_count} forgotten records, "
            f"{result.non_member_count} non-members, attacks {', '.join(result.attacks)}, "
            f"seed {result.seed}.")


def next_step(erasure: str, tried: list[str]) -> str:
    """What to do now, given the erasure verdict and the methods tried, in one sentence."""
    if erasure == PASS:
        return ("The erasure PASSed: review the report, then approve it (workbench approve) and "
                "deploy the unlearned model.")
    methods = ", ".join(tried) or "this method"
    if erasure == FAIL:
        return (f"The erasure FAILed after {methods}: do not deploy this model. Run a stronger "
                "method (escalate, e.g. to a method that uses the retain set, or to retrain), "
                "or reject the erasure; approving it needs a written override reason.")
    return (f"The erasure is INCONCLUSIVE after {methods}: more retrained models, more records "
            "or a stronger method would settle it (see the notes); approving it needs a written "
            "override reason.")
