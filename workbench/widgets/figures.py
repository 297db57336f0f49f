"""Result -> figure functions for the widgets: each takes an ``AuditResult`` and returns a
plotly figure (or, for the scorecard, an HTML string). They compute nothing the audit has not
already measured; the panels only put them on screen.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import plotly.graph_objects as go

from workbench.audit import AuditResult
from workbench.audit.summary import HEADER, question_lines, verdict_rows, yardstick_text
from workbench.labels import label_for_test
from workbench.plots import DOT_PLOT_MAX

MODEL_LABELS = {"original": "original", "unlearned": "unlearned",
                "gold_standard": "gold standard (retrained)"}
MODEL_COLOURS = {"original": "#d62728", "unlearned": "#1f77b4", "gold_standard": "#2ca02c"}
STATUS_COLOURS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700"}
ATTACK_PREFERENCE = ("lira", "rmia", "loss")
LAYOUT = {"template": "plotly_white", "height": 360, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def _models(result: AuditResult) -> list[str]:
    return [m for m in MODEL_LABELS if m != "gold_standard" or result.gold_standard_sha256s]


def confidence_figure(result: AuditResult) -> go.Figure:
    """Confidence in the true label of each forgotten record under each model, against the
    held-out non-members' distribution under the unlearned model (the "never seen" look).
    Below :data:`workbench.plots.DOT_PLOT_MAX` records every record is a dot (hover: its id),
    one row per model; above it, overlaid histograms."""
    report = result.confidence
    if report.records and len(report.records) < DOT_PLOT_MAX:
        return _confidence_strip(result)
    edges = np.asarray(report.histogram_edges)
    centres, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
    fig = go.Figure()
    non_members = report.non_members["unlearned"]
    density = np.asarray(non_members.histogram, float) / max(non_members.count, 1) / width
    fig.add_bar(x=centres, y=density, width=width, marker_color="lightgrey",
                name=f"{report.non_member_rule} (never seen), n={non_members.count}")
    for model in _models(result):
        values = [getattr(r, model) for r in report.records]
        fig.add_histogram(x=values, histnorm="probability density", name=(
            f"forgotten records: {MODEL_LABELS[model]}, mean {np.mean(values):.2f}"),
            xbins={"start": 0.0, "end": 1.0, "size": width}, opacity=0.55,
            marker_color=MODEL_COLOURS[model])
    fig.update_layout(**LAYOUT, barmode="overlay",
                      title=f"Confidence on the {result.forget_count} forgotten records, "
                            "before and after",
                      xaxis_title="confidence in the true label", yaxis_title="density",
                      legend={"orientation": "h", "y": -0.25})
    fig.update_layout(height=420)
    return fig


def _confidence_strip(result: AuditResult) -> go.Figure:
    report, models = result.confidence, _models(result)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(report.records))
    rows = {m: len(models) - i for i, m in enumerate(models)}  # original on top, row 0 unseen
    fig = go.Figure()
    non = report.non_members["unlearned"]
    edges = np.asarray(report.histogram_edges)
    shares = np.asarray(non.histogram, float) / max(max(non.histogram), 1)
    fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=0.7 * shares, base=-0.35,
                width=float(edges[1] - edges[0]) * 0.9, marker_color="lightgrey",
                name=f"{report.non_member_rule} (never seen), n={non.count}")
    for model in models:
        values = [getattr(r, model) for r in report.records]
        fig.add_scatter(x=values, y=rows[model] + jitter, mode="markers",
                        marker={"color": MODEL_COLOURS[model], "size": 9},
                        text=[f"{r.record_id} ('{r.label}')" for r in report.records],
                        hovertemplate="%{text}: %{x:.3f}<extra></extra>",
                        name=f"forgotten records: {MODEL_LABELS[model]}, "
                             f"mean {np.mean(values):.2f}")
    names = ["unseen records", *(MODEL_LABELS[m] for m in reversed(models))]
    fig.update_layout(**LAYOUT, title=f"Confidence on each of the {result.forget_count} "
                                      "forgotten records, before and after",
                      xaxis={"title": "confidence in the true label", "range": [-0.02, 1.02]},
                      yaxis={"tickvals": list(range(len(names))), "ticktext": names},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_layout(height=420)
    return fig


def _attack(result: AuditResult, attack: str | None) -> str:
    if attack is not None:
        return attack
    return next(a for a in ATTACK_PREFERENCE if a in result.attacks)


def roc_figure(result: AuditResult, attack: str | None = None) -> go.Figure:
    """Membership-inference ROC (forget set vs non-members) on log-log axes, one curve per
    model, with AUC and TPR at 1% FPR in the legend. ``attack``: default the strongest run."""
    attack = _attack(result, attack)
    fig = go.Figure()
    floor = None
    for model in _models(result):
        m = result.metrics(attack, model)
        floor = m.min_resolvable_fpr if floor is None else min(floor, m.min_resolvable_fpr)
        fpr, tpr = np.asarray(m.roc_fpr), np.asarray(m.roc_tpr)
        keep = (fpr > 0) & (tpr > 0)
        fig.add_scatter(x=fpr[keep], y=tpr[keep], mode="lines", line_color=MODEL_COLOURS[model],
                        name=f"{MODEL_LABELS[model]}: AUC {m.auc:.3f}, "
                             f"TPR@1%FPR {m.tpr_at_1pct_fpr:.3f}")
    low = max(floor or 1e-3, 1e-4) / 2
    fig.add_scatter(x=[low, 1], y=[low, 1], mode="lines", name="chance",
                    line={"dash": "dot", "color": "grey"})
    if floor:
        fig.add_vrect(x0=low, x1=floor, fillcolor="grey", opacity=0.15, line_width=0)
    fig.update_layout(**LAYOUT, title=f"Membership inference ({attack.upper()}) on the forgotten "
                                      "records vs non-members",
                      xaxis={"type": "log", "title": "false positive rate (grey: below 1/"
                             f"{round(1 / (2 * low))}, the smallest measurable rate)", "range":
                             [np.log10(low), 0]},
                      yaxis={"type": "log", "title": "true positive rate", "range":
                             [np.log10(low), 0]},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_layout(height=440)
    return fig


def drift_figure(result: AuditResult) -> go.Figure:
    """Accuracy of each model on the forget, retain and test records and per class."""
    drift = result.drift
    fig = go.Figure()
    for model in _models(result):
        acc = getattr(drift, model)
        groups = {"forget": acc.forget, "retain": acc.retain, "test": acc.test}
        groups.update({f"class {k}": v for k, v in acc.per_class.items()})
        names = [k for k, v in groups.items() if v is not None]
        fig.add_bar(x=names, y=[groups[k] for k in names], name=MODEL_LABELS[model],
                    marker_color=MODEL_COLOURS[model])
    fig.update_layout(**LAYOUT, barmode="group", title="Accuracy drift (per class: held-out)",
                      yaxis={"title": "accuracy", "range": [0, 1.05]},
                      legend={"orientation": "h", "y": -0.25})
    return fig


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
