"""Widget callbacks, tested in Python without a kernel: set values, click, assert on state."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest

import workbench as wb
from workbench import plots
from workbench.evidence import load_record, verify_ledger
from workbench.labels import label_for_method
from workbench.pipeline import run as pipeline_run
from workbench.widgets import ErasureApp, RunPanel, RunSettings, figures, run_erasure
from workbench.widgets.export import operator_name
from workbench.widgets.method import MethodPanel
from workbench.widgets.run import stage_words, staged

FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}


@pytest.fixture
def clinic_app() -> ErasureApp:
    return ErasureApp("clinic", background=False, settings=RunSettings(gold_models=2))


def _select_two(a: ErasureApp) -> None:
    a.finder.matches.value = tuple(v for _, v in a.finder.matches.options[:2])
    a.finder.add_selected_button.click()


def _fast(a: ErasureApp) -> None:
    for name, value in FAST.items():
        spec, control = a.method.controls[name]
        control.value = str(value) if spec.default is None else value  # optional: a text box


@pytest.fixture(scope="module")
def outcome(samples):
    table = samples["clinic"].records
    forget = table.select(ids=list(table.members().ids[:12]))
    return run_erasure(samples["clinic"].model, table, forget, params=FAST,
                       settings=RunSettings(method="synthetic", attacks=("loss",), gold_models=2))


def test_figures_show_what_the_audit_measured(outcome):
    result = outcome.audit
    roc = figures.roc_figure(result)
    assert roc.layout.xaxis.type == roc.layout.yaxis.type == "log"
    names = [t.name for t in roc.data]
    auc = result.metrics("loss", "unlearned").auc
    assert any(n.startswith("LOSS unlearned") and f"AUC {auc:.3f}" in n and "TPR@1%FPR" in n
               for n in names)
    assert any(n.startswith("LOSS gold standard") for n in names)
    assert figures.roc_figure(result).to_dict() == plots.plot_roc(result, attacks=("loss",)
                                                                  ).to_dict()  # one figure
    conf = figures.confidence_figure(result)
    assert len(conf.data) == 1 + len(result.confidence.forget)  # non-members + each model
    drift = figures.drift_figure(result)
    assert {"retain", "test", "class event"} <= set(drift.data[0].x)
    card = figures.scorecard_html(result)
    for v in result.verdicts:
        assert v.test in card and v.status in card
    assert "band" in card and "Erasure verdict" in card and "original (power)" in card
    for v in result.verdicts:  # the band and the original's score of every test
        assert v.allowed[1] is None or f"{v.allowed[1]:+.3f}" in card
    assert "Utility:" in card and "Collateral:" in card
    bundle = figures.mimebundle(roc)
    json.dumps(bundle)  # JSON-native, as the frontend receives it


def test_finder_filters_and_selection_summary(clinic_app):
    f = clinic_app.finder
    f.klass.value = 1
    assert all("[event]" in label for label, _ in f.matches.options)
    f.query.value = "age > 50"
    n = len(f.matching())
    assert f.count.value.startswith(f"{n} matching")
    f.add_matching_button.click()
    assert len(clinic_app.forget) == n and "event: " in f.summary.value
    assert f"Selected: {n} records" in f.summary.value
    assert f.preview.value.count("<tr>") == min(n, 20) and "wtkg" in f.preview.value
    f.query.value, f.klass.value = "", None
    extra = [i for i in clinic_app.table.members().ids if i not in clinic_app.forget.ids][:2]
    f.pasted.value = f"{extra[0]}\n {extra[1]},"
    f.add_pasted_button.click()
    assert len(clinic_app.forget) == n + 2 and f.pasted.value == ""
    f.clear_button.click()
    assert clinic_app.forget is None and "nothing yet" in f.summary.value


def test_finder_errors_are_messages_and_keep_the_selection(clinic_app):
    f = clinic_app.finder
    _select_two(clinic_app)
    before = clinic_app.forget
    f.pasted.value = "no-such-id"
    f.add_pasted_button.click()
    assert "not in table" in f.messages.error and clinic_app.forget is before
    f.query.value = ""
    f.whole_class_button.click()
    assert "choose a class" in f.messages.error
    f.klass.value = 1
    f.whole_class_button.click()
    assert clinic_app.forget.is_class_request and f.messages.error is None


INTERNALS = ("Error:", "Traceback", "pandas", "Visitor", "numexpr", "dtype", "<unknown>",
             "mat1", "FileNotFoundError", "PermissionError", "OSError")


@pytest.mark.parametrize("query, says", [
    ("age >", "could not be read"), ("agee > 5", "'agee', which is not a column"),
    ("age > \"x\"", "another kind"), ("age >> 3", "could not be read"),
    ("age", "true or false")])
def test_a_malformed_condition_is_said_next_to_the_field_and_clears_the_count(
        clinic_app, query, says):
    f = clinic_app.finder
    f.query.value = "age > 50"
    assert f.count.value and f.matches.options and f.query_error is None
    f.query.value = query
    assert says in f.query_error and says in html.unescape(f.query_hint.value)
    assert not any(word in f.query_error for word in INTERNALS), f.query_error
    assert f.count.value == "" and f.matches.options == () and f.preview.value == ""
    assert f.messages.error is None  # said once, next to the field, not far below
    f.query.value = "age > 50"
    assert f.query_error is None and f.query_hint.value == "" and f.count.value


def test_method_panel_renders_params_with_bounds_and_defaults():
    panel = MethodPanel()
    spec, proxies = panel.controls["proxies"]
    assert proxies.value == spec.default and f"(from {spec.low} to {spec.high})" in proxies.tooltip
    proxies.value = 10**7  # outside its bounds: refused with them, never clamped
    hint = panel.fields["proxies"].hint.value
    assert "Synthetic stand-in records" in hint and "1000000" in hint and "'proxies'" not in hint
    with pytest.raises(ValueError, match="Synthetic stand-in records"):
        panel.settings()
    assert proxies.value == 10**7
    proxies.value = spec.default
    assert panel.fields["proxies"].hint.value == ""
    assert panel.controls["optimizer"][1].options == ("sgd", "adam")
    assert panel.params() == {}
    proxies.value = 512
    panel.controls["steps"][1].value = "50"  # optional: blank means the method's own default
    panel.controls["sigma"][1].value = "0.5"
    assert panel.params() == {"proxies": 512, "steps": 50, "sigma": 0.5}
    panel.method.value = "scrub"
    assert "msteps" in panel.controls and "kept training records" in panel.summary.value
    panel.reset_button.click()
    assert panel.params() == {}


@pytest.mark.parametrize("method", wb.available_methods())
def test_the_method_picker_speaks_in_words(method):
    """Labels, not registry names; every parameter with a label, a tooltip and its unit;
    rarely used ones folded under Advanced."""
    panel = MethodPanel(method)
    shown = dict(panel.method.options)
    assert shown[label_for_method(method).label] == method and panel.method.value == method
    assert label_for_method(method).explanation in panel.summary.value.replace("&#x27;", "'")
    assert "<code>" not in panel.summary.value
    for name, (spec, widget) in panel.controls.items():
        assert widget.description == spec.label and spec.label != name, name
        assert widget.tooltip and spec.help in widget.tooltip, name
        assert spec.unit or spec.choices, f"{method}.{name} has no unit"
        row = panel.fields[name].widget
        where = panel.advanced_box.children if spec.advanced else panel.params_box.children
        assert row in where, name
    if method == "synthetic":
        assert len(panel.params_box.children) <= 5 < len(panel.advanced_box.children)
    for w in (panel.device, panel.gold, panel.gold_models, panel.attacks,
              panel.reference_models):
        assert w.tooltip, w.description
    assert [label for label, _ in panel.attacks.options] == [
        "loss attack", "RMIA attack", "LiRA attack"]


def test_lira_with_two_shadow_models_is_refused_before_any_work(clinic_app, monkeypatch):
    a = clinic_app
    _select_two(a)
    a.method.attacks.value = ("loss", "lira")
    a.method.reference_models.value = 2
    hint = a.method.reference_field.hint.value
    assert "LiRA attack needs at least 4 shadow models" in hint  # said as it is typed

    def no_work(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(pipeline_run, "unlearn_model", no_work)
    a.run.run_button.click()
    assert "at least 4 shadow models" in a.run.messages.error and a.outcome is None
    a.method.reference_models.value = 3
    a.method.attacks.value = ("loss", "rmia")
    assert "even number" in a.method.reference_field.hint.value
    a.method.reference_models.value = 4
    assert a.method.reference_field.hint.value == ""
    a.method.gold_models.value = 1
    assert "at least 2 retrained models" in a.method.gold_field.hint.value


def test_run_shows_results_and_a_new_action_clears_them(clinic_app, monkeypatch):
    a = clinic_app
    a.run.run_button.click()
    assert "select the records" in a.run.messages.error and a.outcome is None
    _select_two(a)
    _fast(a)
    a.run.run_button.click()
    assert a.run.messages.error is None, a.run.messages.error
    first = a.outcome
    assert first is not None and "verdict" in a.run.status.value
    assert len(a.results.titles()) == 3 and "Erasure verdict" in a.results.scorecard.value
    assert "Data-free overwrite" in a.run.status.value  # the label, not "synthetic"
    a.method.controls["sigma"][1].value = "nonsense"  # the settings changed: result cleared
    assert a.outcome is None and "was cleared" in a.results.header.value
    assert a.results.titles() == [] and a.results.scorecard.value == ""
    assert "must be a number" in a.method.fields["sigma"].hint.value
    a.run.run_button.click()
    assert "must be a number" in a.run.messages.error and a.outcome is None

    def boom(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    a.method.controls["sigma"][1].value = ""
    a.run.run_button.click()
    assert a.outcome is not None
    monkeypatch.setattr(pipeline_run, "unlearn_model", boom)
    a.run.run_button.click()  # a new run takes the old result off first
    assert a.run.messages.error == "RuntimeError: the GPU caught fire"
    assert "Failed" in a.run.status.value and a.run.progress.bar_style == "danger"
    assert a.outcome is None and a.results.titles() == []
    assert not a.run.run_button.disabled and a.run.cancel_button.disabled


def test_changing_the_records_clears_the_result(clinic_app):
    a = clinic_app
    _select_two(a)
    _fast(a)
    a.run.run_button.click()
    assert a.outcome is not None
    a.finder.clear_button.click()
    assert a.outcome is None and "records to forget changed" in a.results.header.value


def test_cancel_stops_a_background_run(clinic_app):
    a = clinic_app
    a.run.background = True
    _select_two(a)
    a.method.controls["steps"][1].value = "5000"
    a.run.run_button.click()
    assert a.run.running and not a.run.cancel_button.disabled
    a.run.cancel_button.click()
    a.run.wait(timeout=60)
    assert "Cancelled" in a.run.status.value and a.outcome is None
    assert a.run.messages.error is None and not a.run.run_button.disabled


def test_progress_reaches_the_bar(samples):
    table = samples["clinic"].records
    forget = table.select(ids=list(table.members().ids[:5]))
    seen = []
    run_erasure(samples["clinic"].model, table, forget, params=FAST,
                settings=RunSettings(method="synthetic", gold_standard=False),
                progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("erasing with Data-free overwrite (step ") for _, m in seen)
    assert any(m.startswith("auditing: ") for _, m in seen)


def test_progress_speaks_in_words_and_creeps_through_a_quiet_stage():
    seen, ahead = [], []
    stage = staged(lambda f, m: seen.append((f, m)), gold=True, ahead=ahead.append)
    gold = stage("gold standard (8 retrains)")
    assert seen[-1] == (0.3, "training the gold standard: starting")
    assert ahead[-1] == pytest.approx(0.3 + 0.5 / 8)  # one retrain's worth of bar ahead
    gold(1, 8, "gold_standard_0 done (1/8, this process)")
    assert seen[-1][1] == "training the gold standard (1 of 8 models trained)"
    audit = stage("audit")
    audit(2, 4, "shadow models")
    audit(1, 2, "shadow_0 done (1/2, this process)")  # never moves the bar back
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert seen[-1][1] == "auditing (1 of 2 shadow models trained)"
    assert stage_words("unlearn (jit)") == "erasing with Smoothing around the records (JiT)"
    panel = RunPanel(lambda: None, lambda outcome: None)
    panel._ahead(0.5)
    panel._progress(0.3, "training the gold standard: starting")
    at = panel._last[0]
    assert panel.creep(at + 0.2) is None  # reports are frequent: nothing to do
    value, text = panel.creep(at + 12)
    assert 0.3 < value < 0.5 and text == "Training the gold standard: starting, 12 s"
    assert panel.creep(at + 1000)[0] < 0.5  # never reaches the next report


def test_export_goes_through_the_pipeline_to_a_new_folder_and_the_ledger(clinic_app, tmp_path):
    a = clinic_app
    a.export.ledger = tmp_path / "ledger.sqlite"
    a.results.clear("none")
    a.export.export_button.click()
    assert "nothing to export" in a.export.messages.error
    _select_two(a)
    _fast(a)
    a.run.reference.value = "DSR 7"
    a.run.run_button.click()
    assert a.run.messages.error is None, a.run.messages.error
    a.export.folder.value = str(tmp_path / "evidence")
    a.export.export_button.click()
    a.export.export_button.click()  # a second export never overwrites the first
    assert a.export.messages.error is None, a.export.messages.error
    folders = sorted((tmp_path / "evidence").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("DSR_7-") for f in folders)
    assert {"model", "record", "html", "pdf", "gold-standard-0"} <= set(a.export.files)
    report = verify_ledger(tmp_path / "ledger.sqlite")
    assert report.ok and report.entries == 4  # records and report hashes
    record = load_record(folders[0] / "record.json")
    assert record.approval.operator == operator_name()  # who ran it, not "unknown"
    assert record.erased.selection.kind == "ids" and "run_request" in record.method.command
    assert "download record.json" in a.export.listing.value  # a link that needs no server route
    assert "data:application/json;base64," in a.export.listing.value


def test_loading_other_records_clears_the_result_and_export_refuses_a_stale_one(
        outcome, tmp_path):
    a = ErasureApp("clinic", background=False, settings=RunSettings(gold_models=2))
    a.results.show(outcome)  # a result for a model that is not the one loaded
    a.export.ledger = tmp_path / "ledger.sqlite"
    a.export.export_button.click()
    assert "another model or records" in a.export.messages.error
    assert not (tmp_path / "ledger.sqlite").exists()
    a.source.sample.value = "credit"
    a.source.load_button.click()
    assert a.outcome is None and "was cleared" in a.results.header.value
    assert a.results.titles() == [] and a.results.scorecard.value == ""


def test_own_model_and_records(samples, tmp_path):
    sample = samples["credit"]
    wb.save_model(sample.model, tmp_path / "m.safetensors")
    frame = sample.records.frame
    frame["label"] = frame["label"].map(dict(enumerate(sample.records.schema.classes)))
    frame.to_csv(tmp_path / "r.csv", index=False)
    a = ErasureApp(None, background=False)
    assert a.table is None
    a.source.sample.value = "(your own model and records)"
    assert a.source.own.layout.display == ""
    a.source.load_button.click()
    assert "does not exist" in a.source.messages.error
    a.source.model_path.value = str(tmp_path / "m.safetensors")
    a.source.records_path.value = str(tmp_path / "r.csv")
    a.source.load_button.click()
    assert a.source.messages.error is None, a.source.messages.error
    assert len(a.table) == len(pd.read_csv(tmp_path / "r.csv"))
    assert a.finder.count.value.startswith(f"{len(a.table.members())} matching")


def test_a_model_with_the_wrong_records_is_refused_next_to_the_records_field(samples,
                                                                            tmp_path):
    wb.save_model(samples["clinic"].model, tmp_path / "m.safetensors")
    credit = samples["credit"].records
    frame = credit.frame
    frame["label"] = frame["label"].map(dict(enumerate(credit.schema.classes)))
    frame.to_csv(tmp_path / "r.csv", index=False)
    a = ErasureApp(None, background=False)
    a.source.sample.value = "(your own model and records)"
    a.source.model_path.value = str(tmp_path / "m.safetensors")
    a.source.records_path.value = str(tmp_path / "r.csv")
    a.source.load_button.click()
    said = a.source.hints["records"].value
    assert "pair the model with the records it was trained on" in said
    assert not any(word in said for word in INTERNALS), said
    assert a.table is None and a.source.hints["model"].value == ""
    a.source.records_path.value = str(tmp_path / "missing.csv")
    a.source.load_button.click()
    assert "does not exist" in a.source.hints["records"].value


@pytest.mark.parametrize("folder", ["/proc/evidence", "{file}/inside"])
def test_an_unwritable_export_folder_is_said_in_words_next_to_the_field(
        clinic_app, tmp_path, folder):
    a = clinic_app
    a.export.ledger = tmp_path / "ledger.sqlite"
    (tmp_path / "a-file").write_text("x")
    _select_two(a)
    _fast(a)
    a.run.run_button.click()
    a.export.folder.value = folder.format(file=tmp_path / "a-file")
    a.export.export_button.click()
    said = a.export.folder_hint.value
    assert said and "folder" in said or "could not write" in said, said
    assert not any(word in said for word in INTERNALS), said
    assert not any(word in a.export.messages.error for word in INTERNALS)
    assert a.export.listing.value == "" and not (tmp_path / "ledger.sqlite").exists()


def test_the_case_panel_records_signed_steps_in_order(clinic_app, tmp_path):
    a = clinic_app
    a.export.ledger = a.case.ledger = tmp_path / "ledger.sqlite"
    _select_two(a)
    _fast(a)
    a.run.reference.value = "DSR-CASE"
    a.run.run_button.click()
    a.export.folder.value = str(tmp_path / "evidence")
    a.export.export_button.click()
    assert "Next step." in a.export.listing.value
    panel = a.case
    panel.request.value = "DSR-CASE"
    panel.buttons["Deployed"].click()
    assert "cannot be deployed now" in panel.messages.error and panel.view.value == ""
    verdict = a.outcome.audit.erasure
    if verdict != "PASS":
        panel.buttons["Approve"].click()
        assert "override reason" in panel.messages.error
    panel.override.value = "the DPO accepts the residual risk"
    panel.buttons["Approve"].click()
    assert panel.messages.error is None, panel.messages.error
    assert "approved" in panel.view.value
    if verdict != "PASS":
        assert "color:#cf222e" in panel.view.value and "OVERRIDE" in panel.view.value
    panel.status_button.click()
    assert "now       approved" in panel.view.value


def test_finder_filter_matching_every_member_lists_them_all(clinic_app):
    f = clinic_app.finder
    f.query.value = "age > -1"  # every member: a filter, not a request to forget all of them
    assert f.count.value.startswith(f"{len(clinic_app.table.members())} matching")
    assert not f.messages.error
    f.query.value = ""


def test_settings_a_one_label_retrain_does_not_read_are_greyed_out_with_the_reason(clinic_app):
    a = clinic_app
    steps = a.method.controls["steps"][1]
    assert not steps.disabled and a.method.unused_note.value == ""
    a.finder.klass.value = 1
    a.finder.whole_class_button.click()  # a class request on a two-class model: one label left
    unused = wb.unused_params(a.model, a.forget)  # the core decides; the panel shows it
    assert "steps" in unused and "update" not in unused
    for name, (_spec, control) in a.method.controls.items():
        assert control.disabled == (name in unused), name
    assert "retrains a fresh copy" in a.method.unused_note.value
    a.method.method.value = "finetune"  # another method reads every setting
    assert not any(c.disabled for _s, c in a.method.controls.values())
    assert a.method.unused_note.value == ""
    a.method.method.value = "synthetic"
    _select_two(a)  # records, not a class: every setting is read again
    a.finder.clear_button.click()
    _select_two(a)
    assert not any(c.disabled for _s, c in a.method.controls.values())
    assert a.method.unused_note.value == ""
