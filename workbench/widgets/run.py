"""Run an erasure request in the background, with a progress bar and a Cancel button."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W
from torch import nn

from workbench.deprecation import legacy_keywords
from workbench.labels import label_for_method
from workbench.pipeline import (
    ErasureOutcome,
    ErasureRequest,
    Selection,
    check_request,
    run_request,
)
from workbench.records import ForgetSet, RecordTable
from workbench.widgets.common import Cancelled, Messages, guarded, readable
from workbench.widgets.method import RUN_KEYWORDS, RunSettings

Report = Callable[[float, str], None]


Outcome = ErasureOutcome  # one finished request (kept name for notebooks and scripts)
TICK_S, QUIET_S, CREEP_S = 0.5, 1.0, 20.0  # display refresh, quiet before creeping, pace
WEIGHTS = {"unlearn": 0.3, "gold standard": 0.5, "audit": 0.2}  # share of the bar per stage
_TRAINED = re.compile(r"done \((\d+)/(\d+)")  # an executor's "NAME done (k/K, where)"


def stage_words(label: str) -> str:
    """A pipeline stage label in words: ``unlearn (jit)`` -> ``erasing with Smoothing around
    the records (JiT)``; ``gold standard (8 retrains)`` -> ``training the gold standard``."""
    if label.startswith("unlearn"):
        method = label.partition("(")[2].rstrip(")")
        return f"erasing with {label_for_method(method).label}" if method else "erasing"
    if label.startswith("gold standard"):
        return "training the gold standard"
    return "auditing"


def step_words(label: str, step: int, steps: int, message: str) -> str:
    """One progress report in words: models trained so far, or the step reached."""
    words = stage_words(label)
    trained = _TRAINED.search(message)
    if trained:
        what = "models" if label.startswith("gold standard") else "shadow models"
        return f"{words} ({trained[1]} of {trained[2]} {what} trained)"
    if label.startswith("unlearn"):
        return f"{words} (step {step} of {steps})"
    return f"{words}: {message}"


def staged(report: Report, gold: bool, ahead: Callable[[float], None] | None = None
           ) -> Callable[[str], Callable[[int, int, str], None]]:
    """A ``run_request`` stage function that moves one bar through every stage in turn.

    The bar never moves back; ``ahead(fraction)``, when given, is told where the bar will be
    at the next report, so a display can creep towards it during a long silent step."""
    stages = [s for s in WEIGHTS if gold or s != "gold standard"]
    total = sum(WEIGHTS[s] for s in stages)
    starts, at = {}, 0.0
    for name in stages:
        starts[name], at = (at / total, WEIGHTS[name] / total), at + WEIGHTS[name]
    shown = [0.0]

    def move(fraction: float, upto: float, message: str) -> None:
        shown[0] = max(shown[0], fraction)
        if ahead is not None:
            ahead(max(upto, shown[0]))
        report(shown[0], message)

    def stage(label: str) -> Callable[[int, int, str], None]:
        begin, width = starts[next(s for s in stages if label.startswith(s))]
        first = _first_step(label)
        move(begin, begin + width * first, f"{stage_words(label)}: starting")

        def progress(step: int, steps: int, message: str) -> None:
            steps = max(steps, 1)
            trained = _TRAINED.search(message)
            if trained and not label.startswith("gold standard"):  # shadow models, in audit
                step, steps = int(trained[1]), int(trained[2])
                move(begin + width * 0.25 * (1 + step / steps),
                     begin + width * 0.25 * (1 + min(step + 1, steps) / steps),
                     step_words(label, step, steps, message))
                return
            move(begin + width * step / steps, begin + width * min(step + 1, steps) / steps,
                 step_words(label, step, steps, message))
        return progress
    return stage


def _first_step(label: str) -> float:
    """Where in its stage the first report is expected: one retrain of the gold standard
    (the count is in the label), else a tenth."""
    found = re.search(r"\((\d+) retrains\)", label)
    return 1 / int(found[1]) if found and int(found[1]) else 0.1


@legacy_keywords(moved=RUN_KEYWORDS, options="settings", factory=RunSettings)
def run_erasure(model: nn.Module, table: RecordTable, forget: ForgetSet | Selection, *,
                settings: RunSettings | None = None, params: Any = None, device: str = "auto",
                seed: int = 0, progress: Report | None = None, **request: Any) -> Outcome:
    """:func:`workbench.pipeline.run_request` from notebook arguments (``forget``: a
    selection, or a forget set, recorded by its ids or classes; ``settings``: the method and
    its audit, :class:`~workbench.widgets.method.RunSettings`; ``request``: more
    :class:`~workbench.pipeline.ErasureRequest` fields). ``progress(fraction, message)`` is
    called often; raising in it stops the run."""
    settings = settings or RunSettings()
    selection = forget if isinstance(forget, Selection) else (
        Selection.of_classes([table.schema.classes[c] for c in forget.classes])
        if forget.is_class_request else Selection.by_ids(forget.ids))
    erasure = ErasureRequest(model=model, table=table, selection=selection,
                             method=settings.method,
                             params=params.to_dict() if hasattr(params, "to_dict") else params,
                             device=device,
                             gold_models=settings.gold_models if settings.gold_standard else 0,
                             attacks=tuple(settings.attacks),
                             shadow_models=settings.shadow_models, seed=seed, **request)
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
                 on_result: Callable[[Outcome], None], *, background: bool = True,
                 on_start: Callable[[], None] | None = None) -> None:
        self.request, self.on_result, self.background = request, on_result, background
        self.on_start = on_start  # called when a run starts (the old result leaves the screen)
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
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[float, float, str] = (0.0, 0.0, "")  # time, fraction, message
        self._upto = 0.0  # where the bar will be at the next report
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
        self._done.clear()
        self.messages.clear()
        self.last_error = None
        if self.on_start is not None:
            self.on_start()
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style = 0.0, "info"
        self._last, self._upto = (time.monotonic(), 0.0, "starting"), 0.0
        self.status.value = "Starting…"
        if self.background:
            self._thread = threading.Thread(target=self._work, args=(erasure,), daemon=True,
                                            name="workbench-run")
            self._thread.start()
            threading.Thread(target=self._tick, daemon=True, name="workbench-tick").start()
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
        fraction = min(max(fraction, 0.0), 1.0)
        self._last = (time.monotonic(), fraction, message)
        self.progress.value = max(fraction, self.progress.value)
        self.status.value = message[:1].upper() + message[1:]

    def _ahead(self, upto: float) -> None:
        self._upto = upto

    def creep(self, now: float) -> tuple[float, str] | None:
        """During a quiet step: the bar creeps towards the next report (never reaching it)
        and the status counts the seconds; None while reports are frequent."""
        at, fraction, message = self._last
        quiet = now - at
        if quiet < QUIET_S:
            return None
        value = fraction + 0.9 * (self._upto - fraction) * (1 - math.exp(-quiet / CREEP_S))
        text = message[:1].upper() + message[1:]
        return max(value, fraction), f"{text}, {quiet:.0f} s"

    def _tick(self) -> None:
        while not self._done.wait(TICK_S):
            moved = self.creep(time.monotonic())
            if moved is not None:
                self.progress.value = max(moved[0], self.progress.value)
                self.status.value = moved[1]

    def _work(self, erasure: ErasureRequest) -> None:
        try:
            outcome = run_request(erasure, staged(self._progress, bool(erasure.gold_models),
                                                  self._ahead))
            self._progress(1.0, "done")
            self.on_result(outcome)
        except Cancelled:
            self.progress.bar_style = "warning"
            self.status.value = "Cancelled."
            self.messages.note("Run cancelled. Nothing was changed.")
        except Exception as error:  # noqa: BLE001 - shown in the panel, never swallowed
            self.last_error = readable(error)
            self.progress.bar_style = "danger"
            self.status.value = "Failed: nothing was produced (see the message below)."
            self.messages.show_error(error)
        else:
            self.progress.bar_style = "success"
            self.status.value = (f"Done in {outcome.seconds:.1f} s: "
                                 f"{label_for_method(outcome.unlearned.method).label} on "
                                 f"{outcome.unlearned.device}, verdict {outcome.audit.overall}.")
        finally:
            self._done.set()
            self.run_button.disabled, self.cancel_button.disabled = False, True
