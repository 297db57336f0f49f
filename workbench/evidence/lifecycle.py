"""A request's life on the ledger: received -> erased -> audited -> approved or rejected ->
deployed -> answered -> closed.

The erasure record itself marks *received* (its request date), *erased* and *audited* (its
verdict). Every later step is an :class:`Event` appended to the ledger and signed by the
actor's key. Steps must come in order (a rejected erasure is never deployed); an erasure
whose verdict FAILed can be approved only with a written override reason, which every
status page shows in red. The due date defaults to one month after the request was received
(GDPR Art. 12(3)); the status says whether the answer met it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.audit._json import JsonRecord
from workbench.audit.verdict import PASS
from workbench.deprecation import legacy_keywords
from workbench.evidence._validate import one_month_after, utc_now
from workbench.evidence.keys import SigningKey
from workbench.evidence.ledger import (
    Entry,
    LedgerError,
    append_session,
    read_entries,
    verify_ledger,
)
from workbench.evidence.record import AuditRecord
from workbench.hashing import canonical_json, sha256_bytes

TRANSITIONS = {  # step -> the states it may follow
    "approved": ("audited",), "rejected": ("audited",), "deployed": ("approved",),
    "answered": ("deployed", "rejected"), "closed": ("answered",)}
STATES = ("received", "erased", "audited", "approved", "rejected", "deployed", "answered",
          "closed")


@dataclass(frozen=True)
class Event(JsonRecord):
    """One step of a request's life, as the ledger keeps it.

    ``request`` is the erasure record's hash; ``override`` the reason for approving a FAIL
    (empty otherwise); ``details`` what the step records (e.g. the model's registry id).
    """

    request: str
    step: str
    actor: str
    at: str
    reason: str
    override: str
    details: dict[str, str] = field(default_factory=dict)

    def body_hash(self) -> str:
        return sha256_bytes(canonical_json(self.to_dict()).encode())


@dataclass(frozen=True)
class Case:
    """A request on the ledger: its record, its events and where it stands."""

    record: AuditRecord
    entry: Entry
    events: tuple[tuple[Event, Entry], ...]

    @property
    def state(self) -> str:
        steps = [e.step for e, _ in self.events if e.step in TRANSITIONS]
        return steps[-1] if steps else "audited"

    @property
    def reports(self) -> dict[str, str]:
        """The report files' SHA-256 as the ledger recorded them when they were written."""
        return next((dict(e.details) for e, _ in self.events if e.step == "reported"), {})

    @property
    def due(self) -> str | None:
        """The due date: the request's, else one month after it was received."""
        request = self.record.request
        if request.due:
            return request.due
        return one_month_after(request.received) if request.received else None

    @property
    def answered_at(self) -> str | None:
        return next((e.at for e, _ in self.events if e.step == "answered"), None)

    def due_met(self) -> bool | None:
        """Whether the answer came by the due date (None: not answered or no due date)."""
        if self.due is None or self.answered_at is None:
            return None
        return self.answered_at[:10] <= self.due[:10]


def find_case(ledger: str | Path, request: str) -> Case:
    """The case of ``request``: a request reference, or a record hash (at least 8 hex digits).

    Raises:
        ValueError: no such request, or a reference that names several records.
    """
    entries = read_entries(ledger)
    records = [e for e in entries if e.kind == "record"]
    hits = [e for e in records if e.body.get("request", {}).get("reference") == request]
    if not hits and len(request) >= 8:
        hits = [e for e in records if e.body_hash.startswith(request.lower())]
    if not hits:
        raise ValueError(f"no erasure record for request {request!r} on the ledger {ledger}; "
                         "give its request reference or the start of its record hash")
    if len(hits) > 1:
        listing = ", ".join(f"entry {e.seq} ({e.body_hash[:12]})" for e in hits)
        raise ValueError(f"request {request!r} names {len(hits)} records ({listing}); give the "
                         "record hash instead")
    entry = hits[0]
    events = tuple((Event.from_dict(e.body), e) for e in entries
                   if e.kind == "event" and e.body.get("request") == entry.body_hash)
    return Case(AuditRecord.from_dict(entry.body), entry, events)


@dataclass(frozen=True)
class StepNote:
    """What a lifecycle step says besides who took it and when.

    Attributes:
        reason: why (a rejection needs one).
        override: why a verdict other than PASS is approved anyway (approving one needs it;
            every report shows it). Kept only on an approval.
        details: more named values (a model registry id, a version, a channel); empty values
            are dropped.
    """

    reason: str = ""
    override: str = ""
    details: dict[str, Any] | None = None


@legacy_keywords(moved={"reason": "reason", "override": "override", "details": "details"},
                 options="note", factory=StepNote)
def advance(ledger: str | Path, request: str, step: str, *, key: SigningKey, actor: str,
            note: StepNote | None = None, witness: Path | None = None) -> Case:
    """Append step ``step`` of ``request`` to the ledger, signed with ``key``, saying ``note``.

    Raises:
        ValueError: unknown request or step, a step out of order, approving a FAIL without
            an override reason, a rejection without a reason, a broken ledger. Nothing is
            written then.
    """
    if step not in TRANSITIONS:
        raise ValueError(f"unknown step {step!r}; the steps are {list(TRANSITIONS)}")
    note = note or StepNote()
    reason, override, details = note.reason, note.override, note.details
    report = verify_ledger(ledger, witness=witness)
    if not report.ok:
        raise LedgerError(f"the ledger does not verify ({report.problem}); nothing was "
                          "appended")
    case = find_case(ledger, request)
    if case.state not in TRANSITIONS[step]:
        raise ValueError(f"request {request!r} is {case.state}: it cannot be {step} now (only "
                         f"after {' or '.join(TRANSITIONS[step])})")
    verdict = case.record.tests.overall
    if step == "approved" and verdict != PASS and not override.strip():
        raise ValueError(f"the erasure verdict is {verdict}: approving it needs a written "
                         "override reason (--override-reason), which every report shows")
    if step == "rejected" and not reason.strip():
        raise ValueError("a rejection needs a reason (--reason)")
    if step == "closed":
        details = {**(details or {}), **close_out(case.record)}
    event = Event(request=case.entry.body_hash, step=step, actor=actor, at=utc_now(),
                  reason=reason.strip(), override=override.strip() if step == "approved" else "",
                  details={k: str(v) for k, v in (details or {}).items() if v not in (None, "")})
    with append_session(ledger, key, witness=witness) as (_, _, append):
        append("event", event.to_dict(), event.body_hash())
    return find_case(ledger, request)


def close_out(record: AuditRecord) -> dict[str, str]:
    """Delete what the workbench still holds of the erased records (cached models trained on
    them, the vault with its key) and name what is left to the user."""
    from workbench.audit.model_cache import purge_trained_on
    from workbench.audit.shadow import default_cache_dir
    from workbench.evidence.vault import VaultError, open_vault, shred_vault

    erased, done = record.erased, {}
    if erased.vault_id is not None:
        try:
            positions = open_vault(erased.vault_id).positions
        except VaultError:
            positions = ()
        if positions:
            purged = purge_trained_on(erased.data_sha256, positions, default_cache_dir())
            done["purged"] = f"{len(purged.deleted)} cached model set(s) trained on them"
        gone = shred_vault(erased.vault_id)
        done["shredded"] = (f"vault {erased.vault_id} and its key" if gone else
                            f"vault {erased.vault_id} (already gone)")
    before = record.model.before_file or f"the {record.model.name} model as loaded"
    done["left to the user"] = (f"{before}; the records at {erased.records_source}, which still "
                                "hold the erased rows; backups and deployed copies")
    return done


def sweep_expired(ledger: str | Path, *, key: SigningKey, actor: str, now: str | None = None,
                  witness: Path | None = None) -> list[str]:
    """Shred the vault of every request whose audit window has ended (without a close),
    each with a signed ``expired`` entry on the ledger; return their record hashes."""
    from workbench.evidence.vault import vault_key_root

    now = now or utc_now()
    report = verify_ledger(ledger, witness=witness)
    if not report.ok:
        raise LedgerError(f"the ledger does not verify ({report.problem}); nothing was shredded")
    swept = []
    for entry in read_entries(ledger):
        erased = entry.body.get("erased", {}) if entry.kind == "record" else {}
        until, vault_id = erased.get("vault_until"), erased.get("vault_id")
        if not until or until > now or not (vault_key_root() / f"{vault_id}.key").exists():
            continue
        record = AuditRecord.from_dict(entry.body)
        details = close_out(record)
        event = Event(request=entry.body_hash, step="expired", actor=actor, at=utc_now(),
                      reason=f"the audit window ended on {until}", override="",
                      details=details)
        with append_session(ledger, key, witness=witness) as (_, _, append):
            append("event", event.to_dict(), event.body_hash())
        swept.append(entry.body_hash)
    return swept


def status_lines(case: Case) -> list[str]:
    """The case as text: the record, each step with its actor and signer, the due date."""
    r = case.record
    lines = [f"request {r.request.reference or '(no reference)'}: record {case.entry.body_hash}"
             f" (ledger entry {case.entry.seq}, signer {case.entry.signer})",
             f"  received  {r.request.received or '-'}",
             f"  erased    {r.method.finished_at} ({r.erased.count} records, {r.method.name})",
             f"  audited   erasure {r.tests.audit.erasure}, collateral "
             f"{r.tests.audit.collateral}, utility {r.tests.audit.utility}"]
    for event, entry in case.events:
        if event.step not in TRANSITIONS:
            continue
        note = f" - {event.reason}" if event.reason else ""
        extra = "".join(f" {k}={v}" for k, v in event.details.items())
        lines.append(f"  {event.step:9} {event.at} by {event.actor} (signer {entry.signer})"
                     f"{extra}{note}")
        if event.override:
            lines.append(f"  !! OVERRIDE: approved although the erasure verdict was "
                         f"{r.tests.overall}: {event.override}")
    met = case.due_met()
    lines.append(f"  due       {case.due or '-'}"
                 + ("" if met is None else " (met)" if met else " (MISSED)"))
    lines.append(f"  now       {case.state}")
    return lines
