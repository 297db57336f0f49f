"""Choose the unlearning method (controls built from its ``Params``), device and audit."""

from __future__ import annotations

from typing import Any

import ipywidgets as W

import workbench as wb
from workbench.audit.gold import DEFAULT_GOLD_COUNT
from workbench.unlearn.params import ParamSpec
from workbench.widgets.common import Messages, guarded

STYLE = {"description_width": "140px"}
ATTACKS = ("loss", "rmia", "lira")


def control(spec: ParamSpec) -> W.Widget:
    """One input for one hyperparameter: default from its spec, help and bounds as tooltip.

    Numbers are plain text boxes, never clamped: a value outside the bounds is refused with
    its bounds when the run is checked, not silently changed."""
    bounds = (f" (from {spec.low} to {spec.high})" if spec.low is not None
              and spec.high is not None else "")
    common = {"description": spec.name, "style": STYLE, "tooltip": f"{spec.help}{bounds}"}
    if spec.choices:
        return W.Dropdown(options=list(spec.choices), value=spec.default, **common)
    if spec.default is None:  # optional: empty means "the method decides"
        bounds = f" in [{spec.low}, {spec.high}]" if spec.low is not None else ""
        return W.Text(value="", placeholder=f"auto{bounds}", **common)
    if isinstance(spec.default, bool):
        return W.Checkbox(value=spec.default, **common)
    if isinstance(spec.default, int) and spec.integer:
        return W.IntText(value=spec.default, **common)
    if isinstance(spec.default, int | float):
        return W.FloatText(value=spec.default, step=None, **common)
    return W.Text(value=str(spec.default), **common)


class MethodPanel:
    """Method (default ``synthetic``), its parameters, device, gold standard and audit size."""

    def __init__(self, method: str = "synthetic", attacks: tuple[str, ...] = ("loss",),
                 reference_models: int = 4, gold_standard: bool = True,
                 gold_models: int = DEFAULT_GOLD_COUNT) -> None:
        self.messages = Messages()
        self.method = W.Dropdown(options=wb.available_methods(), value=method,
                                 description="Method", style=STYLE)
        self.summary = W.HTML()
        self.params_box = W.VBox()
        self.controls: dict[str, tuple[ParamSpec, W.Widget]] = {}
        self.device = W.ToggleButtons(options=[("auto", "auto"), ("CPU", "cpu"),
                                               ("CUDA", "cuda")], value="auto",
                                      description="Device", style=STYLE)
        self.gold = W.Checkbox(value=gold_standard, description="also build the gold standard "
                               "(retrain without the records)", indent=False)
        self.gold_models = W.IntText(
            value=gold_models, description="retrained models",
            style=STYLE, tooltip="how many models are retrained with different seeds; their "
            "spread is what every verdict is measured against (more: fewer INCONCLUSIVE)")
        self.attacks = W.SelectMultiple(options=ATTACKS, value=attacks, rows=3,
                                        description="MIA attacks", style=STYLE)
        self.reference_models = W.IntText(
            value=reference_models, description="shadow models", style=STYLE,
            tooltip="models trained on random halves of the records, for RMIA and LiRA (even, "
                    "at least 2; LiRA needs 4): more make the attacks stronger and slower")
        self.reset_button = W.Button(description="Reset to defaults")
        self.reset_button.on_click(self.reset)
        self.method.observe(self._rebuild, names="value")
        self._rebuild()
        self.widget = W.VBox([self.method, self.summary, self.params_box, self.reset_button,
                              self.device, W.HBox([self.gold, self.gold_models]),
                              W.HBox([self.attacks, self.reference_models]),
                              self.messages.widget])

    @guarded
    def _rebuild(self, _change: dict | None = None) -> None:
        cls = wb.get_unlearner(self.method.value)
        self.controls = {s.name: (s, control(s)) for s in wb.param_specs(cls.Params)}
        self.params_box.children = [w for _, w in self.controls.values()]
        extra = " Forgets whole classes only." if getattr(cls, "class_level_only", False) else ""
        self.summary.value = (f"<i>{getattr(cls, 'summary', '')}</i> Data used: "
                              f"<code>{cls.data_access}</code>.{extra}")
        self.messages.clear()

    @guarded
    def reset(self, _button: W.Button | None = None) -> None:
        self._rebuild()

    def params(self) -> dict[str, Any]:
        """The values that differ from the defaults (empty optional fields are left out)."""
        out = {}
        for name, (spec, widget) in self.controls.items():
            value = widget.value
            if spec.default is None:
                if str(value).strip() == "":
                    continue
                try:
                    value = int(value) if spec.integer else float(value)
                except ValueError:
                    raise ValueError(f"parameter {name!r} must be a number or empty (auto), "
                                     f"got {value!r}") from None
            if value != spec.default:
                out[name] = value
        return out

    def settings(self) -> dict[str, Any]:
        """Everything a run needs from this panel, validated against the method's Params."""
        cls = wb.get_unlearner(self.method.value)
        params = cls.Params.from_mapping(self.params())  # raises ValueError on bad values
        if not self.attacks.value:
            raise ValueError("choose at least one membership-inference attack")
        return {"method": self.method.value, "params": params, "device": self.device.value,
                "gold_standard": self.gold.value, "gold_models": self.gold_models.value,
                "attacks": tuple(self.attacks.value),
                "reference_models": self.reference_models.value}
