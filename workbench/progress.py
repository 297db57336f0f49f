"""The one progress callback type: ``progress(done, total, message)``, and a text bar for it.

Training, the executors, the unlearners, the audit's shadow and gold models and the pipeline
all report progress through it; it needs nothing, so any layer may import it.
:class:`ProgressBar` draws it on stderr for the command line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int, str], None]


class ProgressBar:
    """A text progress bar on stderr for one long step (silent when ``quiet``).

    On a terminal it redraws in place when the bar moves; elsewhere (logs, CI) it writes
    one line per finished stage.
    """

    open_line = False  # a bar is drawn and its line not yet ended

    def __init__(self, label: str, *, quiet: bool = False, width: int = 24):
        self.label, self.quiet, self.width = label, quiet, width
        self.start = time.perf_counter()
        self.last: tuple[int, str] | None = None  # (filled, message) last drawn
        self.tty = sys.stderr.isatty()
        ProgressBar.end_line()

    def __call__(self, step: int, total: int, message: str) -> None:
        if self.quiet or total <= 0:
            return
        filled = int(self.width * min(step, total) / total)
        if (filled, message if not self.tty else "") == self.last and step < total:
            return
        self.last = (filled, message if not self.tty else "")
        if not self.tty and step < total:
            return
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"{self.label:24} [{bar}] {step}/{total} {message[:36]:36} "
                f"{time.perf_counter() - self.start:6.1f}s")
        if self.tty:
            sys.stderr.write("\r" + line)
            ProgressBar.open_line = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    @classmethod
    def end_line(cls) -> None:
        """End a bar's line before other output."""
        if cls.open_line:
            sys.stderr.write("\n")
            cls.open_line = False
