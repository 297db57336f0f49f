"""Result -> figure: before/after confidence, log-log ROC and accuracy drift of an audit.

Each function takes an ``AuditResult`` and returns a plotly figure (``backend="plotly"``,
interactive, for notebooks, widgets and the HTML report) or a matplotlib figure
(``backend="matplotlib"``, static, for PDFs). They read only aggregate fields, so they work
on a redacted result read back from an audit record too. Legends sit below the axes, never
over the data; a forget set under :data:`DOT_PLOT_MAX` records is drawn one dot per record.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from workbench.audit import AuditResult
from workbench.labels import label_for_model

Backend = Literal["plotly", "matplotlib"]
MODEL_LABELS = {"original": "original", "unlearned": "unlearned",
                "gold_standard": "gold standard (retrained)"}
COLOURS = {"original": "#d62728", "unlearned": "#1f77b4", "gold_standard": "#2ca02c",
           "non_members": "#7f7f7f"}
DASHES = {"loss": ("dot", ":"), "rmia": ("dash", "--"), "lira": ("solid", "-")}
LOG_FLOOR = 1e-4
DOT_PLOT_MAX = 60  # fewer forgotten records: one dot per record instead of histograms


def _colour(key: str) -> str:
    return COLOURS["gold_standard"] if key.startswith("gold_standard") else COLOURS.get(key,
                                                                                       "#555")


def _model_name(key: str, gold_count: int) -> str:
    if key == "gold_standard" and gold_count > 1:
        return f"{label_for_model(key)} #1"
    return label_for_model(key)


def confidence_series(result: AuditResult) -> tuple[np.ndarray, list[tuple[str, str, list]]]:
    """Bin centres and ``(key, label, shares)``: forget-set confidence under each model
    (original, unlearned, each retrained model) and the non-members' under the unlearned
    model, as shares of each group per bin."""
    edges = np.asarray(result.confidence.histogram_edges)
    centres = (edges[:-1] + edges[1:]) / 2
    order = sorted(result.confidence.forget, key=lambda k: (
        {"original": 0, "unlearned": 1}.get(k, 2), k))
    golds = sum(k.startswith("gold_standard") for k in order)
    series = [(name, f"forgotten records, {_model_name(name, golds)}",
               _shares(result.confidence.forget[name])) for name in order]
    non = result.confidence.non_members.get("unlearned")
    if non is not None:
        series.append(("non_members", f"{result.confidence.non_member_rule} (never trained "
                       "on), after erasure", _shares(non)))
    return centres, series


def _shares(dist) -> list[float]:
    counts = np.asarray(dist.histogram, dtype=float)
    return list(counts / max(counts.sum(), 1.0))


def dot_rows(result: AuditResult) -> list[tuple[str, str, list[float], list[float]]]:
    """``(key, label, x, y)`` per model: one dot per forgotten record at its bin's centre,
    stacked upwards inside row ``i`` (y from ``i`` to ``i + 0.8``), bottom row first."""
    centres, series = confidence_series(result)
    forget = [(k, label, s) for k, label, s in series if k != "non_members"]
    counts = [np.rint(np.asarray(s) * result.confidence.forget[k].count).astype(int)
              for k, _, s in forget]
    step = 0.8 / max(int(max(c.max() for c in counts)), 1)
    rows = []
    for i, ((key, label, _), c) in enumerate(zip(reversed(forget), reversed(counts),
                                                 strict=True)):
        x = [float(centres[b]) for b in range(len(c)) for _ in range(c[b])]
        y = [i + 0.1 + step * (k + 0.5) for b in range(len(c)) for k in range(c[b])]
        rows.append((key, label.replace("forgotten records, ", ""), x, y))
    return rows


def roc_series(result: AuditResult, comparison: str = "forget",
               attacks: tuple[str, ...] | None = None
               ) -> list[tuple[str, str, list[float], list[float], str]]:
    """``(attack, model, fpr, tpr, label)`` per attack (of ``attacks``, default all) and
    model, the label naming both with the AUC and TPR at 1% FPR; zeros are drawn at half the
    smallest measurable rate (see :func:`roc_floor`) so the log axes can show them."""
    fpr_floor, tpr_floor = roc_floor(result, comparison)
    out = []
    for entry in result.membership:
        if entry.comparison != comparison or (attacks is not None
                                              and entry.attack not in attacks):
            continue
        m = entry.metrics
        fpr = np.maximum(np.asarray(m.roc_fpr), fpr_floor / 2)
        tpr = np.maximum(np.asarray(m.roc_tpr), tpr_floor / 2)
        label = (f"{entry.attack.upper()} {MODEL_LABELS.get(entry.model, entry.model)} "
                 f"(AUC {m.auc:.3f}, TPR@1%FPR {m.tpr_at_1pct_fpr:.3f})")
        out.append((entry.attack, entry.model, list(fpr), list(tpr), label))
    return out


def roc_floor(result: AuditResult, comparison: str = "forget") -> tuple[float, float]:
    """The smallest measurable false positive rate (one non-member, ``1 / n``) and true
    positive rate (one member) of ``comparison``."""
    entries = [e.metrics for e in result.membership if e.comparison == comparison]
    if not entries:
        return LOG_FLOOR, LOG_FLOOR
    return (max(min(m.min_resolvable_fpr for m in entries), LOG_FLOOR),
            max(1.0 / max(m.n_members for m in entries), LOG_FLOOR))


def drift_series(result: AuditResult) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    """Groups (forget / retain / test, then each class on held-out records) and each
    model's accuracy on them."""
    classes = list(result.drift.unlearned.per_class)
    groups = ["forget", "retain", "test", *(f"class {c}" for c in classes)]
    models = [("original", result.drift.original), ("unlearned", result.drift.unlearned)]
    if result.drift.gold_standard is not None:
        models.append(("gold_standard", result.drift.gold_standard))
    return groups, [(name, [acc.forget, acc.retain, acc.test,
                            *(acc.per_class.get(c) for c in classes)]) for name, acc in models]


