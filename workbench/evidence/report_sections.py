"""The HTML report's sections: the plain-language summary first, then the technical tables.

Pure functions from an :class:`AuditRecord` to HTML fragments; :mod:`report_html` puts them
in order. Every table has a ``<thead>`` (repeated on each printed page).
"""

from __future__ import annotations

import html
import json
from typing import Any

from workbench.audit.summary import question_lines, verdict_rows, yardstick_text
from workbench.evidence.plain import PlainSummary
from workbench.evidence.record import AuditRecord
from workbench.evidence.selection import redact_ids
from workbench.labels import label_for_method, label_for_test, method_summary


def e(value: Any) -> str:
    """HTML-escaped text."""
    return html.escape(str(value))


def badge(status: str, big: bool = False) -> str:
    return f'<span class="badge {e(status)}{" big" if big else ""}">{e(status)}</span>'


def num(v: float | None) -> str:
    return "–" if v is None else f"{v:+.3f}" if v < 0 else f"{v:.3f}"


def table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table of already-escaped cells, its header row in ``<thead>``."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<table{f' class={cls!r}' if cls else ''}><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _infinity(text: str) -> str:
    return text.replace("[-inf,", "[−∞,").replace("+inf]", "+∞]")


def plain_section(record: AuditRecord, summary: PlainSummary) -> str:
    """What was asked, what was done, each question's answer and why, the next step."""
    rows = []
    for a in summary.answers:
        why = "".join(f"<li>{e(r)}</li>" for r in a.reasons)
        rows.append([f"<b>{e(a.question)}</b><br><span class='small'>{e(a.meaning)}</span>",
                     badge(a.status), f"<b>{e(a.answer)}</b><ul class='why'>{why}</ul>"])
    drift = [[e(r.name), num(r.original), num(r.unlearned), num(r.gold_standard),
              ("<b>" if r.notable else "") + num(r.change) + ("</b>" if r.notable else "")]
             for r in summary.class_drift]
    gold = record.tests.audit.drift.gold_standard is not None
    known = [summary.power, summary.flags, *summary.drift_lines, *summary.notes]
    return ("<section id='plain'><h2>In plain words</h2>"
            f"<p class='big'>Erasure: {badge(record.tests.overall, True)}</p>"
            f"<p><b>What was asked.</b> {e(summary.asked)}</p>"
            f"<p><b>What was done.</b> {e(summary.done)}</p>"
            + table(["question", "verdict", "answer and why"], rows, "answers")
            + f"<p class='next'><b>Next step.</b> {e(summary.next_step)}</p>"
            + "<h3>Good to know</h3><ul>" + "".join(f"<li>{e(k)}</li>" for k in known)
            + "</ul><h3>Accuracy per class (records the model never trained on)</h3>"
            + table(["class", "before erasure", "after erasure", "retrained without the records",
                     f"change vs {'retrained' if gold else 'before'}"], drift)
            + f"<h3>How the verdicts were decided</h3><p class='small'>{e(summary.rule)}</p>"
            + "</section>")


def scorecard(record: AuditRecord) -> str:
    """Every test: label and id, verdict, value, target, interval, band, power, reason."""
    tests, result = record.tests, record.tests.audit
    rows = []
    for r in verdict_rows(result):
        status = r[2].split(" ")[0]
        label = label_for_test(r[1])
        rows.append([badge(status) + e(r[2][len(status):]), e(r[0]),
                     f"{e(label.label)}<br><code>{e(r[1])}</code>", *map(e, r[3:])])
    reasons = "".join(f"<li><b>{e(label_for_test(v.test).label)}</b> (<code>{e(v.test)}</code>)"
                      f": {e(_infinity(v.reason))}</li>" for v in result.verdicts)
    explained = "".join(f"<li><b>{e(label_for_test(v.test).label)}</b>: "
                        f"{e(label_for_test(v.test).explanation)}</li>"
                        for v in result.verdicts)
    questions = "".join(f"<p>{badge(status)} {e(text)}</p>"
                        for status, text in question_lines(result))
    attempts = ("<p><b>Attempts</b> (an escalation; this record holds the last): "
                + " &rarr; ".join(f"{e(a.method)} {badge(a.erasure)}" for a in record.attempts)
                + "</p>" if len(record.attempts) > 1 else "")
    return (f"<section id='scorecard'><h2>Scorecard: every test</h2>{questions}"
            f"<p>Erasure verdict {badge(tests.overall)}. {e(yardstick_text(result))}</p>"
            + attempts
            + table(["verdict", "question", "test", "value", "target ± spread",
                     "difference [interval]", "band", "original (power)"], rows, "tests")
            + f"<h3>What each test asks</h3><ul class='small'>{explained}</ul>"
            + f"<h3>Why each verdict</h3><ul class='small'>{reasons}</ul></section>")


