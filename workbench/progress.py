"""The one progress callback type: ``progress(done, total, message)``.

Training, the executors, the unlearners, the audit's shadow and gold models and the pipeline
all report progress through it; it needs nothing, so any layer may import it.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
