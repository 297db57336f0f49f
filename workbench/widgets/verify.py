"""The auditor's panel: open an evidence record, check its hashes, re-run its tests.

The button calls ``workbench.evidence.verify_record`` (record seal and signature, model
files and weights, the records, then an independent re-run of the audit whose verdicts must
match) and shows its checks.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as W

from workbench.widgets.common import Messages, guarded


def verification_html(report: Any) -> str:
    """The checks of a ``VerifyReport`` as a table, headed by whether the verdict reproduces."""
    def colour(ok: bool, detail: str) -> str:  # an accepted unsigned record is red too
        return "#1a7f37" if ok and "NOT SIGNED" not in detail else "#cf222e"

    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        f"<td style='color:{colour(ok, detail)};font-weight:bold'>"
        f"{'✓ ok' if ok else '✗ failed'}</td><td style='color:{colour(ok, detail)}'>"
        f"{html.escape(detail)}</td></tr>"
        for name, ok, detail in report.checks)
    verdict = ("<span style='color:#1a7f37'>the hashes match and the verdict reproduces</span>"
               if report.ok else "<span style='color:#cf222e'>verification FAILED</span>")
    return (f"<div class='wb-verify'><h3>Verification: {verdict}</h3><table border='1' "
            f"cellpadding='4' style='border-collapse:collapse'><tr><th>check</th><th></th>"
            f"<th>detail</th></tr>{rows}</table></div>")


class VerifyPanel:
    """A path box and a Verify button; the table of checks appears below.

    ``options`` go to ``verify_record`` (``ledger=``, ``trusted_key=``, ``cache_dir=``,
    ...). Every new check, and every change of the path, first takes the previous result off
    the screen: a failure never sits under a leftover success.
    """

    def __init__(self, path: str | Path = "", **options: Any) -> None:
        self.options = options
        self.messages = Messages()
        self.path = W.Text(value=str(path), description="Record",
                           placeholder="evidence/evidence.json", layout={"width": "90%"})
        self.verify_button = W.Button(description="Verify", button_style="primary")
        self.verify_button.on_click(self.verify)
        self.result: Any = None
        self.report = W.HTML()
        self.path.observe(lambda _change: self.clear(), names="value")
        self.widget = W.VBox([self.path, self.verify_button, self.report, self.messages.widget])

    def clear(self) -> None:
        """No result on screen (the input changed, or a new check starts)."""
        self.result, self.report.value = None, ""
        self.messages.clear()

    def verify(self, _button: W.Button | None = None) -> None:
        self.clear()  # before anything can fail: no stale "verified" under a new error
        self._verify()

    @guarded
    def _verify(self) -> None:
        from workbench.evidence import verify

        self.messages.note("Checking hashes and re-running the tests…")
        self.result = verify.verify_record(self.path.value, **self.options)
        self.report.value = verification_html(self.result)
        self.messages.clear()