def plot_confidence(result: AuditResult, *, backend: Backend = "plotly") -> Any:
    """Forget-set confidence in the true label before and after, against non-members: one
    dot per record below :data:`DOT_PLOT_MAX` records, else a histogram per model."""
    if result.forget_count < DOT_PLOT_MAX:
        return _confidence_dots(result, backend)
    centres, series = confidence_series(result)
    title = (f"Confidence in the true label on the {result.forget_count} forgotten records under "
             "each model, and on unseen ones")
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Scatter(x=centres, y=s, name=label, mode="lines+markers",
                                    line={"color": _colour(key), "shape": "hvh",
                                          "dash": "dot" if key == "non_members" else "solid"})
                         for key, label, s in series])
        fig.update_layout(title=title, xaxis_title="confidence in the true label",
                          yaxis_title="share of records")
        return _layout(fig)
    fig, ax = _plt_axes()
    for key, label, s in series:
        ax.step(centres, s, where="mid", label=label, color=_colour(key),
                linestyle=":" if key == "non_members" else "--" if key[-1].isdigit() else "-")
    ax.set(xlabel="confidence in the true label", ylabel="share of records", xlim=(0, 1))
    return _finish(fig, ax, title, ncol=2)


def _confidence_dots(result: AuditResult, backend: Backend) -> Any:
    rows = dot_rows(result)
    centres, series = confidence_series(result)
    non = next((s for k, _, s in series if k == "non_members"), None)
    top = len(rows)
    title = (f"Confidence in the true label: each dot is one of the {result.forget_count} "
             "forgotten records")
    names = [label for _, label, _, _ in rows]
    if non is not None:
        names.append("unseen records, after erasure (share)")
        bars = 0.8 * np.asarray(non) / max(max(non), 1e-9)
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Scatter(x=x, y=y, mode="markers", name=label,
                                    marker={"color": _colour(key), "size": 7})
                         for key, label, x, y in rows])
        if non is not None:
            fig.add_bar(x=centres, y=bars, base=top + 0.1, width=0.045, name=names[-1],
                        marker_color="#bbbbbb")
        fig.update_layout(title=title, xaxis={"title": "confidence in the true label (binned "
                                              "to 0.05)", "range": [0, 1]},
                          yaxis={"tickvals": [i + 0.5 for i in range(len(names))],
                                 "ticktext": names, "range": [0, len(names)]})
        return _layout(fig).update_layout(legend={"traceorder": "reversed"})
    fig, ax = _plt_axes(height=1.2 + 0.55 * len(names))
    for key, _, x, y in rows:
        ax.scatter(x, y, s=14, color=_colour(key), zorder=3)
    if non is not None:
        ax.bar(centres, bars, width=0.045, bottom=top + 0.1, color="#bbbbbb")
    for i in range(1, len(names)):
        ax.axhline(i, color="#dddddd", linewidth=0.6)
    ax.set_yticks([i + 0.5 for i in range(len(names))], names, fontsize=8)
    ax.set(xlabel="confidence in the true label (binned to 0.05)", xlim=(0, 1),
           ylim=(0, len(names)))
    ax.set_title(title, fontsize=10)
    return fig


