"""The erasure-request app: source -> records -> method -> run -> results -> export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
from torch import nn

from workbench.deprecation import callable_module, legacy_keywords, renamed_attributes
from workbench.pipeline import ErasureRequest
from workbench.records import ForgetSet, RecordTable
from workbench.widgets.export import ExportPanel
from workbench.widgets.lifecycle import CasePanel
from workbench.widgets.method import RUN_KEYWORDS, MethodPanel, RunSettings
from workbench.widgets.own import retraining_steps
from workbench.widgets.picker import RecordFinder, SourcePanel
from workbench.widgets.results import ResultsPanel
from workbench.widgets.run import Outcome, RunPanel


def _section(title: str, body: W.Widget) -> W.VBox:
    return W.VBox([W.HTML(f"<h3 style='margin-bottom:2px'>{title}</h3>"), body],
                  layout={"border": "1px solid #ddd", "padding": "6px", "margin": "4px 0"})


class ErasureApp:
    """The DPO's workflow in one widget (``display(app.widget)``).

    Each panel is reachable as an attribute (``source``, ``finder``, ``method``, ``run``,
    ``results``, ``export``), so notebooks and tests can drive the app from Python.
    """

    @legacy_keywords(moved=RUN_KEYWORDS, options="settings", factory=RunSettings)
    def __init__(self, sample: str | None = "clinic", *, settings: RunSettings | None = None,
                 seed: int = 0, background: bool = True, ledger: Path | None = None,
                 export_folder: str = "evidence", demo_records: int = 0,
                 demo_seed: int = 7) -> None:
        settings = settings or RunSettings()
        self.seed = seed
        self.demo_records, self.demo_seed = demo_records, demo_seed
        self.model: nn.Module | None = None
        self.table: RecordTable | None = None
        self.name = sample or "model"
        self.source = SourcePanel(sample, on_load=self._loaded)
        self.finder = RecordFinder(on_change=self._forget_changed)
        self.method = MethodPanel(settings.method, attacks=settings.attacks,
                                  reference_models=settings.shadow_models,
                                  gold_standard=settings.gold_standard,
                                  gold_models=settings.gold_models)
        self.results = ResultsPanel()
        self.method.on_change = lambda: self._stale("The method or its settings changed")
        self.run = RunPanel(self.request, self.results.show, background=background,
                            on_start=lambda: self.results.clear(
                                "Running: the result appears here when the run ends."))
        self.export = ExportPanel(lambda: self.results.outcome,
                                  lambda: (self.model, self.table), folder=export_folder,
                                  ledger=ledger)
        self.case = CasePanel(ledger=ledger)
        self.demo_button = W.Button(
            description=f"Run a demo request ({demo_records} random records)", icon="play",
            layout={"width": "auto", "display": "" if demo_records else "none"},
            tooltip="selects that many training records at random and presses Run, as you would")
        self.demo_button.on_click(self.demo)
        self.widget = W.VBox([
            W.HTML("<h2>Erasure request</h2>"), self.demo_button,
            _section("1. Model and records", self.source.widget),
            _section("2. Records to forget", self.finder.widget),
            _section("3. Method", self.method.widget),
            _section("4. Run", self.run.widget),
            _section("5. Results", self.results.widget),
            _section("6. Export evidence", self.export.widget),
            _section("7. Decide: approve or reject, deploy, answer, close", self.case.widget)])
        if sample is not None:
            self.source.load()

    def _loaded(self, model: nn.Module, table: RecordTable, name: str) -> None:
        self.model, self.table, self.name = model, table, name
        if self.results.outcome is not None:  # never leave another model's result on screen
            self.results.clear(f"Loaded {name}: the previous result belonged to other records "
                               "or another model and was cleared. Run a request to see one.")
            self.export.clear()
        self.finder.set_table(table)

    def _forget_changed(self, forget: ForgetSet | None) -> None:
        self.method.set_request(self.model, forget)
        self._stale("The records to forget changed")

    def demo(self, _button: W.Button | None = None) -> None:
        """Select ``demo_records`` training records at random (``demo_seed``) and press Run."""
        if self.table is None:
            self.run.messages.show_error("load a model and its records first (step 1)")
            return
        members = self.table.members().ids
        ids = np.random.default_rng(self.demo_seed).choice(
            members, min(self.demo_records, len(members)), replace=False)
        self.finder.pasted.value = "\n".join(ids)
        self.finder.add_pasted_button.click()
        self.run.run_button.click()

    def _stale(self, what: str) -> None:
        """An input changed: the result on screen no longer describes it."""
        if self.results.outcome is not None and not self.run.running:
            self.results.clear(f"{what} after the last run, so its result was cleared. "
                               "Press Run to see the result of the request as it is now.")
            self.export.clear()

    @property
    def forget(self) -> ForgetSet | None:
        return self.finder.forget

    @property
    def outcome(self) -> Outcome | None:
        return self.results.outcome

    def request(self) -> ErasureRequest:
        """The erasure request the panels describe now (the pipeline checks it before work)."""
        if self.model is None or self.table is None:
            raise ValueError("load a model and its records first (step 1)")
        if self.finder.selection is None:
            raise ValueError("select the records to forget first (step 2)")
        s = self.method.settings()
        self.source.require_recipe(retraining_steps(  # said next to the recipe fields
            method=s["method"], params=s["params"].to_dict(), gold_standard=s["gold_standard"],
            attacks=s["attacks"]))
        return ErasureRequest(
            model=self.model, table=self.table, selection=self.finder.selection,
            method=s["method"], params=s["params"].to_dict(), device=s["device"],
            gold_models=s["gold_models"] if s["gold_standard"] else 0, attacks=s["attacks"],
            shadow_models=s["reference_models"], seed=self.seed, model_name=self.name,
            records_source=self.source.records_source, before_file=self.source.model_file,
            ticket={"reference": self.run.reference.value.strip()})


def erasure_app(sample: str | None = "clinic", **options: Any) -> ErasureApp:
    """Build the erasure-request app; see :class:`ErasureApp` for the options."""
    return ErasureApp(sample, **options)


callable_module(__name__, erasure_app, "workbench.widgets.app", "workbench.widgets.erasure_app")
__getattr__ = renamed_attributes(__name__, app="erasure_app")
