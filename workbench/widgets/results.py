"""Show an outcome: confidence, MIA ROC, accuracy drift and the verdict scorecard."""

from __future__ import annotations

import html

import ipywidgets as W

from workbench.widgets import figures
from workbench.widgets.run import Outcome

PLOTS = {"confidence": figures.confidence_figure, "roc": figures.roc_figure,
         "drift": figures.drift_figure}


class ResultsPanel:
    """Plots and the scorecard of the last successful run (a failed run leaves them as they are)."""

    def __init__(self) -> None:
        self.outcome: Outcome | None = None
        self.header = W.HTML(value="<i>No results yet: choose records and press Run.</i>")
        self.plots = {name: W.Output(layout={"min_height": "50px"}) for name in PLOTS}
        self.scorecard = W.HTML()
        self.widget = W.VBox([self.header, self.plots["confidence"], self.plots["roc"],
                              self.plots["drift"], self.scorecard])

    def show(self, outcome: Outcome) -> None:
        """Render every figure first, then swap them in, so a plotting error changes nothing."""
        bundles = {name: figures.mimebundle(make(outcome.audit)) for name, make in PLOTS.items()}
        card = figures.scorecard_html(outcome.audit)
        u, g = outcome.unlearned, outcome.gold
        gold = (f"; gold standard: {g.count} models retrained in {g.train_time_s:.1f} s"
                f"{' (from the cache)' if g.from_cache else ''}" if g else "")
        self.outcome = outcome
        self.header.value = (
            f"<h3>Result</h3><p>Forgot {u.forget_count} records ({html.escape(u.forget_rule)}) "
            f"with <b>{u.method}</b> on {u.device} in {u.wall_time_s:.1f} s{gold}; audit "
            f"{outcome.audit.wall_time_s:.1f} s. Model SHA-256 {u.original_weights_sha256[:12]}… "
            f"→ {u.weights_sha256[:12]}…</p>")
        for name, bundle in bundles.items():
            self.plots[name].outputs = ({"output_type": "display_data", "data": bundle,
                                         "metadata": {}},)
        self.scorecard.value = card

    def clear(self, why: str) -> None:
        """Take every result off the screen (the inputs changed) and say why."""
        self.outcome = None
        self.header.value = f"<i>{html.escape(why)}</i>"
        for widget in self.plots.values():
            widget.outputs = ()
        self.scorecard.value = ""

    def titles(self) -> list[str]:
        """The titles of the plots on screen (for tests and notebooks)."""
        out = []
        for widget in self.plots.values():
            for item in widget.outputs:
                spec = item["data"]["application/vnd.plotly.v1+json"]
                out.append(spec["layout"]["title"]["text"])
        return out
