"""The offline HTML report, the PDF (chromium or matplotlib) and the plot functions."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

import pytest
from evidence_toys import KEY, clinic_erasure, unsealed_record

from workbench import plots
from workbench.evidence import append_record, find_chromium, render_html, write_html, write_pdf

URL = re.compile(r"(?i)\b(?:https?|ftp|wss?)://|//cdn|\burl\(\s*['\"]?(?!#|data:)")


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return append_record(folder / "ledger.sqlite", unsealed_record(folder), KEY)


def test_html_is_self_contained_with_no_url(record):
    text = render_html(record, pdf_renderer="chromium")
    assert URL.search(text) is None
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert text.count("<svg") == 3


def test_html_plain_words_and_scorecard_come_first_and_list_passed_checks(record):
    text = render_html(record)
    order = [text.index(h) for h in ("<h2>In plain words", "<h2>Scorecard", "<h2>Plots",
                                     "<h2>Attack metrics", "<h2>Accuracy drift",
                                     "<h2>Method and reproducibility", "<h2>Limitations",
                                     "<h2>Approval and integrity")]
    assert order == sorted(order)
    assert f"Erasure: <span class=\"badge {record.tests.overall}" in text
    assert record.tests.audit.decision_rule in text.replace("&#x27;", "'")
    for question in ("Erased:", "Collateral:", "Utility:"):
        assert question in text[:text.index("<h2>Plots")]
    for test in record.tests.passed:
        assert test in text[:text.index("<h2>Plots")]
    assert record.integrity.record_sha256 in text and record.method.code_version in text


def test_plotly_html_loads_nothing_from_outside(record):
    text = render_html(record, figures="plotly")
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text)
    assert tags and all("src=" not in t and "href=" not in t for t in tags)
    # plotly.js's own source names URLs it fetches only for map and geo traces (none here)
    assert text.count("Plotly.newPlot") == 3


def _render_first_page(pdf, tmp_path) -> None:
    """Render page 1 to PNG with pdftoppm when installed, else check the PDF's structure."""
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
    if shutil.which("pdftoppm") is None:
        assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
        return
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, capture_output=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000


@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
def test_pdf_renders_with_chromium(record, tmp_path):
    html = write_html(record, tmp_path / "report.html", pdf_renderer="chromium")
    assert write_pdf(record, tmp_path / "report.pdf", html_path=html) == "chromium"
    _render_first_page(tmp_path / "report.pdf", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page-1.png", "report.html",
                                                          "report.pdf"]


def test_pdf_falls_back_to_matplotlib_without_chromium(record, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(tmp_path / "no-browser"))
    html = write_html(record, tmp_path / "report.html")
    used = write_pdf(record, tmp_path / "report.pdf", html_path=html)
    assert used == "matplotlib (no chromium installed)"
    _render_first_page(tmp_path / "report.pdf", tmp_path)
    with pytest.raises(ValueError, match="no chromium installed"):
        write_pdf(record, tmp_path / "other.pdf", html_path=html, renderer="chromium")
    assert not (tmp_path / "other.pdf").exists()


def test_a_failing_chromium_falls_back(record, tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(fake))
    html = write_html(record, tmp_path / "report.html")
    used = write_pdf(record, tmp_path / "report.pdf", html_path=html)
    assert used.startswith("matplotlib (chromium failed")
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chromium", "report.html", "report.pdf"]


@pytest.mark.parametrize("plot", [plots.plot_confidence, plots.plot_roc, plots.plot_drift])
def test_plots_make_both_kinds_of_figure(plot):
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

    result = clinic_erasure()[-1]
    fig = plot(result)
    assert isinstance(fig, go.Figure) and fig.data
    static = plot(result, backend="matplotlib")
    assert isinstance(static, Figure) and static.axes


def test_roc_is_log_log_with_every_model_and_attack():
    result = clinic_erasure()[-1]
    fig = plots.plot_roc(result)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    names = " ".join(t.name for t in fig.data)
    for part in ("LOSS original", "RMIA unlearned", "gold standard"):
        assert part in names
    assert all(min(t.x) > 0 for t in fig.data)


def test_no_erased_id_appears_in_a_report(record):
    from workbench.evidence.report_html import redact_ids

    ids = record.erased.record_ids
    command = f"workbench erase --sample clinic --ids {','.join(ids)} --out x"
    with_ids = dataclasses.replace(record, method=dataclasses.replace(record.method,
                                                                      command=command))
    text = re.sub(r"<svg.*?</svg>", "", render_html(with_ids), flags=re.S)  # figures: numbers
    found = [i for i in ids if re.search(rf"(?<![\w.]){re.escape(i)}(?![\w])", text)]
    assert found == []
    assert f"<{len(ids)} record ids, not shown>" in redact_ids(command)
