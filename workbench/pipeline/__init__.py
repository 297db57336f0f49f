"""One erasure pipeline: a request in, an outcome out, evidence written by one function.

``run_request(ErasureRequest(...))`` checks the request before any work, then unlearns,
builds the gold standard and audits; ``write_evidence(outcome, folder)`` writes the models,
the sealed record, the reports and the ledger entry. The CLI, the notebook widgets and the
benchmarks only call these.
"""

from workbench.evidence.selection import Selection
from workbench.pipeline.run import (
    ErasureOutcome,
    ErasureRequest,
    check_request,
    cli_command,
    run_request,
    with_selection,
)
from workbench.pipeline.write import (
    Evidence,
    EvidenceOptions,
    check_out_dir,
    check_writable,
    write_evidence,
)

__all__ = ["ErasureOutcome", "ErasureRequest", "Evidence", "EvidenceOptions", "Selection",
           "check_out_dir", "check_request", "check_writable", "cli_command", "run_request",
           "with_selection", "write_evidence"]
