"""The identity checks of ``verify_record``: models, ledger, reports, vault and selection.

Each check adds ``(name, ok, detail)`` to a :class:`VerifyReport` and returns what the re-run
needs (a loaded model, the vault's contents, the reselected forget set), or None when it
failed.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torch import nn

from workbench.audit.verdict import group_status
from workbench.evidence.build import keyed_ids
from workbench.evidence.ledger import find_entry, verify_ledger
from workbench.evidence.record import AuditRecord, GoldModel
from workbench.evidence.selection import Selection
from workbench.evidence.vault import VaultContents, VaultError, VaultShredded, open_vault
from workbench.hashing import sha256_file, weights_sha256
from workbench.models import load_model
from workbench.models.user_class import user_template
from workbench.records import ForgetSet, RecordTable


@dataclass
class VerifyReport:
    """Every check as ``(name, ok, detail)``; ``ok`` when all passed."""

    record: AuditRecord
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok


def model_loader(record: AuditRecord, model_class: str | None
                 ) -> Callable[[Path], nn.Module]:
    """How to load this record's model files: by the built-in spec the files carry, or into
    the user's own class the record names (:func:`user_template`: imported only when
    ``model_class`` names that same class)."""
    template = user_template(record.model.architecture, model_class, holder="the record")
    if template is None:
        return load_model
    return lambda path: load_model(path, model=copy.deepcopy(template))  # one fresh copy each


def check_model(report: VerifyReport, name: str, path: Path | None, model: nn.Module | None,
                 weights: str, file_sha: str | None,
                 load: Callable[[Path], nn.Module] = load_model) -> nn.Module | None:
    """Load (when ``path``) and hash-check one model; None when it fails."""
    if path is not None:
        if not path.is_file():
            report.add(name, False, f"{path} does not exist")
            return None
        if file_sha is not None and sha256_file(path) != file_sha:
            report.add(name, False, f"{path} does not match the record: its SHA-256 differs "
                                    "from the recorded file hash")
            return None
        model = load(path)
    if model is None:
        raise ValueError(f"{name}: give the model or the path of its file")
    actual = weights_sha256(model)
    if actual != weights:
        report.add(name, False, f"{path or 'the model'} does not match the record: weights hash "
                                f"{actual[:16]}..., the record says {weights[:16]}...")
        return None
    report.add(name, True, f"weights match ({weights[:16]}...)")
    return model


def check_ledger(report: VerifyReport, record: AuditRecord, ledger: Path,
                  witness: Path | None, folder: Path) -> None:
    """The record's entry, and the whole chain up to it (and the witness, when given)."""
    seq, named = find_entry(ledger, record.sealed_sha256()), \
        record.integrity.ledger_sequence
    if seq is None or seq != named:
        report.add("ledger", False, f"the record is not in {ledger} although it names entry "
                   f"{named} (a run that never committed, or another ledger: pass --ledger "
                   "with the one it was written to)" if seq is None else
                   f"the record sits at entry {seq}, not at the entry {named} it names")
        return
    chain = verify_ledger(ledger, witness=witness, until=None if witness else seq + 1)
    report.add("ledger", chain.ok, f"entry {seq} of {ledger}; the chain up to it is intact"
               + (f" and matches the witness ({chain.witnessed} heads)" if witness else "")
               if chain.ok else f"the ledger does not verify: {chain.problem}")
    check_reports(report, record, ledger, folder)


def check_reports(report: VerifyReport, record: AuditRecord, ledger: Path,
                   folder: Path) -> None:
    """The HTML and PDF beside the record are the ones the ledger recorded when written."""
    from workbench.evidence.lifecycle import find_case

    recorded = find_case(ledger, record.sealed_sha256()).reports
    if not recorded:
        report.add("reports", False, "the ledger holds no hashes of this record's reports")
        return
    for name, file in (("html", "report.html"), ("pdf", "report.pdf")):
        path = folder / file
        if not path.is_file():
            report.add(f"report {file}", False, f"{path} does not exist")
        else:
            same = sha256_file(path) == recorded.get(name)
            report.add(f"report {file}", same, "matches the hash on the ledger" if same else
                       "differs from the report the ledger recorded: it was swapped or edited")


