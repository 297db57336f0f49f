"""Pick a model and its records, then find the records to forget."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ipywidgets as W
import pandas as pd
from torch import nn

import workbench as wb
from workbench.evidence.selection import Selection
from workbench.records import ForgetSet, RecordTable
from workbench.widgets.common import Messages, guarded
from workbench.widgets.own import FIELDS, FILES, PACKAGE, OwnFieldError, open_own

OWN = "(your own model and records)"
FIELD_ERROR = "<span class='wb-field-error' style='color:#cf222e'>{}</span>"
FIELD_NOTE = "<span class='wb-field-note' style='color:#555'>{}</span>"
NO_RECIPE = ("no training recipe: the gold standard and RMIA / LiRA cannot retrain this model; "
             "give epochs, learning rate and batch size to build them")


def query_problem(query: str, columns: list[str], error: Exception) -> str:
    """A condition the records could not evaluate, in words (no pandas internals)."""
    cause = str(error)
    shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
    unknown = re.search(r"name '(\w+)' is not defined", cause)
    if unknown:
        return (f"the condition names {unknown[1]!r}, which is not a column; the columns are "
                f"{shown}")
    if "comparison between" in cause or "not supported between" in cause:
        return ("the condition compares a column with a value of another kind (a number with "
                "text?); write numbers without quotes, text in quotes")
    if "matched no training records" in cause or "must be a condition" in cause:
        return cause
    return (f"the condition {query!r} could not be read; write it like: age > 50 and gender "
            f"== 0, with the columns {shown}, numbers, ==, !=, <, >, and, or, not")


MAX_ROWS = 200
PREVIEW_ROWS = 20


class SourcePanel:
    """A sample model, or your own: a model file (safetensors) with its class and a records
    file (CSV) with its recipe, or a model package folder (see :mod:`workbench.widgets.own`)."""

    def __init__(self, sample: str | None = "clinic",
                 on_load: Callable[[nn.Module, RecordTable, str], None] | None = None) -> None:
        names = [s["name"] for s in wb.list_samples()]
        self.on_load = on_load
        self.messages = Messages()
        self.sample = W.Dropdown(options=[*names, OWN], value=sample if sample in names else None,
                                 description="Model")
        self.route = W.ToggleButtons(options=[FILES, PACKAGE], value=FILES,
                                     style={"button_width": "auto"})
        self.fields = {f.key: W.Text(value=f.value, placeholder=f.placeholder,
                                     description=f.label, tooltip=f.tooltip,
                                     style={"description_width": "initial"}) for f in FIELDS}
        self.model_path, self.records_path = self.fields["model"], self.fields["records"]
        self.columns = self.fields["columns"]
        self.hints = {f.key: W.HTML() for f in FIELDS}
        self.rows = {f.key: W.HBox([self.fields[f.key], self.hints[f.key]]) for f in FIELDS}
        self.own = W.VBox([self.route, *self.rows.values()], layout={"display": "none"})
        self.load_button = W.Button(description="Load", icon="folder-open")
        self.load_button.on_click(self.load)
        self.sample.observe(self._toggle_own, names="value")
        self.route.observe(self._show_route, names="value")
        self._show_route()
        self.model: nn.Module | None = None
        self.table: RecordTable | None = None
        self.records_source = ""  # as evidence names it: sample:NAME, csv:PATH#..., folder:PATH
        self.model_file: str | None = None  # the model file loaded (own model file only)
        self.widget = W.VBox([W.HBox([self.sample, self.load_button]), self.own,
                              self.messages.widget])

    def _toggle_own(self, change: dict) -> None:
        self.own.layout.display = "" if change["new"] == OWN else "none"

    def _show_route(self, _change: dict | None = None) -> None:
        for f in FIELDS:
            shown = f.route is None or f.route == self.route.value
            self.rows[f.key].layout.display = "" if shown else "none"

    def _field_error(self, field: str | None, text: str = "", *, note: bool = False) -> None:
        shape = FIELD_NOTE if note else FIELD_ERROR
        for name, hint in self.hints.items():
            hint.value = shape.format(html.escape(text)) if name == field else ""

    @guarded
    def load(self, _button: W.Button | None = None) -> None:
        self._field_error(None)
        if self.sample.value == OWN:
            try:
                loaded = open_own(self.route.value, {k: w.value for k, w in self.fields.items()})
            except OwnFieldError as error:
                self._field_error(error.field, str(error))
                raise
            model, table, name = loaded.model, loaded.table, loaded.name
            source, model_file = loaded.records_source, loaded.model_file
        elif self.sample.value is None:
            raise ValueError("choose a sample model or your own files first")
        else:
            sample = wb.load_sample(self.sample.value)
            model, table, name = sample.model, sample.records, sample.name
            source, model_file = f"sample:{sample.name}", None
        self.model, self.table = model, table
        self.records_source, self.model_file = source, model_file
        if table.recipe is None:
            self._field_error("epochs", NO_RECIPE, note=True)
        self.messages.note(f"Loaded {name}: {len(table)} records "
                           f"({len(table.members())} training members), "
                           f"classes {', '.join(table.schema.classes)}.")
        if self.on_load is not None:
            self.on_load(model, table, name)

    def require_recipe(self, steps: list[str]) -> None:
        """Refuse, next to the recipe fields, a run whose ``steps`` retrain the model when the
        records carry no training recipe (before any work)."""
        if self.table is None or self.table.recipe is not None:
            return
        if not steps:
            self._field_error("epochs", NO_RECIPE, note=True)
            return
        text = (f"{' and '.join(steps)} {'retrains' if len(steps) == 1 else 'retrain'} the "
                "model, which needs its training recipe: give epochs, learning rate and batch "
                "size and press Load again, or run without the gold standard and with the LOSS "
                "attack only")
        self._field_error("epochs", text)
        raise ValueError(text)


def _button(label: str, handler: Callable[[W.Button], None]) -> W.Button:
    button = W.Button(description=label)
    button.on_click(handler)
    return button


class RecordFinder:
    """Search and filter the records; build the selection; keep its count and class mix visible."""

    def __init__(self, on_change: Callable[[ForgetSet | None], None] | None = None) -> None:
        self.on_change = on_change
        self.messages = Messages()
        self.table: RecordTable | None = None
        self.forget: ForgetSet | None = None
        self.selection: Selection | None = None  # the rule behind ``forget``, as recorded
        self.search = W.Text(placeholder="record id contains…", description="Search")
        self.klass = W.Dropdown(options=[("any class", None)], description="Class")
        self.query = W.Text(placeholder="e.g. age > 50 and gender == 0", description="Attribute",
                            continuous_update=False)
        self.query_hint = W.HTML()  # a condition that cannot be read, said next to it
        self.query_error: str | None = None
        self.matches = W.SelectMultiple(options=[], rows=8, description="Matches",
                                        layout={"width": "95%"})
        self.count = W.HTML()
        self.preview = W.HTML()
        self.preview_box = W.Accordion(children=[self.preview], titles=(
            f"Matching records as a table (first {PREVIEW_ROWS}, every column)",),
            selected_index=None)
        self.pasted = W.Textarea(placeholder="paste record ids: one per line, or comma-separated",
                                 description="Ids", layout={"width": "95%"})
        self.summary = W.HTML(value="<b>Selected:</b> nothing yet")
        self.add_selected_button = _button("Add selected", self.add_selected)
        self.add_matching_button = _button("Add all matching", self.add_matching)
        self.add_pasted_button = _button("Add pasted ids", self.add_pasted)
        self.whole_class_button = _button("Forget whole class", self.whole_class)
        self.clear_button = _button("Clear selection", self.clear)
        for w in (self.search, self.klass, self.query):
            w.observe(self.refresh, names="value")
        self.widget = W.VBox([
            W.HBox([self.search, self.klass, self.query]), self.query_hint, self.count,
            self.matches,
            self.preview_box,
            W.HBox([self.add_selected_button, self.add_matching_button,
                    self.whole_class_button]),
            self.pasted, W.HBox([self.add_pasted_button, self.clear_button]),
            self.summary, self.messages.widget])

    def set_table(self, table: RecordTable) -> None:
        self.table = table
        self.klass.options = [("any class", None), *[(n, i) for i, n in
                                                     enumerate(table.schema.classes)]]
        self.klass.value = None
        self._set(None)
        self.refresh()

    def loaded(self) -> RecordTable:
        """The record table; ``ValueError`` before one is loaded."""
        if self.table is None:
            raise ValueError("load a model and its records first")
        return self.table

    def matching(self) -> pd.DataFrame:
        """Training members that pass the search, class and attribute filters."""
        table = self.loaded()
        frame = table.frame
        frame = frame[frame["member"]]
        if self.search.value.strip():
            frame = frame[frame["record_id"].str.contains(self.search.value.strip(), regex=False)]
        if self.klass.value is not None:
            frame = frame[frame["label"] == self.klass.value]
        if self.query.value.strip():
            ids = set(table.members_where(self.query.value.strip()))
            frame = frame[frame["record_id"].isin(ids)]
        return frame

    def _show_query_error(self, text: str | None) -> None:
        self.query_error = text
        self.query_hint.value = FIELD_ERROR.format(html.escape(text)) if text else ""

    @guarded
    def refresh(self, _change: dict | None = None) -> None:
        self._show_query_error(None)
        try:
            frame = self.matching()
        except ValueError as error:
            if not self.query.value.strip() or self.table is None:
                raise
            columns = [c for c in self.table.frame.columns if c != "member"]
            self._show_query_error(query_problem(self.query.value.strip(), columns, error))
            self.count.value, self.preview.value = "", ""  # no stale count or table
            self.matches.options = []
            self.messages.clear()
            return
        classes = self.loaded().schema.classes
        features = [c for c in frame.columns if c not in ("record_id", "label", "member")][:4]
        self.matches.options = [
            # pandas-stubs types an itertuples field as any scalar; label is an int column
            (f"{row.record_id}  [{classes[row.label]}]  " + ", ".join(  # type: ignore[index]
                f"{c}={getattr(row, c)}" for c in features), row.record_id)
            for row in frame.head(MAX_ROWS).itertuples()]
        shown = f" (first {MAX_ROWS} shown)" if len(frame) > MAX_ROWS else ""
        self.count.value = f"{len(frame)} matching training records{shown}"
        table = frame.head(PREVIEW_ROWS).assign(label=[classes[i] for i in
                                                        frame["label"].head(PREVIEW_ROWS)])
        self.preview.value = (f"<div style='overflow-x:auto'>"
                              f"{table.drop(columns='member').to_html(index=False)}</div>")
        self.messages.clear()

    def _add(self, ids: list[str]) -> None:
        if not ids:
            raise ValueError("nothing to add: no records are chosen")
        current = list(self.forget.ids) if self.forget and not self.forget.classes else []
        merged = list(dict.fromkeys([*current, *ids]))
        self._set(Selection.by_ids(merged))

    @guarded
    def add_selected(self, _button: W.Button | None = None) -> None:
        self._add(list(self.matches.value))

    @guarded
    def add_matching(self, _button: W.Button | None = None) -> None:
        query = self.query.value.strip()
        if query and self.forget is None and not self.search.value.strip() \
                and self.klass.value is None:
            self._set(Selection.where(query))  # the rule itself, not just today's ids
        else:
            self._add(list(self.matching()["record_id"]))

    @guarded
    def add_pasted(self, _button: W.Button | None = None) -> None:
        ids = [i.strip() for i in self.pasted.value.replace(",", "\n").split() if i.strip()]
        self._add(ids)
        self.pasted.value = ""

    @guarded
    def whole_class(self, _button: W.Button | None = None) -> None:
        if self.klass.value is None:
            raise ValueError("choose a class in the Class filter first")
        self._set(Selection.of_classes([self.loaded().schema.classes[self.klass.value]]))

    @guarded
    def clear(self, _button: W.Button | None = None) -> None:
        self._set(None)

    def _set(self, selection: Selection | None) -> None:
        forget = selection.apply(self.loaded()) if selection is not None else None
        self.selection, self.forget = selection, forget
        self.messages.clear()
        if forget is None:
            self.summary.value = "<b>Selected:</b> nothing yet"
        else:
            mix = ", ".join(f"{k}: {v}" for k, v in forget.class_counts().items())
            self.summary.value = (f"<b>Selected: {len(forget)} records</b> ({forget.rule}); "
                                  f"class mix {mix}")
        if self.on_change is not None:
            self.on_change(forget)
