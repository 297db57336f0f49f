"""Thin Jupyter panels over the public API: pick records, unlearn, audit, export.

``erasure_app()`` builds the whole erasure-request workflow; each panel is usable on its
own. Handlers never compute: they call one public function and hand its result to a figure.
(``workbench.widgets.app`` is the app's module; calling it, the function's old name, still
works for one release with a ``DeprecationWarning``.)
"""

from workbench.widgets.app import ErasureApp, erasure_app
from workbench.widgets.common import Cancelled, Messages, guarded, readable
from workbench.widgets.export import ExportPanel, export_evidence
from workbench.widgets.method import MethodPanel, RunSettings
from workbench.widgets.picker import RecordFinder, SourcePanel
from workbench.widgets.results import ResultsPanel
from workbench.widgets.run import Outcome, RunPanel, run_erasure

__all__ = [
    "Cancelled", "ErasureApp", "ExportPanel", "Messages", "MethodPanel", "Outcome",
    "RecordFinder", "ResultsPanel", "RunPanel", "RunSettings", "SourcePanel", "erasure_app",
    "export_evidence", "guarded", "readable", "run_erasure",
]