def reselect(report: VerifyReport, record: AuditRecord, table: RecordTable,
              vault: VaultContents | None) -> ForgetSet | None:
    """The forget set the recorded rule selects today; it must be the recorded records (an id
    rule is re-applied with the vault's plain ids, checked against the keyed ones)."""
    rule = record.erased.selection
    if vault is not None and rule.kind == "ids":
        if keyed_ids(vault.ids, vault.secret) != rule.ids:
            report.add("selection", False, "the vault's ids are not the ones the record keys")
            return None
        rule = Selection.by_ids(vault.ids)
    try:
        forget = rule.apply(table)
    except ValueError as error:
        report.add("selection", False, f"the recorded rule ({rule.kind}) no longer selects: "
                                       f"{error}")
        return None
    recorded = record.erased.record_ids
    same = (keyed_ids(forget.ids, vault.secret) if vault is not None else forget.ids) == recorded
    report.add("selection", same, f"the recorded rule ({rule.kind}: {record.erased.rule}) "
                                  f"selects the {len(forget)} recorded records" if same else
               f"the recorded rule ({rule.kind}) now selects {len(forget)} records, not the "
               f"{record.erased.count} recorded")
    return forget if same else None


class _Shredded(enum.Enum):
    SHREDDED = "shredded"


SHREDDED = _Shredded.SHREDDED  # the request was closed: its erased records are gone, by design


def open_record_vault(report: VerifyReport, record: AuditRecord,
                ledger: Path | None) -> VaultContents | Literal[_Shredded.SHREDDED] | None:
    """The vault's contents (None for a record without one, ``SHREDDED`` after a close)."""
    erased = record.erased
    if erased.protection == "plain":
        report.add("erased ids", True, "kept in the clear (this record has no vault)")
        return None
    if erased.vault_id is None:  # the schema requires one with keyed ids
        report.add("vault", False, f"the record keys its ids ({erased.protection}) but names "
                                   "no vault")
        return None
    try:
        contents = open_vault(erased.vault_id, erased.vault_sha256)
    except VaultShredded as error:
        closed = close_event(ledger, record) if ledger is not None else None
        if closed is None:
            report.add("vault", False, f"{error}; no close of this request is on "
                       + ("the ledger: the escrow was deleted" if ledger is not None else
                          "record (pass --ledger to check whether it was closed)"))
            return None
        report.add("vault", True, f"shredded when the request was closed or its audit window "
                                  f"ended ({closed}): the "
                                  "record no longer links to a person, so its tests cannot be "
                                  "re-run; its signatures, hashes and recorded verdicts can")
        return SHREDDED
    except VaultError as error:
        report.add("vault", False, str(error))
        return None
    ok = keyed_ids(contents.ids, contents.secret) == erased.record_ids
    report.add("vault", ok, f"open until {erased.vault_until}: its {len(contents.ids)} ids are "
                            "the ones the record keys" if ok else
               "the vault's ids are not the ones the record keys")
    return contents if ok else None


def close_event(ledger: Path, record: AuditRecord) -> str | None:
    from workbench.evidence.lifecycle import find_case

    try:
        case = find_case(ledger, record.sealed_sha256())
    except (ValueError, FileNotFoundError):
        return None
    closing = [e for e, _ in case.events
               if e.step in ("closed", "expired") and e.details.get("shredded")]
    return closing[-1].at if closing else None


def check_recorded_verdicts(report: VerifyReport, record: AuditRecord) -> None:
    """After a close: each question's recorded verdict follows from its recorded tests."""
    result = record.tests.audit
    for question in ("erasure", "collateral", "utility"):
        derived, recorded = group_status(result.verdicts, question), getattr(result, question)
        report.add(f"{question} verdict", derived == recorded,
                   f"recorded {recorded}, its tests give {derived} (not re-run: shredded)")


def check_gold_model(report: VerifyReport, folder: Path, model: GoldModel,
                name: str, load: Callable[[Path], nn.Module]) -> nn.Module | None:
    if model.file is None:
        report.add(name, False, "the record names no file for this gold-standard model, so "
                                "the audit cannot be re-run against it")
        return None
    return check_model(report, name, folder / model.file, None, model.weights_sha256,
                        model.file_sha256, load)
