"""The auditor's panel (notebook 02) and the teaching figure (notebook 03), without a kernel."""

from __future__ import annotations

import matplotlib
import pytest

from workbench.widgets import RunSettings, export_evidence, run_erasure
from workbench.widgets.figures import digits_figure
from workbench.widgets.verify import VerifyPanel

FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}


@pytest.fixture(scope="module")
def evidence(samples, tmp_path_factory):
    table = samples["credit"].records
    forget = table.select(ids=list(table.members().ids[:15]))
    outcome = run_erasure(samples["credit"].model, table, forget, params=FAST,
                          settings=RunSettings(method="synthetic", attacks=("loss",),
                                               gold_models=2),
                          model_name="credit", records_source="sample:credit")
    root = tmp_path_factory.mktemp("evidence")
    return export_evidence(outcome, root, ledger=root / "ledger.sqlite").files


def test_verify_panel_reproduces_the_verdict(evidence):
    panel = VerifyPanel(path=str(evidence["record"]))
    panel.verify_button.click()
    assert panel.messages.error is None, panel.messages.error
    assert panel.result.ok, panel.result.checks
    assert "the verdict reproduces" in panel.report.value
    names = [name for name, _, _ in panel.result.checks]
    assert {"model after", "gold standard 1/2", "gold standard 2/2", "erasure verdict",
            "utility verdict"} <= set(names)


def test_a_changed_model_file_is_caught(evidence, tmp_path):
    for role in ("record", "model", "gold-standard-0", "gold-standard-1"):
        (tmp_path / evidence[role].name).write_bytes(evidence[role].read_bytes())
    gold = tmp_path / evidence["gold-standard-1"].name
    data = bytearray(gold.read_bytes())
    data[-1] ^= 1
    gold.write_bytes(bytes(data))
    panel = VerifyPanel(path=str(tmp_path / evidence["record"].name))
    panel.verify_button.click()
    failed = [name for name, ok, _ in panel.result.checks if not ok]
    assert failed == ["gold standard 2/2", "tests"] and "FAILED" in panel.report.value


def test_verify_errors_are_messages(tmp_path):
    panel = VerifyPanel(path=str(tmp_path / "missing.json"))
    panel.verify_button.click()
    assert "does not exist" in panel.messages.error and panel.result is None


def test_digits_figure_shows_each_forgotten_image(samples):
    table = samples["digits"].records
    forget = table.select(ids=list(table.members().ids[:3]))
    outcome = run_erasure(samples["digits"].model, table, forget, params=FAST,
                          settings=RunSettings(attacks=("loss",), gold_standard=False))
    fig = digits_figure(outcome.audit, table)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 3 and all("before" in t and "after" in t for t in titles)
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="not images"):
        digits_figure(run_erasure(samples["credit"].model, samples["credit"].records,
                                  samples["credit"].records.select(
                                      ids=list(samples["credit"].records.members().ids[:3])),
                                  params=FAST, settings=RunSettings(gold_standard=False)).audit,
                      samples["credit"].records)


def test_a_failure_never_sits_under_a_leftover_success(evidence, tmp_path):
    """good -> tampered -> missing -> not JSON: after each failure no green table remains."""
    panel = VerifyPanel(path=str(evidence["record"]))
    panel.verify_button.click()
    assert "the verdict reproduces" in panel.report.value
    tampered = tmp_path / "record.json"
    tampered.write_text(evidence["record"].read_text().replace('"FAIL"', '"PASS"', 1)
                        .replace('"INCONCLUSIVE"', '"PASS"', 1))
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    for path, message in ((tampered, "changed after it was sealed"),
                          (tmp_path / "missing.json", "does not exist"), (junk, "not valid JSON")):
        panel.path.value = str(path)
        assert panel.report.value == "" and panel.result is None  # cleared on a new path
        panel.verify_button.click()
        assert message in panel.messages.error
        assert panel.report.value == "" and panel.result is None
        panel.path.value = str(evidence["record"])
        panel.verify_button.click()
        assert "the verdict reproduces" in panel.report.value
