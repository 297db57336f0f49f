"""Run an erasure request in the background, with a progress bar and a Cancel button."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
from torch import nn

import workbench as wb
from workbench.records import ForgetSet, RecordTable
from workbench.widgets.common import Cancelled, Messages, guarded, readable

Report = Callable[[float, str], None]


@dataclass(frozen=True)
class Outcome:
    """One finished request: the unlearning run, the gold standard (if built) and the audit."""

    unlearned: wb.UnlearnResult
    gold: wb.UnlearnResult | None
    audit: wb.AuditResult
    original: nn.Module
    table: RecordTable
    forget: ForgetSet
    seconds: float


def run_erasure(model: nn.Module, table: RecordTable, forget: ForgetSet, *, method: str,
                params: Any = None, device: str = "auto", gold_standard: bool = True,
                attacks: tuple[str, ...] = ("loss",), reference_models: int = 4, seed: int = 0,
                needs_retain: bool | None = None, progress: Report | None = None) -> Outcome:
    """``unlearn`` (and the ``retrain`` gold standard), then ``audit``: the three public calls.

    ``progress(fraction, message)`` is called often; raising in it stops the run.
    """
    start = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    stages = ([("unlearn", 0.45)] + ([("gold", 0.25)] if gold_standard else [])
              + [("audit", 0.3)])
    spans, at = {}, 0.0
    total = sum(w for _, w in stages)
    for name, weight in stages:
        spans[name] = (at / total, weight / total)
        at += weight

    def stage(name: str, label: str) -> Callable[[int, int, str], None]:
        begin, width = spans[name]
        return lambda step, steps, message: report(begin + width * step / max(steps, 1),
                                                   f"{label}: {message}")

    if needs_retain is None:
        needs_retain = wb.get_unlearner(method).data_access.needs_retain
    retain = table.retain_for(forget) if needs_retain else None
    report(0.0, f"{method}: starting")
    unlearned = wb.unlearn(model, forget, method=method, params=params, retain=retain,
                           device=device, seed=seed, progress=stage("unlearn", method))
    gold = None
    if gold_standard:
        report(spans["gold"][0], "gold standard: retraining without the records")
        gold = wb.unlearn(model, forget, method="retrain", retain=table.retain_for(forget),
                          device=device, seed=seed, progress=stage("gold", "gold standard"))
    report(spans["audit"][0], "audit: starting")
    audit = wb.audit(model, unlearned, records=table, forget=forget, reference=gold,
                     attacks=attacks, reference_models=reference_models, seed=seed,
                     progress=stage("audit", "audit"))
    report(1.0, "done")
    return Outcome(unlearned, gold, audit, model, table, forget,
                   round(time.perf_counter() - start, 2))


class RunPanel:
    """Run and Cancel buttons, a progress bar and a status line.

    ``request()`` returns the keyword arguments of :func:`run_erasure` (raising ``ValueError``
    with a readable message when something is missing); ``on_result`` receives the outcome.
    With ``background=False`` the run happens inside the click (tests, scripts).
    """

    def __init__(self, request: Callable[[], dict[str, Any]],
                 on_result: Callable[[Outcome], None], *, background: bool = True) -> None:
        self.request, self.on_result, self.background = request, on_result, background
        self.messages = Messages()
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="Progress")
        self.status = W.Label(value="Ready.")
        self.run_button.on_click(self.run)
        self.cancel_button.on_click(self.cancel)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.widget = W.VBox([W.HBox([self.run_button, self.cancel_button, self.progress]),
                              self.status, self.messages.widget])

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @guarded
    def run(self, _button: W.Button | None = None) -> None:
        if self.running:
            raise ValueError("a run is already in progress; cancel it or wait")
        kwargs = self.request()
        self._cancel.clear()
        self.messages.clear()
        self.last_error = None
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style = 0.0, ""
        self.status.value = "Starting…"
        if self.background:
            self._thread = threading.Thread(target=self._work, args=(kwargs,), daemon=True,
                                            name="workbench-run")
            self._thread.start()
        else:
            self._work(kwargs)

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

    def _work(self, kwargs: dict[str, Any]) -> None:
        try:
            outcome = run_erasure(**kwargs, progress=self._progress)
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
