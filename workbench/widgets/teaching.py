"""Two panels for the teaching notebook (03): forget a few images, forget a whole digit.

Each click calls :func:`~workbench.widgets.run.run_erasure` once and hands the outcome to a
figure and to a story: a few sentences written from the numbers themselves, so the text
never contradicts the picture (an image the method left remembered is said to be so, next to
what the retrained gold standard does).
"""

from __future__ import annotations

import html
import io
from typing import Any

import ipywidgets as W
import numpy as np
from torch import nn

from workbench.audit import AuditResult
from workbench.records import RecordTable
from workbench.widgets import figures
from workbench.widgets.common import Messages, guarded
from workbench.widgets.method import RunSettings
from workbench.widgets.run import Outcome, run_erasure

STILL_REMEMBERED = 0.25  # "after" this far above the retrained model's confidence: remembered


def memorised(result: AuditResult) -> Any:
    """The forgotten record the retrained models are least sure of (the one only memorising
    could get right), or None without a gold standard."""
    scored = [(r.gold_standard, r) for r in result.confidence.records
              if r.gold_standard is not None]
    return min(scored, key=lambda pair: pair[0])[1] if scored else None


def few_story(result: AuditResult) -> str:
    """What happened to a handful of forgotten images, in words, from the numbers."""
    c = result.confidence
    mean = {name: c.forget[name].mean for name in ("original", "unlearned", "gold_standard")
            if name in c.forget}
    lines = [f"On average the model was {mean['original']:.2f} sure of the right digit on "
             f"these images before, {mean['unlearned']:.2f} after forgetting"
             + (f", and a model retrained without them is {mean['gold_standard']:.2f} sure."
                if "gold_standard" in mean else ".")]
    record = memorised(result)
    if record is not None:
        name = f"image {record.record_id} (a '{record.label}')"
        gap = record.unlearned - record.gold_standard
        if gap > STILL_REMEMBERED:
            lines.append(
                f"Watch {name}: a model that never saw it is only {record.gold_standard:.2f} "
                f"sure, so the original ({record.original:.2f}) knew it by heart. After "
                f"forgetting it is still {record.unlearned:.2f} sure: this image is still "
                "remembered: forgetting did not undo what the model memorised about it. That "
                "is exactly what a membership-inference attack picks up, and why the audit "
                "compares with the retrained model, not with zero.")
        else:
            lines.append(
                f"Watch {name}: a model that never saw it is only {record.gold_standard:.2f} "
                f"sure, so the original ({record.original:.2f}) knew it by heart. After "
                f"forgetting it is {record.unlearned:.2f} sure, close to the retrained model: "
                "the memorised part is gone.")
    lines.append(f"The audit's erasure verdict: {result.erasure}.")
    return " ".join(lines)


def class_story(result: AuditResult, digit: str) -> str:
    """What happened when a whole digit was forgotten, in words, from the numbers."""
    d = result.drift
    before, after = d.original.forgotten_class_test, d.unlearned.forgotten_class_test
    gold = ("" if d.gold_standard is None else ", and a model retrained without any of them "
            f"{d.gold_standard.forgotten_class_test:.0%}")
    return (f"Held-out images of the digit {digit} were read correctly {before:.0%} of the "
            f"time before, {after:.0%} after forgetting{gold}. The other digits: "
            f"{d.original.test:.0%} before, {d.unlearned.test:.0%} after.")


def png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


class ForgetImagesPanel:
    """A slider (how many training images) and a button: forget that many, drawn at random."""

    def __init__(self, model: nn.Module, table: RecordTable, *, images: int = 6, seed: int = 0,
                 gold_models: int = 2) -> None:
        self.model, self.table, self.seed, self.gold_models = model, table, seed, gold_models
        self.outcome: Outcome | None = None
        self.messages = Messages()
        self.images = W.IntSlider(value=images, min=1, max=24, description="Images to forget",
                                  style={"description_width": "initial"}, continuous_update=False)
        self.button = W.Button(description="Forget them", icon="eraser", button_style="primary")
        self.button.on_click(self.forget)
        self.images.observe(lambda _c: self.clear(), names="value")
        self.picture = W.Image(format="png", layout={"max_width": "100%"})
        self.story = W.HTML()
        self.widget = W.VBox([W.HBox([self.images, self.button]), self.picture, self.story,
                              self.messages.widget])

    def clear(self) -> None:
        """The inputs changed: the last result leaves the screen."""
        self.outcome, self.picture.value = None, b""
        self.story.value = "<i>Press <b>Forget them</b> to see what changes.</i>"
        self.messages.clear()

    @guarded
    def forget(self, _button: W.Button | None = None) -> None:
        self.clear()
        self.story.value = "<i>Forgetting, then retraining the gold standard…</i>"
        rng = np.random.default_rng(self.seed)
        ids = list(rng.choice(self.table.members().ids, self.images.value, replace=False))
        settings = RunSettings(attacks=("loss",), gold_models=self.gold_models)
        outcome = run_erasure(self.model, self.table, self.table.select(ids=ids),
                              settings=settings, seed=self.seed)
        self.picture.value = png(figures.digits_figure(outcome.audit, self.table, limit=8))
        self.story.value = f"<p>{html.escape(few_story(outcome.audit))}</p>"
        self.outcome = outcome


class ForgetDigitPanel:
    """A choice of digit and a button: forget every training image of it."""

    def __init__(self, model: nn.Module, table: RecordTable, *, digit: str = "3",
                 seed: int = 0, gold_models: int = 2) -> None:
        self.model, self.table, self.seed, self.gold_models = model, table, seed, gold_models
        self.outcome: Outcome | None = None
        self.messages = Messages()
        self.digit = W.Dropdown(options=list(table.schema.classes), value=digit,
                                description="Digit to forget",
                                style={"description_width": "initial"})
        self.button = W.Button(description="Forget this digit", icon="eraser",
                               button_style="primary")
        self.button.on_click(self.forget)
        self.digit.observe(lambda _c: self.clear(), names="value")
        self.plot = W.Output()
        self.story = W.HTML()
        self.widget = W.VBox([W.HBox([self.digit, self.button]), self.story, self.plot,
                              self.messages.widget])

    def clear(self) -> None:
        self.outcome, self.plot.outputs = None, ()
        self.story.value = "<i>Press <b>Forget this digit</b> to see what changes.</i>"
        self.messages.clear()

    @guarded
    def forget(self, _button: W.Button | None = None) -> None:
        self.clear()
        self.story.value = "<i>Forgetting, then retraining the gold standard…</i>"
        settings = RunSettings(attacks=("loss",), gold_models=self.gold_models)
        outcome = run_erasure(self.model, self.table,
                              self.table.select(classes=[self.digit.value]), settings=settings,
                              seed=self.seed)
        bundle = figures.mimebundle(figures.drift_figure(outcome.audit))
        self.plot.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
        self.story.value = f"<p>{html.escape(class_story(outcome.audit, self.digit.value))}</p>"
        self.outcome = outcome
