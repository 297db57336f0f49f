"""The request's life in the notebook: approve, reject, deployed, answered, close, status.

Each button calls :func:`workbench.evidence.lifecycle.advance` (a signed step on the ledger,
the same as ``workbench approve`` and the others) and shows the case as ``workbench status``
prints it. An error (a step out of order, a FAIL without an override reason) appears in
words and nothing is written.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from workbench.evidence.keys import load_key
from workbench.evidence.ledger import default_ledger_path, default_witness_path
from workbench.evidence.lifecycle import StepNote, advance, find_case, status_lines
from workbench.widgets.common import Messages, guarded
from workbench.widgets.export import operator_name

STEPS = {"Approve": "approved", "Reject": "rejected", "Deployed": "deployed",
         "Answered": "answered", "Close": "closed"}


class CasePanel:
    """A request reference, a reason, an override reason, one button per step, the status."""

    def __init__(self, ledger: Path | None = None, key: Path | None = None) -> None:
        self.ledger, self.key = ledger, key
        self.messages = Messages()
        self.request = W.Text(description="Request", placeholder="reference or record hash")
        self.reason = W.Text(description="Reason", placeholder="why (needed to reject)")
        self.override = W.Text(description="Override", placeholder="why a FAIL is approved "
                                                                   "anyway (shown in red)")
        self.buttons = {label: W.Button(description=label) for label in STEPS}
        for label, button in self.buttons.items():
            button.on_click(lambda _b, step=STEPS[label]: self.step(step))
        self.status_button = W.Button(description="Status", icon="list")
        self.status_button.on_click(self.status)
        self.view = W.HTML()
        self.widget = W.VBox([W.HBox([self.request, self.status_button]), self.reason,
                              self.override, W.HBox(list(self.buttons.values())), self.view,
                              self.messages.widget])

    def _show(self, lines: list[str]) -> None:
        body = "".join(
            f"<div style='color:#cf222e;font-weight:bold'>{html.escape(line)}</div>"
            if "OVERRIDE" in line or "MISSED" in line else f"<div>{html.escape(line)}</div>"
            for line in lines)
        self.view.value = f"<pre style='white-space:pre-wrap'>{body}</pre>"

    @guarded
    def step(self, step: str) -> None:
        self.view.value = ""
        note = StepNote(reason=self.reason.value, override=self.override.value)
        case = advance(self.ledger or default_ledger_path(), self.request.value.strip(), step,
                       key=load_key(self.key), actor=operator_name(), note=note,
                       witness=default_witness_path())
        self._show(status_lines(case))
        self.messages.note(f"Recorded: {step}, signed and on the ledger.")

    @guarded
    def status(self, _button: W.Button | None = None) -> None:
        self.view.value = ""
        self._show(status_lines(find_case(self.ledger or default_ledger_path(),
                                          self.request.value.strip())))
        self.messages.clear()
