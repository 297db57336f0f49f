"""What every panel shares: readable error messages instead of swallowed tracebacks."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as W

log = logging.getLogger("workbench.widgets")


class Cancelled(Exception):
    """Raised inside a progress callback to stop a run the user cancelled."""


def readable(error: BaseException) -> str:
    """One or two lines a person can act on: the message, not the traceback (a file error
    says which file and why, in words, without the exception's class)."""
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"could not write or read{where}: {error.strerror.lower()}"
    message = str(error).strip() or type(error).__name__
    kind = "" if isinstance(error, ValueError | Cancelled) else f"{type(error).__name__}: "
    return f"{kind}{message}"


class Messages:
    """An HTML line under a panel showing the last error (red) or note (grey)."""

    def __init__(self) -> None:
        self.widget = W.HTML(value="")
        self.error: str | None = None

    def show_error(self, error: BaseException | str) -> None:
        self.error = error if isinstance(error, str) else readable(error)
        self.widget.value = (f"<div class='wb-error' style='color:#cf222e'><b>Error:</b> "
                             f"{html.escape(self.error)}</div>")

    def note(self, text: str) -> None:
        self.error = None
        self.widget.value = f"<div class='wb-note' style='color:#555'>{html.escape(text)}</div>"

    def clear(self) -> None:
        self.error = None
        self.widget.value = ""


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a panel's handler: an exception becomes the panel's error message (ipywidgets
    would swallow it into a log line); the panel's earlier state stays as it was."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every error must reach the user
            log.debug("handler %s failed", method.__name__, exc_info=True)
            self.messages.show_error(error)
            return None

    return wrapper
