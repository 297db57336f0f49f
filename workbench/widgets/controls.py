"""One input per hyperparameter, built from its ``ParamSpec``, and its value read back.

Numbers are plain text boxes, never clamped; a refused value is said next to its field, with
the parameter's label.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as W

from workbench.unlearn.params import ParamSpec
from workbench.widgets.common import readable

STYLE = {"description_width": "220px"}
WIDE = {"width": "420px"}


def control(spec: ParamSpec) -> W.Widget:
    """One input for one hyperparameter: its label, default, and help and bounds as tooltip.

    Numbers are plain text boxes, never clamped: a value outside the bounds is refused with
    its bounds next to the field, not silently changed."""
    bounds = (f" (from {spec.low} to {spec.high})" if spec.low is not None
              and spec.high is not None else "")
    unit = f" Unit: {spec.unit}." if spec.unit else ""
    common = {"description": spec.label, "style": STYLE, "layout": WIDE,
              "tooltip": f"{spec.help}{bounds}.{unit}"}
    if spec.choices:
        return W.Dropdown(options=list(spec.choices), value=spec.default, **common)
    if spec.default is None:  # optional: empty means "the method decides"
        bounds = f" in [{spec.low}, {spec.high}]" if spec.low is not None else ""
        return W.Text(value="", placeholder=f"automatic{bounds}", **common)
    if isinstance(spec.default, bool):
        return W.Checkbox(value=spec.default, **common)
    if isinstance(spec.default, int) and spec.integer:
        return W.IntText(value=spec.default, **common)
    if isinstance(spec.default, int | float):
        return W.FloatText(value=spec.default, step=None, **common)
    return W.Text(value=str(spec.default), **common)


def parse(spec: ParamSpec, value: Any) -> Any:
    """The value a control holds, as the method's ``Params`` takes it (None: automatic)."""
    if spec.default is None:
        if str(value).strip() == "":
            return None
        try:
            return int(value) if spec.integer else float(value)
        except ValueError:
            raise ValueError(f"{spec.label} must be a number, or empty for automatic; got "
                             f"{value!r}") from None
    return value


class Field:
    """One labelled control, its unit and a line for its error, side by side."""

    def __init__(self, widget: W.Widget, unit: str = "") -> None:
        self.control = widget
        self.hint = W.HTML(value="")
        self.message = ""
        self.widget = W.HBox([widget, W.HTML(f"<span style='color:#555'>{html.escape(unit)}"
                                             "</span>", layout={"width": "190px"}), self.hint])

    def error(self, text: str | None) -> None:
        self.message = text or ""
        self.hint.value = ("" if not text else "<span class='wb-field-error' style='color:"
                           f"#cf222e'>{html.escape(text)}</span>")


def in_words(spec: ParamSpec, error: ValueError) -> str:
    """A bound or choice error with the parameter's label instead of its field name."""
    return re.sub(r"^parameter '\w+' of method '\w+'", spec.label, readable(error))
