"""Batches: many erasure requests from one CSV, one ledger entry each.

A batch file has a ``request_id`` column (unique) and, per row, exactly one selection:
``ids`` (record ids separated by spaces, commas or semicolons), ``where`` (a condition) or
``class`` (class names separated the same way). Optional columns override the batch's
defaults per row: ``method``, ``legal_basis``, ``received``, ``due``, ``notes``.

The whole file is checked first (columns, unique ids, one selection per row): a bad file
writes nothing. Then each row is checked and run in turn; a row with bad input is reported
and the others still run. Shadow and gold-standard models come from the cache, and cached
models trained on erased records are purged once, after the last request.

Requests run one after another, on purpose: each one's evidence is appended to the
hash-chained ledger in file order, and a later request reads the shadow models an earlier
one cached. The trainings inside each request (shadow models, the gold-standard ensemble) go
through :mod:`workbench.executor` (``$WORKBENCH_EXECUTOR``: local processes or Ray), which
is where a batch uses several cores or a cluster.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from workbench.audit.model_cache import PurgeReport, purge_trained_on
from workbench.audit.shadow import default_cache_dir
from workbench.deprecation import legacy_keywords
from workbench.evidence.selection import Selection
from workbench.hashing import table_sha256
from workbench.pipeline.run import ErasureRequest, Stage, check_request, run_request
from workbench.pipeline.write import EVIDENCE_KEYWORDS, EvidenceOptions, write_evidence

SELECTIONS = ("ids", "where", "class")
OPTIONAL = ("method", "legal_basis", "received", "due", "notes")
SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class BatchRow:
    """One request of a batch file: its id, selection and per-row overrides."""

    request_id: str
    selection: Selection
    overrides: dict[str, str]
    line: int  # 1-based line in the file (the header is line 1)


@dataclass(frozen=True)
class BatchResult:
    """What became of one row: its verdicts and folder, or the error that stopped it."""

    request_id: str
    records: int | None
    method: str
    erasure: str | None
    collateral: str | None
    utility: str | None
    seconds: float
    folder: Path | None
    error: str | None


def read_text_csv(path: str | Path, what: str) -> pd.DataFrame:
    """A CSV with every cell as text (no NaN); ``ValueError`` naming ``what`` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {path} does not exist")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValueError(f"{what} {path} cannot be read as CSV: {error}") from None


def read_batch(path: str | Path) -> list[BatchRow]:
    """Parse and check a batch file; raises ``ValueError`` naming the row or column."""
    frame = read_text_csv(path, "batch file")
    if "request_id" not in frame.columns:
        raise ValueError(f"batch file {path} has no request_id column (columns: "
                         f"{list(frame.columns)}); add one with a unique id per request")
    if not set(SELECTIONS) & set(frame.columns):
        raise ValueError(f"batch file {path} has none of the selection columns "
                         f"{list(SELECTIONS)}; give each row its records in one of them")
    unknown = sorted(set(frame.columns) - {"request_id", *SELECTIONS, *OPTIONAL})
    if unknown:
        raise ValueError(f"batch file {path} has unknown column(s) {unknown}; the columns are "
                         f"request_id, {', '.join(SELECTIONS)}, {', '.join(OPTIONAL)}")
    rows: list[BatchRow] = []
    seen: dict[str, int] = {}  # request id -> its line
    for i, row in enumerate(frame.to_dict(orient="records")):
        line = i + 2
        rid = row["request_id"].strip()
        if not rid:
            raise ValueError(f"batch file {path}, line {line}: request_id is empty")
        if rid in seen:
            raise ValueError(f"batch file {path}, line {line}: request_id {rid!r} repeats line "
                             f"{seen[rid]}; every request needs its own id")
        seen[rid] = line
        given = [c for c in SELECTIONS if row.get(c, "").strip()]
        if len(given) != 1:
            raise ValueError(f"batch file {path}, line {line} ({rid}): give exactly one of "
                             f"{list(SELECTIONS)}, found {given or 'none'}")
        value = row[given[0]].strip()
        selection = (Selection.where(value) if given[0] == "where" else
                     Selection.by_ids(SPLIT.split(value)) if given[0] == "ids" else
                     Selection.of_classes(SPLIT.split(value)))
        overrides = {k: row[k].strip() for k in OPTIONAL if row.get(k, "").strip()}
        rows.append(BatchRow(rid, selection, overrides, line))
    if not rows:
        raise ValueError(f"batch file {path} holds no requests")
    return rows


def row_request(base: ErasureRequest, row: BatchRow) -> ErasureRequest:
    """``base`` with the row's selection, method and ticket."""
    ticket = {**base.ticket, "reference": row.request_id,
              **{k: v for k, v in row.overrides.items() if k != "method"}}
    return replace(base, selection=row.selection, ticket=ticket,
                   method=row.overrides.get("method", base.method))


@legacy_keywords(moved={k: EVIDENCE_KEYWORDS[k] for k in
                        ("operator", "command", "key", "witness", "pdf_renderer")},
                 factory=EvidenceOptions)
def run_batch(base: ErasureRequest, rows: list[BatchRow], out: str | Path, *,
              ledger: Path | None = None, options: EvidenceOptions | None = None,
              stage: Stage | None = None,
              on_row: Callable[[int, int, BatchResult], None] | None = None
              ) -> tuple[list[BatchResult], PurgeReport | None]:
    """Run every row as a request of its own into ``out/<request_id>/``; then purge once.

    ``options``: as for :func:`~workbench.pipeline.write_evidence`; each row's record names
    ``options.command`` with the row's line and request id."""
    options = options or EvidenceOptions()
    out = Path(out)
    results: list[BatchResult] = []
    erased: set[str] = set()
    for k, row in enumerate(rows):
        request = row_request(base, row)
        start = time.perf_counter()
        folder = out / re.sub(r"[^A-Za-z0-9._-]+", "_", row.request_id)
        try:
            forget = check_request(request)
            outcome = run_request(request, stage)
            command = f"{options.command} (row {row.line}: {row.request_id})"
            written = write_evidence(outcome, folder, ledger=ledger,
                                     options=replace(options, command=command), purge=False)
        except ValueError as error:  # bad input for this row: report it, run the others
            result = BatchResult(row.request_id, None, request.method, None, None, None,
                                 round(time.perf_counter() - start, 2), None,
                                 f"line {row.line}: {error}")
        else:
            erased.update(forget.ids)
            a = written.record.tests.audit
            result = BatchResult(row.request_id, len(forget), request.method, a.erasure,
                                 a.collateral, a.utility, round(time.perf_counter() - start, 2),
                                 folder, None)
        results.append(result)
        if on_row is not None:
            on_row(k + 1, len(rows), result)
    purged = None
    if erased:
        cache = Path(base.cache_dir) if base.cache_dir else default_cache_dir()
        purged = purge_trained_on(table_sha256(base.table), base.table.positions(sorted(erased)),
                                  cache)
    return results, purged


def summary_table(results: list[BatchResult]) -> str:
    """The batch as a Markdown table: request, records, method, verdicts, time, error."""
    lines = ["| request | records | method | erasure | collateral | utility | time s | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.request_id} | {r.records if r.records is not None else '-'} | "
                     f"{r.method} | {r.erasure or '-'} | {r.collateral or '-'} | "
                     f"{r.utility or '-'} | {r.seconds:.1f} | {r.error or ''} |")
    return "\n".join(lines)
