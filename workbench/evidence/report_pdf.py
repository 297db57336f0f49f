"""The PDF report: the HTML report printed by headless chromium, or a matplotlib fallback.

``renderer="auto"`` uses chromium when one is installed (``$WORKBENCH_CHROMIUM`` or
``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH) and otherwise, or when it
fails, writes a matplotlib PDF (scorecard table and the static figures). The renderer used is
returned and stated in the report. Chromium runs offline: no network, no sync, no updates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import Literal

from workbench.atomic import atomic_path
from workbench.audit.summary import HEADER, question_lines, verdict_rows, yardstick_text
from workbench.evidence.record import AuditRecord
from workbench.plots import plot_confidence, plot_drift, plot_roc

Renderer = Literal["auto", "chromium", "matplotlib"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_TIMEOUT_S = 120
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic",
                  "--no-first-run", "--disable-extensions", "--no-pdf-header-footer",
                  "--virtual-time-budget=15000")


def find_chromium() -> str | None:
    """Path of a chromium-family browser, or None."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def planned_renderer(renderer: Renderer = "auto") -> str:
    """The renderer ``write_pdf`` will try first."""
    if renderer == "auto":
        return "chromium" if find_chromium() else "matplotlib"
    return renderer


def write_pdf(record: AuditRecord, pdf_path: str | Path, *, html_path: str | Path | None = None,
              renderer: Renderer = "auto") -> str:
    """Write the PDF report atomically; return the renderer used (``chromium`` or
    ``matplotlib (...)``). ``html_path`` is the HTML report chromium prints."""
    if renderer not in ("auto", "chromium", "matplotlib"):
        raise ValueError(f"renderer must be auto, chromium or matplotlib, got {renderer!r}")
    reason = "chosen"
    if renderer != "matplotlib":
        browser = find_chromium()
        if browser is None or html_path is None:
            reason = "no chromium installed" if browser is None else "no HTML report to print"
            if renderer == "chromium":
                raise ValueError(f"cannot render the PDF with chromium: {reason}")
        else:
            try:
                _chromium(browser, Path(html_path), Path(pdf_path))
                return "chromium"
            except (OSError, subprocess.SubprocessError, ValueError) as error:
                if renderer == "chromium":
                    raise ValueError(f"chromium failed to print the PDF: {error}") from None
                reason = f"chromium failed: {str(error)[:200]}"
    _matplotlib(record, Path(pdf_path))
    return f"matplotlib ({reason})"


def _chromium(browser: str, html_path: Path, pdf_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile, \
            atomic_path(pdf_path) as tmp:
        tmp.unlink()
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        f"--print-to-pdf={tmp}", html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=CHROMIUM_TIMEOUT_S,
                       stdin=subprocess.DEVNULL)
        if not tmp.is_file() or tmp.read_bytes()[:5] != b"%PDF-":
            raise ValueError("chromium exited without writing a PDF")


def _matplotlib(record: AuditRecord, pdf_path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    result = record.tests.audit
    with atomic_path(pdf_path) as tmp, PdfPages(tmp) as pdf:
        page = Figure(figsize=(8.27, 11.69))
        header = (f"Erasure audit {record.request.reference}\nErasure: {record.tests.overall}  "
                  f"({record.erased.count} record(s), model {record.model.name}, method "
                  f"{record.method.name})\n"
                  + "\n".join(f"{status}: {text}" for status, text in question_lines(result))
                  + f"\n{yardstick_text(result)}\nDecision rule: {result.decision_rule}")
        page.text(0.05, 0.97, "\n".join(textwrap.fill(line, 95) for line in header.split("\n")),
                  va="top", fontsize=9, family="monospace")
        rows = [list(r[1:]) for r in verdict_rows(result)]
        ax = page.add_axes((0.05, 0.35, 0.9, 0.4))
        ax.axis("off")
        table = ax.table(cellText=rows, colLabels=list(HEADER[1:]), loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        page.text(0.05, 0.3, textwrap.fill(record.tests.limitations, 110) + "\n\nRecord SHA-256 "
                  f"{record.integrity.record_sha256}\nPDF renderer: matplotlib (static "
                  "fallback; the HTML report has the interactive plots)", va="top", fontsize=7)
        pdf.savefig(page)
        for fig in (plot_confidence(result, backend="matplotlib"),
                    plot_roc(result, backend="matplotlib"),
                    plot_drift(result, backend="matplotlib")):
            pdf.savefig(fig)
