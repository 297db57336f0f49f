"""Choose the unlearning method (controls built from its ``Params``), device and audit.

Every control shows a label in words, its unit and a tooltip (the help and the bounds); the
rarely changed ones are folded under "Advanced settings". A value the run would refuse is
refused next to its field as soon as it is typed, in words.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
from torch import nn

import workbench as wb
from workbench.audit.attacks import ATTACK_NAMES, SHADOW_ATTACKS
from workbench.audit.gold import DEFAULT_GOLD_COUNT, MIN_GOLD_COUNT
from workbench.labels import ATTACKS as ATTACK_LABELS
from workbench.labels import label_for_method
from workbench.records import ForgetSet
from workbench.unlearn.params import ParamSpec, check_value
from workbench.widgets.common import Messages, guarded
from workbench.widgets.controls import STYLE, WIDE, Field, control, in_words, parse

ATTACKS = ATTACK_NAMES
DATA_USED = {"forget_only": "only the records to forget (never the kept training data)",
             "retain_only": "only the kept training records",
             "forget_and_retain": "the records to forget and the kept training records"}


@dataclass(frozen=True)
class RunSettings:
    """The method and the audit of an erasure run (the Method panel's starting values).

    Attributes:
        method: the unlearning method (see :func:`workbench.available_methods`).
        attacks: the membership-inference attacks of the audit.
        shadow_models: how many shadow models RMIA and LiRA train (even; cached).
        gold_standard: also retrain without the records and judge against those retrains.
        gold_models: how many retrains make the gold standard.
    """

    method: str = "synthetic"
    attacks: tuple[str, ...] = ("loss",)
    shadow_models: int = 4
    gold_standard: bool = True
    gold_models: int = DEFAULT_GOLD_COUNT


# the old keywords of ErasureApp and run_erasure, now fields of RunSettings (one release)
RUN_KEYWORDS = {"method": "method", "attacks": "attacks", "reference_models": "shadow_models",
                "gold_standard": "gold_standard", "gold_models": "gold_models"}


class MethodPanel:
    """Method (default ``synthetic``), its parameters, device, gold standard and audit size."""

    def __init__(self, method: str = "synthetic", attacks: tuple[str, ...] = ("loss",),
                 reference_models: int = 4, gold_standard: bool = True,
                 gold_models: int = DEFAULT_GOLD_COUNT) -> None:
        self.messages = Messages()
        self.on_change: Callable[[], None] | None = None  # any setting changed (app: stale)
        self.method = W.Dropdown(
            options=[(label_for_method(n).label, n) for n in wb.available_methods()],
            value=method, description="Method", style=STYLE, layout=WIDE,
            tooltip="how the records are erased; 'Retrain from scratch' is the reference")
        self.summary = W.HTML()
        self.params_box = W.VBox()
        self.unused_note = W.HTML()  # why some settings are greyed out for this request
        self._request: tuple[nn.Module, ForgetSet] | None = None
        self.advanced_box = W.VBox()
        self.advanced = W.Accordion(children=[self.advanced_box], selected_index=None)
        self.fields: dict[str, Field] = {}
        self._main: dict[str, tuple[ParamSpec, W.Widget]] = {}
        self._advanced: dict[str, tuple[ParamSpec, W.Widget]] | None = None  # built on opening
        self._hidden: list[ParamSpec] = []
        self.advanced.observe(self._open_advanced, names="selected_index")
        self.device = W.ToggleButtons(
            options=[("automatic", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "cuda")],
            value="auto", description="Where to compute", style=STYLE,
            tooltip="automatic uses a GPU when there is one, else the CPU")
        self.gold = W.Checkbox(value=gold_standard, description="also build the gold standard "
                               "(retrain without the records)", indent=False,
                               tooltip="models retrained without the records: every verdict "
                                       "is measured against them")
        self.gold_models = W.IntText(
            value=gold_models, description="Retrained models", style=STYLE,
            tooltip="how many models are retrained with different seeds; their spread is what "
                    "every verdict is measured against (more: fewer undecided results)")
        self.attacks = W.SelectMultiple(
            options=[(ATTACK_LABELS[a].label, a) for a in ATTACKS], value=attacks, rows=3,
            description="Privacy attacks", style=STYLE,
            tooltip="; ".join(f"{v.label}: {v.explanation}" for v in ATTACK_LABELS.values()))
        self.reference_models = W.IntText(
            value=reference_models, description="Shadow models", style=STYLE,
            tooltip="models trained on random halves of the records, for the RMIA and LiRA "
                    "attacks (even, at least 2; LiRA needs 4): more make the attacks stronger "
                    "and slower")
        self.gold_field = Field(self.gold_models, "models")
        self.reference_field = Field(self.reference_models, "models, for RMIA and LiRA")
        self.reset_button = W.Button(description="Reset to defaults")
        self.reset_button.on_click(self.reset)
        self.method.observe(self._rebuild, names="value")
        for w in (self.device, self.gold, self.gold_models, self.attacks,
                  self.reference_models):
            w.observe(self._check_audit, names="value")
        self._rebuild()
        self._check_audit()
        self.widget = W.VBox([W.HBox([self.method, self.summary]), self.params_box,
                              self.unused_note, self.advanced, self.reset_button,
                              self.device, self.gold, self.gold_field.widget, self.attacks,
                              self.reference_field.widget,
                              self.messages.widget])

    @guarded
    def _rebuild(self, _change: dict | None = None) -> None:
        cls = wb.get_unlearner(self.method.value)
        specs = wb.param_specs(cls.Params)
        self.fields = {}
        self._main = self._build([s for s in specs if not s.advanced])
        self._hidden = [s for s in specs if s.advanced]
        self._advanced = None  # built on opening
        self.params_box.children = [self.fields[name].widget for name in self._main]
        self.advanced_box.children = []
        self.advanced.set_title(0, f"Advanced settings ({len(self._hidden)}, rarely changed)")
        self.advanced.layout.display = "" if self._hidden else "none"
        self.advanced.selected_index = None
        label = label_for_method(self.method.value)
        extra = " Forgets whole classes only." if getattr(cls, "class_level_only", False) else ""
        used = DATA_USED.get(str(cls.data_access), str(cls.data_access))
        self.summary.value = (f"<div style='margin-left:8px;max-width:760px'>"
                              f"{html.escape(label.explanation)} Data used: {used}."
                              f"{extra}</div>")
        self.messages.clear()
        self._show_unused()
        self._changed()

    def set_request(self, model: nn.Module | None, forget: ForgetSet | None) -> None:
        """The model and records the next run erases (None: not chosen yet): settings the
        method would not read for them are greyed out, with the reason."""
        self._request = None if model is None or forget is None else (model, forget)
        self._show_unused()

    def _show_unused(self) -> None:
        unused: dict[str, str] = {}
        if self._request is not None:
            try:
                unused = wb.unused_params(*self._request, method=self.method.value,
                                          params=self.params())
            except ValueError:  # a value being typed: its own field says what is wrong
                unused = {}
        for name, (_spec, widget) in self._built.items():
            widget.disabled = name in unused
        reasons = "; ".join(sorted(set(unused.values())))
        self.unused_note.value = (f"<div style='max-width:760px'><i>The greyed-out settings "
                                  f"are {html.escape(reasons)}.</i></div>" if unused else "")

    def _build(self, specs: list[ParamSpec]) -> dict[str, tuple[ParamSpec, W.Widget]]:
        built = {s.name: (s, control(s)) for s in specs}
        for spec, widget in built.values():
            self.fields[spec.name] = Field(widget, spec.unit)
            widget.observe(lambda _c, spec=spec: self._edited(spec), names="value")
        return built

    def _open_advanced(self, _change: dict | None = None) -> None:
        """Build the advanced controls the first time they are needed (a page with them all
        built from the start loads slower, and most people never open them)."""
        if self._advanced is None:
            self._advanced = self._build(self._hidden)
            self.advanced_box.children = [self.fields[name].widget for name in self._advanced]
            self._show_unused()

    @property
    def controls(self) -> dict[str, tuple[ParamSpec, W.Widget]]:
        """Every parameter's spec and control (the advanced ones are built on first use)."""
        self._open_advanced()
        return self._built

    @property
    def _built(self) -> dict[str, tuple[ParamSpec, W.Widget]]:
        return {**self._main, **(self._advanced or {})}

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _check_param(self, spec: ParamSpec) -> None:
        """Refuse a value next to its field as soon as it is typed."""
        try:
            value = parse(spec, self._built[spec.name][1].value)
            check_value(spec, value, self.method.value)
        except ValueError as error:
            self.fields[spec.name].error(in_words(spec, error))
        else:
            self.fields[spec.name].error(None)

    def _edited(self, spec: ParamSpec) -> None:
        self._check_param(spec)
        self._show_unused()
        self._changed()

    def audit_problem(self) -> tuple[str, str] | None:
        """(field, message) when the audit settings would be refused, else None."""
        attacks, n = set(self.attacks.value), self.reference_models.value
        if self.gold.value and self.gold_models.value < MIN_GOLD_COUNT:
            return ("gold_models", f"at least {MIN_GOLD_COUNT} retrained models are needed "
                    "(their spread is the yardstick); or untick the gold standard")
        if "lira" in attacks and n < 4:
            return ("reference_models", f"the LiRA attack needs at least 4 shadow models (you "
                    f"asked for {n}); ask for 4 or more, or untick LiRA")
        if attacks & set(SHADOW_ATTACKS) and (n < 2 or n % 2):
            return ("reference_models", f"shadow models come in pairs: ask for an even number "
                    f"of at least 2 (you asked for {n})")
        return None

    def _check_audit(self, change: dict | None = None) -> None:
        if change is not None:
            self._changed()
        problem = self.audit_problem()
        for name, field in (("gold_models", self.gold_field),
                            ("reference_models", self.reference_field)):
            field.error(problem[1] if problem and problem[0] == name else None)

    @guarded
    def reset(self, _button: W.Button | None = None) -> None:
        self._rebuild()

    def params(self) -> dict[str, Any]:
        """The values that differ from the defaults (empty optional fields are left out)."""
        out = {}
        for name, (spec, widget) in self._built.items():  # controls never built: defaults
            value = parse(spec, widget.value)
            if value is None and spec.default is None:
                continue
            if value != spec.default:
                out[name] = value
        return out

    def settings(self) -> dict[str, Any]:
        """Everything a run needs from this panel, validated against the method's Params.

        Raises ``ValueError`` in words (the same message stands next to the field)."""
        for spec, _widget in self._built.values():
            self._check_param(spec)
            problem = self.fields[spec.name].message
            if problem:
                raise ValueError(problem + ("; see Advanced settings" if spec.advanced else ""))
        cls = wb.get_unlearner(self.method.value)
        params = cls.Params.from_mapping(self.params())  # raises ValueError on bad values
        if not self.attacks.value:
            raise ValueError("choose at least one privacy attack")
        self._check_audit()
        refused = self.audit_problem()
        if refused is not None:
            raise ValueError(refused[1])
        return {"method": self.method.value, "params": params, "device": self.device.value,
                "gold_standard": self.gold.value, "gold_models": self.gold_models.value,
                "attacks": tuple(self.attacks.value),
                "reference_models": self.reference_models.value}
