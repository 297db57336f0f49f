"""Export the evidence of the last run: JSON record, HTML and PDF reports, model files."""

from __future__ import annotations

import html
import importlib
import json
from pathlib import Path
from typing import Any

import ipywidgets as W

import workbench as wb
from workbench.hashing import sha256_file
from workbench.widgets import figures
from workbench.widgets.common import Messages, guarded
from workbench.widgets.run import Outcome

FORMATS = ("JSON", "HTML", "PDF")


def _evidence() -> Any | None:
    """``workbench.evidence`` when it is installed and complete, else None."""
    try:
        module = importlib.import_module("workbench.evidence")
    except ImportError:
        return None
    needed = ("build_record", "save_record", "write_html", "write_pdf")
    return module if all(hasattr(module, n) for n in needed) else None


def export_evidence(outcome: Outcome, folder: str | Path, formats: tuple[str, ...] = FORMATS,
                    *, model_name: str = "model", records_source: str | None = None,
                    model_file: str | None = None, request: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Path], str]:
    """Save the unlearned (and gold-standard) model and the evidence in ``formats``.

    ``records_source`` names the records as evidence records do (``sample:NAME``, default
    ``sample:<table name>``); ``model_file`` is the original model's file, if not a sample.
    Returns the written files by role and a note on what was (not) produced.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"choose formats from {list(FORMATS)}, got {list(formats)}")
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    files = {"model": wb.save_model(outcome.unlearned.model,
                                    folder / "model-after-erasure.safetensors")}
    if outcome.gold is not None:
        files["gold_standard"] = wb.save_model(outcome.gold.model,
                                               folder / "gold-standard.safetensors")
    evidence = _evidence()
    if evidence is None:
        return files | _fallback(outcome, folder, formats, files), (
            "workbench.evidence is not available: wrote the raw results (JSON) and a plain "
            "HTML scorecard; no sealed record or PDF.")
    record = evidence.build_record(
        unlearned=outcome.unlearned, audit_result=outcome.audit, forget=outcome.forget,
        original=outcome.original, request=request or {}, model_name=model_name,
        records_source=records_source or f"sample:{outcome.table.name}",
        before_file=model_file, after_file=files["model"].name,
        after_file_sha256=sha256_file(files["model"]), gold=outcome.gold,
        gold_file=files["gold_standard"].name if "gold_standard" in files else None,
        gold_file_sha256=(sha256_file(files["gold_standard"]) if "gold_standard" in files
                          else None),
        reference_models=outcome.audit.reference.count if outcome.audit.reference else 0,
        command="workbench.widgets (notebook 01)")
    record = record.sealed(ledger_sequence=None, previous_sha256=None)
    note = "sealed evidence record (not appended to a ledger)"
    if "JSON" in formats:
        files["json"] = Path(evidence.save_record(record, folder / "evidence.json"))
    if "HTML" in formats or "PDF" in formats:
        files["html"] = Path(evidence.write_html(record, folder / "report.html"))
    if "PDF" in formats:
        renderer = evidence.write_pdf(record, folder / "report.pdf", html_path=files["html"])
        files["pdf"] = folder / "report.pdf"
        note += f"; PDF rendered with {renderer}"
    return files, note


def _fallback(outcome: Outcome, folder: Path, formats: tuple[str, ...],
              models: dict[str, Path]) -> dict[str, Path]:
    out = {}
    if "JSON" in formats:
        data = {"unlearn": outcome.unlearned.to_dict(), "audit": outcome.audit.to_dict(),
                "gold_standard": outcome.gold.to_dict() if outcome.gold else None,
                "files": {k: {"path": p.name, "sha256": sha256_file(p)}
                          for k, p in models.items()}}
        out["json"] = folder / "results.json"
        out["json"].write_text(json.dumps(data, indent=2, sort_keys=True))
    if "HTML" in formats:
        out["html"] = folder / "scorecard.html"
        out["html"].write_text("<!doctype html><meta charset='utf-8'>"
                               + figures.scorecard_html(outcome.audit))
    return out


class ExportPanel:
    """Choose formats and a folder, then export the last result."""

    def __init__(self, get_outcome, folder: str = "evidence", model_name: str = "model") -> None:
        self.get_outcome, self.model_name = get_outcome, model_name
        self.records_source: str | None = None
        self.model_file: str | None = None
        self.messages = Messages()
        self.formats = W.SelectMultiple(options=FORMATS, value=FORMATS, rows=3,
                                        description="Formats")
        self.folder = W.Text(value=folder, description="Folder")
        self.reference = W.Text(placeholder="request reference, e.g. DSR-2026-0042",
                                description="Request")
        self.export_button = W.Button(description="Export evidence", icon="download")
        self.export_button.on_click(self.export)
        self.files: dict[str, Path] = {}
        self.listing = W.HTML()
        self.widget = W.VBox([W.HBox([self.formats, W.VBox([self.folder, self.reference])]),
                              self.export_button, self.listing, self.messages.widget])

    @guarded
    def export(self, _button: W.Button | None = None) -> None:
        outcome = self.get_outcome()
        if outcome is None:
            raise ValueError("nothing to export yet: run an erasure first")
        files, note = export_evidence(outcome, self.folder.value, tuple(self.formats.value),
                                      model_name=self.model_name,
                                      records_source=self.records_source,
                                      model_file=self.model_file,
                                      request={"reference": self.reference.value})
        self.files = files
        items = "".join(f"<li>{k}: <code>{html.escape(str(p))}</code></li>"
                        for k, p in files.items())
        self.listing.value = f"<ul>{items}</ul>"
        self.messages.note(f"Exported: {note}.")
