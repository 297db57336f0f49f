"""The self-contained HTML report of an audit record: opens offline, loads nothing.

Scorecard first (overall verdict, every test with its target and PASS / FAIL, the passed
checks listed too), then plots and tables (before/after confidence, log-log ROC, accuracy
drift, attack metrics), then method and reproducibility. Figures are inline SVG, or
plotly with plotly.js inlined once.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

from workbench.atomic import atomic_path
from workbench.audit.summary import next_step, question_lines, verdict_rows, yardstick_text
from workbench.evidence.record import AuditRecord
from workbench.evidence.selection import redact_ids
from workbench.plots import plot_confidence, plot_drift, plot_roc

_NO_META = {"Creator": None, "Date": None, "Format": None, "Type": None}
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
Figures = Literal["svg", "plotly"]
_CSS = """
.override{color:#cf222e;font-weight:bold}pre.case{white-space:pre-wrap;font-size:.85em}
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em;width:100%}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.PASS{color:#fff;background:#2e7d32}.FAIL{color:#fff;background:#c62828}
.INCONCLUSIVE{color:#000;background:#f9a825}.badge{padding:2px 8px;border-radius:3px;
font-weight:bold}.big{font-size:1.4em}code{font-size:.9em;word-break:break-all}
.fig{page-break-inside:avoid}.fig svg{max-width:100%;height:auto}@media print{body{margin:0 1em}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _badge(status: str, big: bool = False) -> str:
    return f'<span class="badge {_e(status)}{" big" if big else ""}">{_e(status)}</span>'


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:+.3f}" if v < 0 else f"{v:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _scorecard(record: AuditRecord) -> str:
    tests, result = record.tests, record.tests.audit
    rows = [[_badge(r[2].split(" ")[0]) + _e(r[2][len(r[2].split(" ")[0]):]), *map(_e, r[:2]),
             *map(_e, r[3:])] for r in verdict_rows(result)]
    reasons = "".join(f"<li><b>{_e(v.test)}</b>: {_e(v.reason)}</li>" for v in result.verdicts)
    questions = "".join(f"<p>{_badge(status)} {_e(text)}</p>"
                        for status, text in question_lines(result))
    req = record.request
    tried = [a.method for a in record.attempts] or [record.method.name]
    return (f"<h2>Scorecard</h2><p class='big'>Erasure: {_badge(tests.overall, True)}</p>"
            + questions +
            f"<p>Request <b>{_e(req.reference or '–')}</b> ({_e(req.legal_basis or '–')}), "
            f"received {_e(req.received or '–')}, due {_e(req.due or '–')}. "
            f"{record.erased.count} record(s) erased from <b>{_e(record.model.name)}</b> by "
            f"<b>{_e(record.method.name)}</b>. {_e(yardstick_text(result))}</p>"
            + ("<p><b>Attempts</b> (an escalation; this record holds the last): "
               + " &rarr; ".join(f"{_e(a.method)} {_badge(a.erasure)}" for a in record.attempts)
               + "</p>" if len(record.attempts) > 1 else "")
            + f"<p><b>Next step.</b> {_e(next_step(tests.overall, tried))}</p>"
            + f"<p><b>Decision rule.</b> {_e(result.decision_rule)}</p>"
            + _table(["verdict", "question", "test", "value", "target ± spread",
                      "difference [interval]", "band", "original (power)"], rows)
            + f"<h3>Why each verdict</h3><ul class='small'>{reasons}</ul>")


def _membership_table(record: AuditRecord) -> str:
    rows = []
    for m in record.tests.audit.membership:
        k = m.metrics
        rows.append([_e(m.attack.upper()), _e(m.model.replace("_", " ")), _e(m.comparison),
                     f"{k.auc:.3f} [{k.auc_ci[0]:.3f}, {k.auc_ci[1]:.3f}]",
                     f"{k.balanced_accuracy:.3f}", f"{k.tpr_at_1pct_fpr:.3f}",
                     f"{k.tpr_at_01pct_fpr:.3f}", f"{k.n_members} / {k.n_non_members}"])
    return _table(["attack", "model", "comparison", "AUC [interval]", "balanced acc.",
                   "TPR@1% FPR", "TPR@0.1% FPR", "members / non-members"], rows)


def _drift_table(record: AuditRecord) -> str:
    d = record.tests.audit.drift
    models = [("original", d.original), ("unlearned", d.unlearned),
              ("gold standard", d.gold_standard)]
    rows = [[_e(name), _num(a.forget), _num(a.retain), _num(a.test)]
            for name, a in models if a is not None]
    return _table(["model", "forget accuracy", "retain accuracy", "test accuracy"], rows)


def _kv(pairs: list[tuple[str, Any]]) -> str:
    return _table(["field", "value"], [[_e(k), f"<code>{_e(v)}</code>"] for k, v in pairs])


def _reproducibility(record: AuditRecord, pdf_renderer: str) -> str:
    m, g, i, a = record.method, record.gold_standard, record.integrity, record.approval
    ref = record.tests.audit.reference
    return ("<h2>Method and reproducibility</h2>" + _kv([
        ("method", m.name), ("parameters", json.dumps(m.params, sort_keys=True)),
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
        ("reference models", ref.note if ref else "none (LOSS attack only)"),
        ("thresholds", json.dumps(record.tests.thresholds.to_dict(), sort_keys=True)),
        ("re-run tolerance", record.tests.reproduce_tolerance)])
        + f"<h2>Limitations</h2><p>{_e(record.tests.limitations)}</p>"
        + "<h2>Approval and integrity</h2>" + _kv([
            ("operator", a.operator), ("approver", a.approver or "–"),
            ("decision", a.decision), ("decided at", a.decided_at or "–"),
            ("record created (UTC)", record.created_at),
            ("ledger sequence", i.ledger_sequence), ("previous entry SHA-256", i.previous_sha256),
            ("record SHA-256", i.record_sha256),
            ("signature (Ed25519)", i.signature or "not signed"),
            ("PDF renderer", pdf_renderer)])
        + "<p>Per-record confidences and flagged record ids are not in this report: a "
          "before/after change reveals who was erased.</p>")


def _figures(record: AuditRecord, figures: Figures) -> list[str]:
    result, out = record.tests.audit, []
    if figures == "svg":
        for plot in (plot_confidence, plot_roc, plot_drift):
            buffer = io.StringIO()
            plot(result, backend="matplotlib").savefig(buffer, format="svg", metadata=_NO_META)
            svg = buffer.getvalue()
            svg = _NAMESPACES.sub("", svg[svg.index("<svg"):])  # HTML needs no xmlns
            out.append('<div class="fig">' + svg + "</div>")
        return out
    import plotly.io as pio

    for i, plot in enumerate((plot_confidence, plot_roc, plot_drift)):
        out.append('<div class="fig">' + pio.to_html(
            plot(result), full_html=False, include_plotlyjs=i == 0,
            config={"displayModeBar": False, "responsive": True}) + "</div>")
    return out


def render_html(record: AuditRecord, *, pdf_renderer: str = "none",
                figures: Figures = "svg", decisions: list[str] | None = None) -> str:
    """The report as one HTML string that loads nothing from outside.

    ``figures="svg"`` embeds static SVG figures (small; no URL at all); ``"plotly"`` embeds
    interactive plotly figures with plotly.js inline (about 5 MB; the library's source
    mentions URLs it would only fetch for map traces, which the report has none of).
    ``decisions``: the request's life since (``workbench status`` lines), shown first, an
    override and a missed due date in red.
    """
    if figures not in ("svg", "plotly"):
        raise ValueError(f"figures must be 'svg' or 'plotly', got {figures!r}")
    figs = _figures(record, figures)
    title = f"Erasure audit {record.request.reference or record.integrity.record_sha256 or ''}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            + (_decisions(decisions) if decisions else "") + _scorecard(record)
            + "<h2>Plots</h2>" + "".join(figs)
            + "<h2>Attack metrics</h2>" + _membership_table(record)
            + "<h2>Accuracy drift</h2>" + _drift_table(record)
            + _reproducibility(record, pdf_renderer) + "</body></html>")


def _decisions(lines: list[str]) -> str:
    rows = "".join(f"<div class='{'override' if 'OVERRIDE' in line or 'MISSED' in line else ''}'>"
                   f"{_e(line)}</div>" for line in lines)
    return f"<h2>Decisions since the erasure</h2><pre class='case'>{rows}</pre>"


def write_html(record: AuditRecord, path: str | Path, *, pdf_renderer: str = "none",
               figures: Figures = "svg", decisions: list[str] | None = None) -> Path:
    """Write the report atomically."""
    text = render_html(record, pdf_renderer=pdf_renderer, figures=figures, decisions=decisions)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
