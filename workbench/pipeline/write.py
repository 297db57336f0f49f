"""``write_evidence``: the one writer of an erasure's evidence, for every entry point.

It writes the unlearned model (a new file), the gold-standard models, the sealed record, the
HTML and PDF reports, and appends the record to the ledger. Everything is written into a
hidden staging folder first; the ledger entry is committed there, and only then is the folder
renamed into place (an earlier evidence folder is moved aside, never overwritten): see
:mod:`workbench.pipeline.staging` for what each crash point leaves. An error or Ctrl-C before
the commit removes the staging folder and shreds the vault. Once the record is on the ledger,
every cached model trained on an erased record is deleted (this request's gold standard,
trained without them, stays).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.audit.attacks import SHADOW_ATTACKS
from workbench.audit.model_cache import PurgeReport, purge_trained_on
from workbench.audit.shadow import default_cache_dir
from workbench.deprecation import legacy_keywords
from workbench.evidence._validate import utc_now
from workbench.evidence.build import RecordContext, build_record
from workbench.evidence.keys import SigningKey, load_key
from workbench.evidence.ledger import append_session, default_ledger_path, default_witness_path
from workbench.evidence.lifecycle import Event
from workbench.evidence.record import AuditRecord, save_record
from workbench.evidence.report_html import Figures, write_html
from workbench.evidence.report_pdf import Renderer, planned_renderer, write_pdf
from workbench.evidence.selection import redact_ids
from workbench.evidence.signing import sign_record
from workbench.evidence.sources import source_rows
from workbench.evidence.vault import (
    DEFAULT_WINDOW_DAYS,
    VaultContents,
    new_secret,
    seal_vault,
    shred_vault,
)
from workbench.hashing import sha256_file, table_sha256
from workbench.models import save_model
from workbench.pipeline.run import ErasureOutcome
from workbench.pipeline.staging import new_staging, publish, recover_staged

FILES = {"model": "model-unlearned.safetensors", "record": "record.json",
         "html": "report.html", "pdf": "report.pdf"}
GOLD_FILE = "gold-standard-{k}.safetensors"  # one per gold-standard model


@dataclass
class Evidence:
    """The sealed record, the files written, the PDF renderer used, what the purge did."""

    record: AuditRecord
    files: dict[str, Path]
    pdf_renderer: str
    purged: PurgeReport | None = None
    superseded: Path | None = None  # where an earlier evidence folder at ``out`` was moved


def check_writable(path: Path, what: str) -> None:
    """Refuse a ``path`` that cannot be created or written, before any work: the nearest
    folder that exists above it must be a writable folder."""
    path = Path(path).expanduser()
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ValueError(f"the {what} {path} cannot be written (check its permissions)")
        return
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"the {what} {path} cannot be created: {parent} is a file, not a "
                         "folder")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"the {what} {path} cannot be created: {parent} is not writable")


def check_out_dir(out: Path, *, force: bool) -> None:
    """Refuse a file, a folder holding other files, or a folder that already holds a record
    unless ``force`` (it is then moved aside when the new evidence is on the ledger).

    A run into ``out`` that crashed is first finished (its record reached the ledger: the
    folder is published) or undone (it did not: the staging folder and its vault go).
    """
    check_writable(out, "output folder")
    recover_staged(Path(out).expanduser().absolute())
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output {out} is a file, not a folder")
    if (out / FILES["record"]).exists():
        if not force:
            raise ValueError(f"{out} already holds an erasure record ({FILES['record']}); "
                             "choose a new folder, or pass --force to move it aside (to "
                             f"{out.name}.superseded-TIME) and write a new one")
    elif out.is_dir() and any(out.iterdir()):
        raise ValueError(f"the output folder {out} is not empty and holds no erasure record; "
                         "evidence goes into a new or empty folder of its own")


@dataclass(frozen=True)
class EvidenceOptions:
    """Who signs the evidence, how its reports render, how long the vault keeps the rows.

    Attributes:
        operator: who ran the erasure (recorded and signed).
        approver: who approved it, when known now.
        command: the command line or call that produced it (erased ids redacted).
        key: the operator's signing key, or its file (None:
            :func:`~workbench.evidence.keys.load_key`, created on first use).
        witness: the file that keeps every ledger head (None: ``$WORKBENCH_WITNESS``).
        pdf_renderer: ``auto``, ``chromium`` or ``matplotlib``.
        figures: how the HTML report embeds its figures.
        window_days: how long the vault keeps the erased rows (until ``workbench close``).
    """

    operator: str = "unknown"
    approver: str | None = None
    command: str = ""
    key: SigningKey | Path | None = None
    witness: Path | None = None
    pdf_renderer: Renderer = "auto"
    figures: Figures = "svg"
    window_days: int = DEFAULT_WINDOW_DAYS


# write_evidence's and run_batch's old keywords, now fields of EvidenceOptions (one release)
EVIDENCE_KEYWORDS = {name: name for name in ("operator", "approver", "command", "key", "witness",
                                             "pdf_renderer", "figures", "window_days")}


@legacy_keywords(moved=EVIDENCE_KEYWORDS, factory=EvidenceOptions)
def write_evidence(outcome: ErasureOutcome, out: str | Path, *, ledger: Path | None = None,
                   options: EvidenceOptions | None = None, force: bool = False,
                   purge: bool = True) -> Evidence:
    """Write ``outcome``'s evidence into the folder ``out`` and append it to ``ledger``
    (default ``$WORKBENCH_LEDGER`` or ``~/.local/share/erasure-workbench/ledger.sqlite``).

    ``options``: who signs it and how (:class:`EvidenceOptions`); the signing key signs the
    record and its ledger entry. ``force``: replace evidence already at ``out`` (it is moved
    aside). ``purge``: afterwards delete every cached model trained on an erased record. The
    erased ids and record hashes are keyed with a new secret, kept with the erased rows in an
    encrypted vault for ``options.window_days`` (until ``workbench close``): see
    :mod:`workbench.evidence.vault`.
    """
    options = options or EvidenceOptions()
    operator, approver, command = options.operator, options.approver, options.command
    pdf_renderer, figures, window_days = options.pdf_renderer, options.figures, options.window_days
    key, witness = options.key, options.witness
    if not 0 < window_days <= 3650:
        raise ValueError(f"the audit window must be 1 to 3650 days, got {window_days}")
    out = Path(out).expanduser().absolute()
    check_out_dir(out, force=force)
    if not outcome.request.records_source:
        raise ValueError("the request names no records source (sample:NAME, folder:PATH or "
                         "csv:PATH#id=...&label=...&member=...): evidence without one could "
                         "never be verified; set ErasureRequest.records_source")
    key = key if isinstance(key, SigningKey) else load_key(key)
    if out.resolve() in key.path.resolve().parents:
        raise ValueError(f"the signing key {key.path} lies inside the evidence folder {out}; "
                         "keep it elsewhere (WORKBENCH_KEY)")
    witness = witness if witness is not None else default_witness_path()
    request, gold = outcome.request, outcome.gold
    ledger = Path(ledger or default_ledger_path())
    secret, forget = new_secret(), outcome.forget
    positions, rows = source_rows(request.records_source, forget)
    vault_id, vault_sha = seal_vault(VaultContents(secret, tuple(forget.ids), positions, rows))
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=window_days)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    staging = new_staging(out, vault_id=vault_id, ledger=ledger)
    committed = False
    try:
        files = {k: staging / v for k, v in FILES.items()}
        gold_paths = [staging / GOLD_FILE.format(k=k)
                      for k in range(gold.count if gold else 0)]
        save_model(outcome.unlearned.require_model(), files["model"])
        for path, net in zip(gold_paths, gold.models if gold else (), strict=True):
            save_model(net, path)
            files[path.stem] = path
        context = RecordContext(
            request=request.ticket, model_name=request.model_name,
            records_source=request.records_source, before_file=request.before_file,
            after_file=FILES["model"], after_file_sha256=sha256_file(files["model"]),
            gold_files=tuple((p.name, sha256_file(p)) for p in gold_paths),
            shadow_models=(request.shadow_models
                           if set(request.attacks) & set(SHADOW_ATTACKS) else 0),
            operator=operator, approver=approver, started_at=outcome.started_at,
            command=redact_ids(command), attempts=outcome.attempts, secret=secret,
            vault=(vault_id, vault_sha, until))
        record = build_record(
            unlearned=outcome.unlearned, audit_result=outcome.audit, forget=outcome.forget,
            selection=request.selection, original=request.model, context=context, gold=gold)
        with append_session(ledger, key, witness=witness) as (seq, prev, append):
            record = sign_record(record.sealed(ledger_sequence=seq, previous_sha256=prev), key)
            save_record(record, files["record"])
            planned = planned_renderer(pdf_renderer)
            write_html(record, files["html"], pdf_renderer=planned, figures=figures)
            used = write_pdf(record, files["pdf"], html_path=files["html"],
                             renderer=pdf_renderer)
            if used != planned:
                write_html(record, files["html"], pdf_renderer=used, figures=figures)
            append("record", record.to_dict(), record.sealed_sha256())
            reported = Event(request=record.sealed_sha256(), step="reported",
                             actor=operator, at=utc_now(), reason="", override="",
                             details={name: sha256_file(files[name]) for name in ("html", "pdf")})
            append("event", reported.to_dict(), reported.body_hash())
        committed = True
        superseded = publish(staging, out)
    except BaseException:
        if not committed:  # after the commit the staged evidence is kept and published later
            shutil.rmtree(staging, ignore_errors=True)
            shred_vault(vault_id)  # no record names it: nothing may keep the erased rows
        raise
    files = {name: out / path.name for name, path in files.items()}
    purged = None
    if purge:
        cache = Path(request.cache_dir) if request.cache_dir else default_cache_dir()
        purged = purge_trained_on(table_sha256(request.table),
                                  request.table.positions(outcome.forget.ids), cache)
    return Evidence(record, files, used, purged, superseded)
