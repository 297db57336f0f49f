"""``erase_to_folder``: one erasure end to end, written as evidence.

Unlearn, optionally retrain the gold standard, audit, then write the unlearned model (a new
file), the gold standard, the sealed record, the HTML and PDF reports, and append the record
to the ledger. Every file is written atomically; the ledger entry is committed last, and an
error or Ctrl-C before that removes the files this run wrote and adds no entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from workbench.audit import VerdictConfig, audit
from workbench.evidence._validate import utc_now
from workbench.evidence.build import build_record
from workbench.evidence.ledger import append_session
from workbench.evidence.record import AuditRecord, Request, save_record
from workbench.evidence.report_html import write_html
from workbench.evidence.report_pdf import planned_renderer, write_pdf
from workbench.hashing import sha256_file
from workbench.models import save_model
from workbench.records import RecordTable
from workbench.unlearn import get_unlearner, unlearn

Progress = Callable[[int, int, str], None]
FILES = {"model": "model-unlearned.safetensors", "gold": "gold-standard.safetensors",
         "record": "record.json", "html": "report.html", "pdf": "report.pdf"}


@dataclass
class EraseOutcome:
    """The sealed record and the files written."""

    record: AuditRecord
    files: dict[str, Path]
    pdf_renderer: str
    timings_s: dict[str, float] = field(default_factory=dict)


def read_ids_file(path: str | Path, column: str = "record_id") -> list[str]:
    """Record ids from a CSV file's ``column`` (read as text)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ids file {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValueError(f"ids file {path} cannot be read as CSV: {error}") from None
    if column not in frame.columns:
        raise ValueError(f"ids file {path} has no {column!r} column (columns: "
                         f"{list(frame.columns)[:10]}); name the id column with --id-column")
    ids = [i.strip() for i in frame[column] if i.strip()]
    if not ids:
        raise ValueError(f"ids file {path} lists no ids in column {column!r}")
    return ids


def check_out_dir(out: Path, *, force: bool) -> None:
    """Refuse a file, or a folder that already holds a record, unless ``force``."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    if (out / FILES["record"]).exists() and not force:
        raise ValueError(f"{out} already holds an erasure record ({FILES['record']}); choose "
                         "a new folder or pass --force to overwrite it")


def _check_request(request: dict[str, Any], attacks: Sequence[str],
                   reference_models: int) -> None:
    """Fail on bad request dates or too few reference models before any work is done."""
    Request(reference="", legal_basis="", received=request.get("received"),
            due=request.get("due"), notes="")
    if set(attacks) & {"rmia", "lira"}:
        if reference_models < 2 or reference_models % 2:
            raise ValueError(f"--reference-models must be even and at least 2, got "
                             f"{reference_models}")
        if "lira" in attacks and reference_models < 4:
            raise ValueError("LiRA needs at least 4 reference models (2 OUT per record); pass "
                             "--reference-models 4 or more, or drop lira from --attacks")


def erase_to_folder(*, model: nn.Module, table: RecordTable, ids: Sequence[str], out: Path,
                    ledger: Path, model_name: str, records_source: str,
                    before_file: str | None = None, method: str = "synthetic",
                    params: dict[str, Any] | None = None, reference: str | None = "retrain",
                    attacks: Sequence[str] = ("loss", "rmia", "lira"),
                    reference_models: int = 4, seed: int = 0, device: str = "auto",
                    cache_dir: Path | None = None, config: VerdictConfig | None = None,
                    request: dict[str, Any] | None = None, operator: str = "unknown",
                    approver: str | None = None, command: str = "", force: bool = False,
                    sign_key: Path | None = None, pdf_renderer: str = "auto",
                    figures: str = "svg",
                    progress: Callable[[str], Progress] | None = None) -> EraseOutcome:
    """Erase ``ids`` from ``model`` and write the evidence into ``out`` (see module doc).

    ``progress(label)`` returns the progress callback for one long step.
    """
    out = Path(out)
    check_out_dir(out, force=force)
    if sign_key is not None:
        from workbench.evidence.signing import _require

        _require()
    _check_request(request or {}, attacks, reference_models)
    bar = progress or (lambda label: None)
    forget = table.select(ids=list(ids))
    started = utc_now()
    needs_retain = get_unlearner(method).data_access.needs_retain
    result = unlearn(model, forget, method=method, params=params, device=device, seed=seed,
                     retain=table.retain_for(forget) if needs_retain else None,
                     progress=bar(f"unlearn ({method})"))
    gold = None
    if reference == "retrain":
        gold = unlearn(model, forget, method="retrain", retain=table.retain_for(forget),
                       device=device, seed=seed, progress=bar("gold standard (retrain)"))
    elif reference not in (None, "none"):
        raise ValueError(f"--reference must be 'retrain' or 'none', got {reference!r}")
    audited = audit(model, result, records=table, forget=forget, reference=gold,
                    attacks=attacks, seed=seed, config=config,
                    reference_models=reference_models, cache_dir=cache_dir,
                    progress=bar("audit"))
    written: list[Path] = []
    try:
        files = {k: out / v for k, v in FILES.items() if k != "gold" or gold is not None}
        out.mkdir(parents=True, exist_ok=True)
        written.append(save_model(result.model, files["model"]))
        if gold is not None:
            written.append(save_model(gold.model, files["gold"]))
        record = build_record(
            unlearned=result, audit_result=audited, forget=forget, original=model,
            request=request or {}, model_name=model_name, records_source=records_source,
            before_file=before_file, after_file=FILES["model"],
            after_file_sha256=sha256_file(files["model"]), gold=gold,
            gold_file=FILES["gold"] if gold is not None else None,
            gold_file_sha256=sha256_file(files["gold"]) if gold is not None else None,
            reference_models=reference_models if set(attacks) & {"rmia", "lira"} else 0,
            operator=operator, approver=approver, started_at=started, command=command)
        with append_session(ledger) as (seq, prev, append):
            record = record.sealed(ledger_sequence=seq, previous_sha256=prev)
            if sign_key is not None:
                from workbench.evidence.signing import sign_record

                record = sign_record(record, sign_key)
            written.append(save_record(record, files["record"]))
            planned = planned_renderer(pdf_renderer)
            written.append(write_html(record, files["html"], pdf_renderer=planned,
                                      figures=figures))
            used = write_pdf(record, files["pdf"], html_path=files["html"],
                             renderer=pdf_renderer)
            written.append(files["pdf"])
            if used != planned:
                write_html(record, files["html"], pdf_renderer=used, figures=figures)
            append(record)
    except BaseException:
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    for key, name in FILES.items():  # with --force: no stale file of an earlier run remains
        if key not in files:
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()
    return EraseOutcome(record, files, used)