def membership_table(record: AuditRecord) -> str:
    rows = []
    for m in record.tests.audit.membership:
        k = m.metrics
        rows.append([e(m.attack.upper()), e(m.model.replace("_", " ")), e(m.comparison),
                     f"{k.auc:.3f} [{k.auc_ci[0]:.3f}, {k.auc_ci[1]:.3f}]",
                     f"{k.balanced_accuracy:.3f}", f"{k.tpr_at_1pct_fpr:.3f}",
                     f"{k.tpr_at_01pct_fpr:.3f}", f"{k.n_members} / {k.n_non_members}",
                     f"{k.min_resolvable_fpr:.1e}"])
    return table(["attack", "model", "comparison", "AUC [interval]", "balanced acc.",
                  "TPR@1% FPR", "TPR@0.1% FPR", "members / non-members",
                  "smallest FPR"], rows)


def drift_table(record: AuditRecord) -> str:
    d = record.tests.audit.drift
    models = [("original", d.original), ("unlearned", d.unlearned),
              ("gold standard", d.gold_standard)]
    rows = [[e(name), num(a.forget), num(a.retain), num(a.test)]
            for name, a in models if a is not None]
    return table(["model", "forget accuracy", "retain accuracy", "test accuracy"], rows)


def flags_table(record: AuditRecord) -> str:
    f = record.tests.audit.flags
    return table(["attack", "flag above", "forgotten records", "flagged after erasure",
                  "flagged by the retrained model", "flagged by the original",
                  "expected by chance"],
                 [[e(f.attack.upper()), f"{1 - f.fpr:.0%} of unseen records", str(f.n_forget),
                   str(f.n_flagged), "–" if f.n_flagged_gold_standard is None
                   else str(f.n_flagged_gold_standard), str(f.n_flagged_original),
                   f"{f.expected_by_chance:.1f}"]])


def _kv(pairs: list[tuple[str, Any]]) -> str:
    return table(["field", "value"], [[e(k), f"<code>{e(v)}</code>"] for k, v in pairs])


def reproducibility(record: AuditRecord, pdf_renderer: str | None) -> str:
    """Method, data, hashes, limitations, approval and integrity."""
    m, g, i, a = record.method, record.gold_standard, record.integrity, record.approval
    ref = record.tests.audit.shadow_models
    label = label_for_method(m.name)
    return ("<section id='method'><h2>Method and reproducibility</h2>" + _kv([
        ("method", f"{m.name}: {label.label}"),
        ("how it works", method_summary(m.name) or label.explanation),
        ("parameters", json.dumps(m.params, sort_keys=True)),
        ("seed", m.seed), ("device", m.device), ("data access", m.data_access),
        ("records used", json.dumps(m.records_used)), ("code version", m.code_version),
        ("library versions", json.dumps(m.library_versions, sort_keys=True)),
        ("run time (s)", m.wall_time_s), ("started / finished (UTC)",
                                          f"{m.started_at} / {m.finished_at}"),
        ("command", redact_ids(m.command) or "–"),
        ("selection rule", record.erased.rule), ("records source", record.erased.records_source),
        ("record table SHA-256", record.erased.data_sha256),
        ("weights before (SHA-256)", record.model.before_sha256),
        ("weights after (SHA-256)", record.model.after_sha256),
        ("unlearned model file", f"{record.model.after_file} ({record.model.after_file_sha256})"),
        ("gold standard", f"{'built' if g.built else 'not built'}: {g.how}"),
        ("gold standard weights (SHA-256)",
         "; ".join(f"seed {m.seed}: {m.weights_sha256}" for m in g.models) or "–"),
        ("attacks", ", ".join(record.tests.attacks)),
        ("shadow models", ref.note if ref else "none (LOSS attack only)"),
        ("thresholds", json.dumps(record.tests.thresholds.to_dict(), sort_keys=True)),
        ("re-run tolerance", record.tests.reproduce_tolerance)])
        + f"</section><h2>Limitations</h2><p>{e(record.tests.limitations)}</p>"
        + "<section id='integrity'><h2>Approval and integrity</h2>" + _kv([
            ("operator", a.operator), ("approver", a.approver or "–"),
            ("decision", a.decision), ("decided at", a.decided_at or "–"),
            ("record created (UTC)", record.created_at),
            ("ledger sequence", i.ledger_sequence), ("previous entry SHA-256", i.previous_sha256),
            ("record SHA-256", i.record_sha256),
            ("signature (Ed25519)", i.signature or "not signed"),
            ("PDF renderer", pdf_renderer or "no PDF was made with this HTML report")])
        + "<p>Per-record confidences and flagged record ids are not in this report: a "
          "before/after change reveals who was erased.</p></section>")
