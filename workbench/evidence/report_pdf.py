"""The PDF report: the HTML report printed by headless chromium, or a matplotlib fallback.

``renderer="auto"`` uses chromium when one is installed (``$WORKBENCH_CHROMIUM`` or
``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH) and otherwise, or when it
fails, writes a matplotlib PDF (the plain summary, every test and the static figures). The
renderer used is returned and stated in the report. Chromium runs offline: no network, no
sync, no updates. Pages are A4 by default (``paper="Letter"`` on request) and each carries
the request, the record's SHA-256 and "page X of Y" (chromium 131 or later prints the CSS
``@page`` margin boxes that hold them).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import Literal

from workbench.atomic import atomic_path
from workbench.audit.summary import HEADER, verdict_rows, yardstick_text
from workbench.evidence.plain import plain_summary
from workbench.evidence.record import AuditRecord
from workbench.evidence.report_html import Paper, write_html
from workbench.labels import label_for_test
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


PAPER_INCHES = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
LINES_PER_PAGE = 74
WRAP = 104


def write_pdf(record: AuditRecord, pdf_path: str | Path, *, html_path: str | Path | None = None,
              renderer: Renderer = "auto", paper: Paper = "A4") -> str:
    """Write the PDF report atomically; return the renderer used (``chromium`` or
    ``matplotlib (...)``).

    Chromium prints a print copy of the HTML report rendered from ``record`` (static figures,
    ``paper`` size, "chromium" named as the renderer); ``html_path``, the on-screen report
    written beside it, is not needed for that and is accepted for callers that pass it.
    ``paper``: ``"A4"`` (default) or ``"Letter"``. Every page carries the request, the record's
    SHA-256 and "page X of Y".
    """
    del html_path  # the PDF is printed from its own copy of the report
    if renderer not in ("auto", "chromium", "matplotlib"):
        raise ValueError(f"renderer must be auto, chromium or matplotlib, got {renderer!r}")
    if paper not in PAPER_INCHES:
        raise ValueError(f"paper must be one of {tuple(PAPER_INCHES)}, got {paper!r}")
    reason = "chosen"
    if renderer != "matplotlib":
        browser = find_chromium()
        if browser is None:
            reason = "no chromium installed"
            if renderer == "chromium":
                raise ValueError(f"cannot render the PDF with chromium: {reason}")
        else:
            try:
                _chromium(browser, record, Path(pdf_path), paper)
                return "chromium"
            except (OSError, subprocess.SubprocessError, ValueError) as error:
                if renderer == "chromium":
                    raise ValueError(f"chromium failed to print the PDF: {error}") from None
                reason = f"chromium failed: {str(error)[:200]}"
    used = f"matplotlib ({reason})"
    _matplotlib(record, Path(pdf_path), paper, used)
    return used


def _chromium(browser: str, record: AuditRecord, pdf_path: Path, paper: Paper) -> None:
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as folder, \
            atomic_path(pdf_path) as tmp:
        tmp.unlink()
        page = write_html(record, Path(folder) / "print.html", pdf_renderer="chromium",
                          figures="svg", paper=paper)
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={Path(folder) / 'profile'}",
                        f"--print-to-pdf={tmp}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=CHROMIUM_TIMEOUT_S,
                       stdin=subprocess.DEVNULL)
        if not tmp.is_file() or tmp.read_bytes()[:5] != b"%PDF-":
            raise ValueError("chromium exited without writing a PDF")


def _text_lines(record: AuditRecord, used: str) -> list[str]:
    """The plain summary, every test and the integrity block as wrapped lines."""
    s, result = plain_summary(record), record.tests.audit
    parts = ["IN PLAIN WORDS", f"Erasure: {record.tests.overall}", "",
             f"What was asked. {s.asked}", f"What was done. {s.done}", ""]
    for a in s.answers:
        parts += [f"{a.question} {a.status}. {a.answer}", *(f"  - {r}" for r in a.reasons)]
    parts += ["", f"Next step. {s.next_step}", "", "Good to know.", f"  - {s.power}",
              f"  - {s.flags}", *(f"  - {n}" for n in (*s.drift_lines, *s.notes)), "",
              "Accuracy per class (unseen records): before / after / retrained",
              *(f"  {r.name}: {r.original or 0:.3f} / {r.unlearned or 0:.3f} / "
                f"{'-' if r.gold_standard is None else f'{r.gold_standard:.3f}'}"
                for r in s.class_drift), "", f"Decision rule. {s.rule}", "",
              "EVERY TEST", f"{yardstick_text(result)}"]
    for row in verdict_rows(result):
        parts.append(f"  {label_for_test(row[1]).label} ({row[1]}): " + "; ".join(
            f"{h} {c}" for h, c in zip(HEADER[2:], row[2:], strict=True)))
    parts += ["", f"Limitations. {record.tests.limitations}", "",
              f"Record SHA-256 {record.integrity.record_sha256}",
              f"PDF renderer: {used}; static fallback, the HTML report has the full tables."]
    lines = []
    for part in parts:
        indent = "    " if part.startswith("  ") else ""
        lines += textwrap.wrap(part, WRAP, subsequent_indent=indent) or [""]
    return lines


def _matplotlib(record: AuditRecord, pdf_path: Path, paper: Paper, used: str) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    result, size = record.tests.audit, PAPER_INCHES[paper]
    lines = _text_lines(record, used)
    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    plots = (plot_confidence, plot_roc, plot_drift)
    total = len(chunks) + len(plots)
    with atomic_path(pdf_path) as tmp, PdfPages(tmp) as pdf:
        for n, chunk in enumerate(chunks, 1):
            page = Figure(figsize=size)
            page.text(0.06, 0.94, "\n".join(chunk), va="top", fontsize=7, family="monospace")
            pdf.savefig(_margins(page, record, n, total))
        for n, plot in enumerate(plots, len(chunks) + 1):
            buffer = io.BytesIO()  # the figure as drawn, legend below it, as a 200 dpi image
            plot(result, backend="matplotlib").savefig(buffer, format="png", dpi=200)
            buffer.seek(0)
            page = Figure(figsize=size)
            ax = page.add_axes((0.06, 0.4, 0.88, 0.54))
            ax.imshow(imread(buffer, format="png"), interpolation="lanczos")
            ax.set_anchor("N")
            ax.axis("off")
            pdf.savefig(_margins(page, record, n, total))


def _margins(page, record: AuditRecord, n: int, total: int):
    """The request, the verdict, the record's SHA-256 and "page n of total" on ``page``."""
    style = {"fontsize": 7, "color": "#555555"}
    page.text(0.06, 0.975, f"Erasure audit {record.request.reference or '-'}", **style)
    page.text(0.94, 0.975, f"Erasure: {record.tests.overall}", ha="right", **style)
    page.text(0.06, 0.02, f"record SHA-256 {record.integrity.record_sha256 or 'not sealed'}",
              **style)
    page.text(0.94, 0.02, f"page {n} of {total}", ha="right", **style)
    return page
