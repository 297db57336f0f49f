"""Result -> figure: before/after confidence, log-log ROC and accuracy drift of an audit.

Each function takes an ``AuditResult`` and returns a plotly figure (``backend="plotly"``,
interactive, for notebooks, widgets and the HTML report) or a matplotlib figure
(``backend="matplotlib"``, static, for PDFs). They read only aggregate fields, so they work
on a redacted result read back from an audit record too.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from workbench.audit import AuditResult

Backend = Literal["plotly", "matplotlib"]
MODEL_LABELS = {"original": "original", "unlearned": "unlearned",
                "gold_standard": "gold standard (retrained)"}
COLOURS = {"original": "#d62728", "unlearned": "#1f77b4", "gold_standard": "#2ca02c",
           "non_members": "#7f7f7f"}
DASHES = {"loss": ("dot", ":"), "rmia": ("dash", "--"), "lira": ("solid", "-")}
LOG_FLOOR = 1e-4


def confidence_series(result: AuditResult) -> tuple[np.ndarray, list[tuple[str, str, list]]]:
    """Bin centres and ``(key, label, shares)``: forget-set confidence under each model and
    the non-members' under the unlearned model, as shares of each group per bin."""
    edges = np.asarray(result.confidence.histogram_edges)
    centres = (edges[:-1] + edges[1:]) / 2
    series = []
    for name, dist in result.confidence.forget.items():
        series.append((name, f"forget set, {MODEL_LABELS.get(name, name)}", _shares(dist)))
    non = result.confidence.non_members.get("unlearned")
    if non is not None:
        series.append(("non_members", f"{result.confidence.non_member_rule}, unlearned",
                       _shares(non)))
    return centres, series


def _shares(dist) -> list[float]:
    counts = np.asarray(dist.histogram, dtype=float)
    return list(counts / max(counts.sum(), 1.0))


def roc_series(result: AuditResult, comparison: str = "forget"
               ) -> list[tuple[str, str, list[float], list[float], float]]:
    """``(attack, model, fpr, tpr, auc)`` per attack and model, FPR 0 clipped for log axes."""
    out = []
    for entry in result.membership:
        if entry.comparison != comparison:
            continue
        fpr = np.maximum(np.asarray(entry.metrics.roc_fpr), LOG_FLOOR)
        tpr = np.maximum(np.asarray(entry.metrics.roc_tpr), LOG_FLOOR)
        out.append((entry.attack, entry.model, list(fpr), list(tpr), entry.metrics.auc))
    return out


def drift_series(result: AuditResult) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    """Groups (forget / retain / test) and each model's accuracy on them."""
    groups = ["forget", "retain", "test"]
    models = [("original", result.drift.original), ("unlearned", result.drift.unlearned)]
    if result.drift.gold_standard is not None:
        models.append(("gold_standard", result.drift.gold_standard))
    return groups, [(name, [getattr(acc, g) for g in groups]) for name, acc in models]


def plot_confidence(result: AuditResult, *, backend: Backend = "plotly") -> Any:
    """Forget-set confidence in the true label before and after, against non-members."""
    centres, series = confidence_series(result)
    title = "Confidence in the true label: forget set before / after, and non-members"
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Scatter(x=centres, y=s, name=label, mode="lines+markers",
                                    line={"color": COLOURS.get(key), "shape": "hvh",
                                          "dash": "dot" if key == "non_members" else "solid"})
                         for key, label, s in series])
        fig.update_layout(title=title, xaxis_title="confidence", yaxis_title="share of records")
        return _layout(fig)
    fig, ax = _plt_axes()
    for key, label, s in series:
        ax.step(centres, s, where="mid", label=label, color=COLOURS.get(key),
                linestyle=":" if key == "non_members" else "-")
    ax.set(title=title, xlabel="confidence", ylabel="share of records")
    ax.legend(fontsize=7)
    return fig


def plot_roc(result: AuditResult, *, comparison: str = "forget",
             backend: Backend = "plotly") -> Any:
    """Log-log ROC of every attack on the original, unlearned and gold-standard models."""
    series = roc_series(result, comparison)
    title = f"Membership ROC ({comparison} vs non-members), log-log"
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Scatter(x=[LOG_FLOOR, 1], y=[LOG_FLOOR, 1], name="chance",
                                    mode="lines", line={"color": "#bbbbbb", "dash": "dot"})])
        for attack, model, fpr, tpr, auc in series:
            fig.add_scatter(x=fpr, y=tpr, mode="lines",
                            name=f"{attack.upper()} {MODEL_LABELS.get(model, model)} "
                                 f"(AUC {auc:.3f})",
                            line={"color": COLOURS.get(model), "dash": DASHES[attack][0]})
        fig.update_layout(title=title, xaxis={"type": "log", "title": "false positive rate"},
                          yaxis={"type": "log", "title": "true positive rate"})
        return _layout(fig)
    fig, ax = _plt_axes()
    ax.plot([LOG_FLOOR, 1], [LOG_FLOOR, 1], color="#bbbbbb", linestyle=":", label="chance")
    for attack, model, fpr, tpr, auc in series:
        ax.plot(fpr, tpr, color=COLOURS.get(model), linestyle=DASHES[attack][1],
                label=f"{attack.upper()} {MODEL_LABELS.get(model, model)} (AUC {auc:.3f})")
    ax.set(xscale="log", yscale="log", title=title, xlabel="false positive rate",
           ylabel="true positive rate")
    ax.legend(fontsize=6)
    return fig


def plot_drift(result: AuditResult, *, backend: Backend = "plotly") -> Any:
    """Accuracy of each model on the forget, retain and test sets."""
    groups, series = drift_series(result)
    title = "Accuracy drift: forget, retain and test accuracy of each model"
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Bar(x=groups, y=vals, name=MODEL_LABELS.get(name, name),
                                marker_color=COLOURS.get(name),
                                text=[None if v is None else f"{v:.3f}" for v in vals])
                         for name, vals in series])
        fig.update_layout(title=title, barmode="group", yaxis={"title": "accuracy",
                                                               "range": [0, 1.05]})
        return _layout(fig)
    fig, ax = _plt_axes()
    width = 0.8 / len(series)
    for i, (name, vals) in enumerate(series):
        x = np.arange(len(groups)) + (i - (len(series) - 1) / 2) * width
        ax.bar(x, [np.nan if v is None else v for v in vals], width,
               label=MODEL_LABELS.get(name, name), color=COLOURS.get(name))
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set(title=title, ylabel="accuracy", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    return fig


def _go():
    import plotly.graph_objects as go

    return go


def _layout(fig: Any) -> Any:
    fig.update_layout(template="plotly_white", height=420, margin={"l": 60, "r": 20, "t": 50,
                                                                   "b": 50},
                      legend={"font": {"size": 10}})
    return fig


def _plt_axes():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    return fig, fig.add_subplot()
