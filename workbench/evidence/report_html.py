"""The self-contained HTML report of an audit record: opens offline, loads nothing.

A plain-language summary first (what was asked, what was done, each question's answer and
why, the next step, power, record flags, per-class drift, notes and the decision rule), then
the technical part: every test (label and id, target, interval, band, power, reason), plots
(per-record dots or histograms of confidence, log-log ROC, accuracy drift), attack metrics,
drift and flag tables, method and reproducibility. Figures are inline SVG, or plotly with
plotly.js inlined once.

Printed (``workbench.evidence.report_pdf`` prints it with chromium), every page carries the
request, the record's SHA-256 and "page X of Y" in its margins (CSS ``@page`` margin boxes),
and table headers repeat on each page.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Literal

from workbench.atomic import atomic_path
from workbench.evidence.plain import plain_summary
from workbench.evidence.record import AuditRecord
from workbench.evidence.report_sections import (
    drift_table,
    e,
    flags_table,
    membership_table,
    plain_section,
    reproducibility,
    scorecard,
)
from workbench.evidence.selection import redact_ids  # noqa: F401  (re-exported for callers)
from workbench.plots import plot_confidence, plot_drift, plot_roc

_NO_META = {"Creator": None, "Date": None, "Format": None, "Type": None}
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
Figures = Literal["svg", "plotly"]
Paper = Literal["A4", "Letter"]
PAPERS = ("A4", "Letter")
_CSS = """
.override{color:#cf222e;font-weight:bold}pre.case{white-space:pre-wrap;font-size:.85em}
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222;
line-height:1.35}h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.6em}h3{font-size:1.05em;margin:1.1em 0 .3em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em;width:100%}
thead{display:table-header-group}tr{break-inside:avoid}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.PASS{color:#fff;background:#2e7d32}.FAIL{color:#fff;background:#c62828}
.INCONCLUSIVE{color:#000;background:#f9a825}.badge{padding:2px 8px;border-radius:3px;
font-weight:bold;white-space:nowrap}.big{font-size:1.4em}code{font-size:.9em;
word-break:break-all}.small{font-size:.85em;color:#444}ul.why{margin:.3em 0 0 1.1em;
padding:0;font-weight:normal}table.answers td:first-child{width:24%}
table.answers td:nth-child(2){width:1%}p.next{border-left:4px solid #1f77b4;padding:.3em .6em;
background:#f3f8fc}section#technical{break-before:page}
.fig{break-inside:avoid}.fig svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}
h3{break-after:avoid}}
"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal that cannot end the string or the style element."""
    safe = "".join(c if c.isalnum() or c in " .,:;()/+-_#·" else f"\\{ord(c):x} " for c in text)
    return f'"{safe}"'


def page_css(record: AuditRecord, paper: Paper) -> str:
    """``@page``: the paper size and, in the margins of every printed page, the request, the
    erasure verdict, the record's SHA-256 and "page X of Y"."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {PAPERS}, got {paper!r}")
    sha = record.integrity.record_sha256 or "not sealed"
    box = "font-family:Helvetica,Arial,sans-serif;font-size:7.5pt;color:#555"
    request = _css_string("Erasure audit " + (record.request.reference or "–"))
    return (f"@page{{size:{paper};margin:17mm 13mm 17mm 13mm;@top-left{{content:{request};"
            f"{box}}}@top-right{{content:{_css_string('Erasure: ' + record.tests.overall)};"
            f"{box}}}@bottom-left{{content:{_css_string('record SHA-256 ' + sha)};{box}}}"
            f'@bottom-right{{content:"page " counter(page) " of " counter(pages);{box}}}}}')


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


def render_html(record: AuditRecord, *, pdf_renderer: str | None = None,
                figures: Figures = "svg", decisions: list[str] | None = None,
                paper: Paper = "A4") -> str:
    """The report as one HTML string that loads nothing from outside.

    ``figures="svg"`` embeds static SVG figures (small; no URL at all); ``"plotly"`` embeds
    interactive plotly figures with plotly.js inline (about 5 MB; the library's source
    mentions URLs it would only fetch for map traces, which the report has none of).
    ``decisions``: the request's life since (``workbench status`` lines), shown first, an
    override and a missed due date in red. ``pdf_renderer``: what printed the PDF made with
    this HTML (None: no PDF). ``paper``: the printed page size.
    """
    if figures not in ("svg", "plotly"):
        raise ValueError(f"figures must be 'svg' or 'plotly', got {figures!r}")
    css = page_css(record, paper) + _CSS
    figs = _figures(record, figures)
    title = f"Erasure audit {record.request.reference or record.integrity.record_sha256 or ''}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}"
            f"</title><style>{css}</style></head><body><h1>{e(title)}</h1>"
            + (_decisions(decisions) if decisions else "")
            + plain_section(record, plain_summary(record))
            + "<section id='technical'>" + scorecard(record)
            + "<h2>Plots</h2>" + "".join(figs)
            + "<h2>Attack metrics</h2>" + membership_table(record)
            + "<h2>Accuracy drift</h2>" + drift_table(record)
            + "<h2>Record flags</h2>" + flags_table(record) + "</section>"
            + reproducibility(record, pdf_renderer) + "</body></html>")


def _decisions(lines: list[str]) -> str:
    rows = "".join(f"<div class='{'override' if 'OVERRIDE' in line or 'MISSED' in line else ''}'>"
                   f"{e(line)}</div>" for line in lines)
    return f"<h2>Decisions since the erasure</h2><pre class='case'>{rows}</pre>"


def write_html(record: AuditRecord, path: str | Path, *, pdf_renderer: str | None = None,
               figures: Figures = "svg", decisions: list[str] | None = None,
               paper: Paper = "A4") -> Path:
    """Write the report atomically."""
    text = render_html(record, pdf_renderer=pdf_renderer, figures=figures, decisions=decisions,
                       paper=paper)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
