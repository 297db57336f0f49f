"""Export the evidence of the last run through the pipeline's one writer.

Each export goes to a new folder (``<folder>/<request reference or "request">-<UTC time>``),
appends the record to the ledger and names the operator, exactly as ``workbench erase``
does. A result that does not belong to the model and records loaded now is refused.
"""

from __future__ import annotations

import base64
import getpass
import html
import re
import time
from collections.abc import Callable
from pathlib import Path

import ipywidgets as W

from workbench.pipeline import (
    ErasureOutcome,
    Evidence,
    EvidenceOptions,
    check_writable,
    write_evidence,
)
from workbench.widgets.common import Messages, guarded, readable

Loaded = Callable[[], tuple[object, object]]  # -> (model, table) loaded now


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def request_folder(root: str | Path, reference: str) -> Path:
    """A new folder under ``root`` for one request: never an existing one."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", reference.strip()) or "request"
    base = Path(root).expanduser() / f"{stem}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def export_evidence(outcome: ErasureOutcome, root: str | Path, *,
                    ledger: Path | None = None, operator: str | None = None) -> Evidence:
    """Write ``outcome``'s evidence into a new folder under ``root`` and onto the ledger."""
    folder = request_folder(root, outcome.request.ticket.get("reference", ""))
    options = EvidenceOptions(operator=operator or operator_name(),
                              command="workbench.widgets (notebook 01): run_request + "
                                      "write_evidence")
    return write_evidence(outcome, folder, ledger=ledger, options=options)


class ExportPanel:
    """Export the last result: a new folder per request, the record on the ledger."""

    def __init__(self, get_outcome: Callable[[], ErasureOutcome | None], loaded: Loaded,
                 folder: str = "evidence", ledger: Path | None = None) -> None:
        self.get_outcome, self.loaded, self.ledger = get_outcome, loaded, ledger
        self.messages = Messages()
        self.folder = W.Text(value=folder, description="Folder", continuous_update=False,
                             tooltip="each export goes to a new folder inside this one")
        self.folder_hint = W.HTML()  # a folder that cannot be written, said next to it
        self.folder.observe(self._folder_changed, names="value")
        self.export_button = W.Button(description="Export evidence", icon="download")
        self.export_button.on_click(self.export)
        self.files: dict[str, Path] = {}
        self.listing = W.HTML()
        self.widget = W.VBox([W.HBox([self.folder, self.folder_hint]), self.export_button,
                              self.listing, self.messages.widget])

    def clear(self) -> None:
        """Take the last export's listing off the screen (its result is gone)."""
        self.listing.value, self.files = "", {}
        self.messages.clear()

    def check_folder(self) -> None:
        """Refuse, next to the field and in words, a folder that cannot be written."""
        self.folder_hint.value = ""
        try:
            folder = self.folder.value.strip()
            if not folder:
                raise ValueError("name a folder for the evidence")
            check_writable(Path(folder), "folder")
        except ValueError as error:
            self.folder_hint.value = ("<span class='wb-field-error' style='color:#cf222e'>"
                                      f"{html.escape(str(error))}</span>")
            raise

    @guarded
    def _folder_changed(self, _change: dict | None = None) -> None:
        self.clear()
        self.check_folder()

    @guarded
    def export(self, _button: W.Button | None = None) -> None:
        self.clear()
        self.check_folder()
        outcome = self.get_outcome()
        if outcome is None:
            raise ValueError("nothing to export yet: run an erasure first")
        model, table = self.loaded()
        if outcome.request.model is not model or outcome.request.table is not table:
            raise ValueError("the result on screen was made with another model or records "
                             "than the ones loaded now; run the request again before exporting")
        try:
            written = export_evidence(outcome, self.folder.value, ledger=self.ledger)
        except OSError as error:  # a folder the checks could not foresee (e.g. /proc, a race)
            self.folder_hint.value = ("<span class='wb-field-error' style='color:#cf222e'>"
                                      f"{html.escape(readable(error))}</span>")
            raise
        self.files = written.files
        items = "".join(f"<li>{html.escape(k)}: {_download(p)}</li>"
                        for k, p in written.files.items())
        seq = written.record.integrity.ledger_sequence
        advice = html.escape(outcome.next_step)
        self.listing.value = f"<ul>{items}</ul><p><b>Next step.</b> {advice}</p>"
        self.messages.note(f"Exported to a new folder; ledger entry {seq}, PDF rendered with "
                           f"{written.pdf_renderer}.")


INLINE_LIMIT = 5_000_000  # bytes: smaller files are offered as a download in the page itself
MIME = {".json": "application/json", ".html": "text/html", ".pdf": "application/pdf",
        ".safetensors": "application/octet-stream"}


def _download(path: Path) -> str:
    """A download link that works in JupyterLab and Voila alike (the file inlined as a data
    URL, so no server route is needed), and the file's path."""
    shown = html.escape(str(path))
    if not path.is_file() or path.stat().st_size > INLINE_LIMIT:
        return f"<code>{shown}</code>"
    data = base64.b64encode(path.read_bytes()).decode()
    mime = MIME.get(path.suffix, "application/octet-stream")
    return (f"<a download='{html.escape(path.name)}' href='data:{mime};base64,{data}'>"
            f"download {html.escape(path.name)}</a> <code>{shown}</code>")
