"""Evidence of an erasure: the sealed ``AuditRecord``, the hash-chained ledger, the reports.

``build_record(...)`` assembles a record from an ``UnlearnResult``, an ``AuditResult`` and a
``RecordContext`` (the request, files and people); ``append_record(ledger, record)`` seals
it onto the ledger's head; ``save_record`` writes it; ``write_html`` / ``write_pdf`` render
the offline report.
"""

from workbench.evidence.build import (
    RecordContext,
    build_record,
    code_version,
    library_versions,
    record_hashes,
)
from workbench.evidence.ledger import (
    LedgerError,
    LedgerReport,
    append_record,
    default_ledger_path,
    verify_ledger,
)
from workbench.evidence.record import AuditRecord, RecordError, load_record, save_record
from workbench.evidence.report_html import render_html, write_html
from workbench.evidence.report_pdf import find_chromium, write_pdf

__all__ = [
    "RecordContext",
    "AuditRecord", "LedgerError", "LedgerReport", "RecordError", "append_record", "build_record",
    "code_version", "default_ledger_path", "find_chromium", "library_versions", "load_record",
    "record_hashes", "render_html", "save_record", "verify_ledger", "write_html", "write_pdf",
]
