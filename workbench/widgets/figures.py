"""Result -> figure functions for the widgets: each takes an ``AuditResult`` and returns a
plotly figure (or, for the scorecard, an HTML string). They compute nothing the audit has not
already measured; the panels only put them on screen. The confidence, ROC and drift figures
are :mod:`workbench.plots`' (the reports draw the same ones).
"""

from __future__ import annotations

import html
import json
from typing import Any

import plotly.graph_objects as go

from workbench.audit import AuditResult
from workbench.audit.attacks import STRONGEST_FIRST
from workbench.audit.summary import HEADER, question_lines, verdict_rows, yardstick_text
from workbench.audit.verdict import FAIL, INCONCLUSIVE, PASS
from workbench.labels import label_for_test
from workbench.plots import plot_confidence, plot_drift, plot_roc

STATUS_COLOURS = {PASS: "#1a7f37", FAIL: "#cf222e", INCONCLUSIVE: "#9a6700"}
ATTACK_PREFERENCE = STRONGEST_FIRST


def confidence_figure(result: AuditResult) -> go.Figure:
    """Confidence in the true label of each forgotten record under each model, against the
    held-out non-members' (the "never seen" look): :func:`workbench.plots.plot_confidence`."""
    return plot_confidence(result)


def _attack(result: AuditResult, attack: str | None) -> str:
    if attack is not None:
        return attack
    return next(a for a in ATTACK_PREFERENCE if a in result.attacks)


def roc_figure(result: AuditResult, attack: str | None = None) -> go.Figure:
    """Membership-inference ROC (forget set vs non-members) on log-log axes, one curve per
    model, with AUC and TPR at 1% FPR in the legend (:func:`workbench.plots.plot_roc`).
    ``attack``: default the strongest run."""
    return plot_roc(result, attacks=(_attack(result, attack),))


def drift_figure(result: AuditResult) -> go.Figure:
    """Accuracy of each model on the forget, retain and test records and per class
    (:func:`workbench.plots.plot_drift`)."""
    return plot_drift(result)


def scorecard_html(result: AuditResult) -> str:
    """The three questions' verdicts, then every test (hover a row for its reason)."""
    reasons = {v.test: v.reason for v in result.verdicts}
    rows = []
    for row in verdict_rows(result):
        colour = STATUS_COLOURS.get(row[2].split(" ")[0], "black")
        label = html.escape(label_for_test(row[1]).label)
        cells = (f"<td>{label}<br><code>{html.escape(row[1])}</code></td>"
                 + "".join(f"<td>{html.escape(c)}</td>" for c in row[3:]))
        rows.append(f"<tr title='{html.escape(reasons[row[1]], quote=True)}'>"
                    f"<td>{html.escape(row[0])}</td><td style='color:{colour};font-weight:bold'>"
                    f"{html.escape(row[2])}</td>{cells}</tr>")
    head = "".join(f"<th>{h}</th>" for h in (HEADER[0], HEADER[2], HEADER[1], *HEADER[3:]))
    questions = "".join(
        f"<li><b style='color:{STATUS_COLOURS.get(status, 'black')}'>{status}</b> "
        f"{html.escape(text)}</li>" for status, text in question_lines(result))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    erasure = STATUS_COLOURS.get(result.erasure, "black")
    return (f"<div class='wb-scorecard'><h3>Erasure verdict: <span style='color:{erasure}'>"
            f"{result.erasure}</span></h3><ul>{questions}</ul>"
            f"<p>{html.escape(yardstick_text(result))}</p>"
            f"<table style='border-collapse:collapse' border='1' cellpadding='4'><tr>{head}</tr>"
            f"{''.join(rows)}</table><ul style='font-size:90%'>{notes}</ul></div>")


def mimebundle(fig: go.Figure) -> dict[str, Any]:
    """The display bundle JupyterLab and Voila render as an interactive plotly chart."""
    spec = json.loads(fig.to_json())
    spec["config"] = {"displaylogo": False, "responsive": True}
    return {"application/vnd.plotly.v1+json": spec,
            "text/plain": f"<plotly figure: {fig.layout.title.text}>"}


def digits_figure(result: AuditResult, table: Any, limit: int = 8) -> Any:
    """Forgotten images (image-shaped records) with their confidence under each model."""
    import matplotlib.pyplot as plt

    records = result.confidence.records[:limit]
    if not records:
        raise ValueError("the audit holds no per-record confidences (a redacted record?)")
    images = table.inputs([r.record_id for r in records]).numpy()
    if images.ndim != 4:
        raise ValueError(f"records of {table.name!r} are not images (shape {images.shape[1:]})")
    fig, axes = plt.subplots(1, len(records), figsize=(1.7 * len(records), 2.6), squeeze=False)
    for ax, record, image in zip(axes[0], records, images, strict=True):
        ax.imshow(image[0], cmap="gray_r")
        gold = "" if record.gold_standard is None else f"\nretrained {record.gold_standard:.2f}"
        ax.set_title(f"'{record.label}' {record.record_id}\nbefore {record.original:.2f}\n"
                     f"after {record.unlearned:.2f}{gold}", fontsize=8)
        ax.axis("off")
    fig.suptitle("confidence in the true label", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
