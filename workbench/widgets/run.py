"""Run an erasure request in the background, with a progress bar and a Cancel button."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
from torch import nn

from workbench.audit.gold import DEFAULT_GOLD_COUNT
from workbench.pipeline import (
    ErasureOutcome,
    ErasureRequest,
    Selection,
    check_request,
    run_request,
)
from workbench.records import ForgetSet, RecordTable
from workbench.widgets.common import Cancelled, Messages, guarded, readable

Report = Callable[[float, str], None]


Outcome = ErasureOutcome  # one finished request (kept name for notebooks and scripts)
WEIGHTS = {"unlearn": 0.3, "gold standard": 0.5, "audit": 0.2}  # share of the bar per stage


def staged(report: Report, gold: bool) -> Callable[[str], Callable[[int, int, str], None]]:
    """A ``run_request`` stage function that moves one bar through every stage in turn."""
    stages = [s for s in WEIGHTS if gold or s != "gold standard"]
    total = sum(WEIGHTS[s] for s in stages)
    starts, at = {}, 0.0
    for name in stages:
        starts[name], at = (at / total, WEIGHTS[name] / total), at + WEIGHTS[name]

    def stage(label: str) -> Callable[[int, int, str], None]:
        begin, width = starts[next(s for s in stages if label.startswith(s))]
        report(begin, f"{label}: starting")
        return lambda step, steps, message: report(begin + width * step / max(steps, 1),
                                                    f"{label}: {message}")
    return stage


def run_erasure(model: nn.Module, table: RecordTable, forget: ForgetSet | Selection, *,
                method: str = "synthetic", params: Any = None, device: str = "auto",
                gold_standard: bool = True, gold_models: int = DEFAULT_GOLD_COUNT,
                attacks: tuple[str, ...] = ("loss",), reference_models: int = 4,
                seed: int = 0, progress: Report | None = None, **request: Any) -> Outcome:
    """:func:`workbench.pipeline.run_request` from notebook arguments (``forget``: a
    selection, or a forget set, recorded by its ids or classes). ``progress(fraction,
    message)`` is called often; raising in it stops the run."""
    selection = forget if isinstance(forget, Selection) else (
        Selection.of_classes([table.schema.classes[c] for c in forget.classes])
        if forget.is_class_request else Selection.by_ids(forget.ids))
    erasure = ErasureRequest(model=model, table=table, selection=selection, method=method,
                             params=params.to_dict() if hasattr(params, "to_dict") else params,
                             device=device, gold_models=gold_models if gold_standard else 0,
                             attacks=tuple(attacks), shadow_models=reference_models, seed=seed,
                             **request)
    report = progress or (lambda fraction, message: None)
    outcome = run_request(erasure, staged(report, bool(erasure.gold_models)))
    report(1.0, "done")
    return outcome


class RunPanel:
    """Run and Cancel buttons, a progress bar and a status line.

    ``request()`` returns the :class:`~workbench.pipeline.ErasureRequest` to run (raising
    ``ValueError`` with a readable message when something is missing); ``on_result``
    receives the outcome.
    With ``background=False`` the run happens inside the click (tests, scripts).
    """

    def __init__(self, request: Callable[[], ErasureRequest],
                 on_result: Callable[[Outcome], None], *, background: bool = True) -> None:
        self.request, self.on_result, self.background = request, on_result, background
        self.messages = Messages()
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="Progress")
        self.status = W.Label(value="Ready.")
        self.reference = W.Text(placeholder="e.g. DSR-2026-0042", description="Request ref.",
                                tooltip="the data subject's request this erasure answers; it "
                                        "names the evidence folder and goes into the record")
        self.run_button.on_click(self.run)
        self.cancel_button.on_click(self.cancel)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.widget = W.VBox([self.reference,
                              W.HBox([self.run_button, self.cancel_button, self.progress]),
                              self.status, self.messages.widget])

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @guarded
    def run(self, _button: W.Button | None = None) -> None:
        if self.running:
            raise ValueError("a run is already in progress; cancel it or wait")
        erasure = self.request()
        check_request(erasure)  # bad input: refused here, before the thread starts
        self._cancel.clear()
        self.messages.clear()
        self.last_error = None
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style = 0.0, ""
        self.status.value = "Starting…"
        if self.background:
            self._thread = threading.Thread(target=self._work, args=(erasure,), daemon=True,
                                            name="workbench-run")
            self._thread.start()
        else:
            self._work(erasure)

    @guarded
    def cancel(self, _button: W.Button | None = None) -> None:
        self._cancel.set()
        self.status.value = "Cancelling…"

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background run ends (for scripts, tests and notebooks)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the run did not finish within {timeout} s")

    def _progress(self, fraction: float, message: str) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")
        self.progress.value = min(max(fraction, 0.0), 1.0)
        self.status.value = message

    def _work(self, erasure: ErasureRequest) -> None:
        try:
            outcome = run_request(erasure, staged(self._progress, bool(erasure.gold_models)))
            self._progress(1.0, "done")
            self.on_result(outcome)
        except Cancelled:
            self.progress.bar_style = "warning"
            self.status.value = "Cancelled; the previous result (if any) is still shown."
            self.messages.note("Run cancelled. Nothing was changed.")
        except Exception as error:  # noqa: BLE001 - shown in the panel, never swallowed
            self.last_error = readable(error)
            self.progress.bar_style = "danger"
            self.status.value = "Failed; the previous result (if any) is still shown."
            self.messages.show_error(error)
        else:
            self.progress.bar_style = "success"
            self.status.value = (f"Done in {outcome.seconds:.1f} s: {outcome.unlearned.method} "
                                 f"on {outcome.unlearned.device}, verdict {outcome.audit.overall}.")
        finally:
            self.run_button.disabled, self.cancel_button.disabled = False, True