def plot_roc(result: AuditResult, *, comparison: str = "forget",
             attacks: tuple[str, ...] | None = None, backend: Backend = "plotly") -> Any:
    """Log-log ROC of every attack (or of ``attacks``) on the original, unlearned and
    gold-standard models, AUC and TPR at 1% FPR in the legend, with the region below the
    smallest measurable false positive rate shaded and labelled."""
    series = roc_series(result, comparison, attacks)
    fpr_floor, tpr_floor = roc_floor(result, comparison)
    x_low, y_low = fpr_floor / 2, tpr_floor / 2
    title = f"Membership ROC ({comparison} records vs unseen ones), log-log"
    note = (f"smallest measurable FPR: 1/{round(1 / fpr_floor)} = {fpr_floor:.1e}; a rate of 0 "
            "is drawn in the grey band")
    if backend == "plotly":
        go = _go()
        low = min(x_low, y_low)
        fig = go.Figure([go.Scatter(x=[low, 1], y=[low, 1], name="chance",
                                    mode="lines", line={"color": "#bbbbbb", "dash": "dot"})])
        for attack, model, fpr, tpr, label in series:
            fig.add_scatter(x=fpr, y=tpr, mode="lines", name=label,
                            line={"color": COLOURS.get(model), "dash": DASHES[attack][0]})
        fig.add_vrect(x0=x_low, x1=fpr_floor, fillcolor="#999999", opacity=0.15, line_width=0)
        fig.add_hrect(y0=y_low, y1=tpr_floor, fillcolor="#999999", opacity=0.15, line_width=0)
        fig.update_layout(title=title, xaxis={"type": "log", "range": [np.log10(x_low), 0],
                                              "title": f"false positive rate ({note})"},
                          yaxis={"type": "log", "range": [np.log10(y_low), 0],
                                 "title": "true positive rate"})
        return _layout(fig)
    fig, ax = _plt_axes(height=5.0)
    ax.plot([min(x_low, y_low), 1], [min(x_low, y_low), 1], color="#bbbbbb", linestyle=":",
            label="chance")
    for attack, model, fpr, tpr, label in series:
        ax.plot(fpr, tpr, color=COLOURS.get(model), linestyle=DASHES[attack][1], label=label)
    ax.axvspan(x_low, fpr_floor, color="#999999", alpha=0.15, linewidth=0)
    ax.axhspan(y_low, tpr_floor, color="#999999", alpha=0.15, linewidth=0)
    ax.text(fpr_floor, 0.9, "below resolution ", fontsize=7, rotation=90, va="top",
            ha="right", color="#555555")
    ax.text(0.9, tpr_floor, f"below one record (1/{round(1 / tpr_floor)}) ", fontsize=7,
            va="top", ha="right", color="#555555")
    ax.set(xscale="log", yscale="log", xlim=(x_low, 1), ylim=(y_low, 1),
           xlabel=f"false positive rate\n({note})", ylabel="true positive rate")
    return _finish(fig, ax, title, ncol=2)


def plot_drift(result: AuditResult, *, backend: Backend = "plotly") -> Any:
    """Accuracy of each model on the forget, retain and test sets and per class."""
    groups, series = drift_series(result)
    title = "Accuracy of each model: forgotten, kept and unseen records, and per class (unseen)"
    if backend == "plotly":
        go = _go()
        fig = go.Figure([go.Bar(x=groups, y=vals, name=label_for_model(name),
                                marker_color=COLOURS.get(name),
                                text=[None if v is None else f"{v:.2f}" for v in vals])
                         for name, vals in series])
        fig.update_layout(title=title, barmode="group", yaxis={"title": "accuracy",
                                                               "range": [0, 1.1]})
        return _layout(fig)
    fig, ax = _plt_axes()
    width = 0.8 / len(series)
    for i, (name, vals) in enumerate(series):
        x = np.arange(len(groups)) + (i - (len(series) - 1) / 2) * width
        bars = ax.bar(x, [np.nan if v is None else v for v in vals], width,
                      label=label_for_model(name), color=COLOURS.get(name))
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(np.arange(len(groups)), groups, fontsize=8)
    ax.set(ylabel="accuracy", ylim=(0, 1.12))
    return _finish(fig, ax, title)


def _go():
    import plotly.graph_objects as go

    return go


def _layout(fig: Any) -> Any:
    fig.update_layout(template="plotly_white", height=460, margin={"l": 60, "r": 20, "t": 50,
                                                                   "b": 50},
                      legend={"font": {"size": 11}, "orientation": "h", "y": -0.22,
                              "yanchor": "top", "x": 0},
                      title={"font": {"size": 14}})
    return fig


def _finish(fig: Any, ax: Any, title: str, ncol: int = 3) -> Any:
    """Title, and the legend below the axes (it covers nothing)."""
    ax.set_title(title, fontsize=10)
    fig.legend(loc="outside lower center", ncol=ncol, fontsize=7, frameon=False)
    return fig


def _plt_axes(height: float = 4.4):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, height), layout="constrained")
    return fig, fig.add_subplot()
