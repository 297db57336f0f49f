"""An append-only, hash-chained, signed ledger of erasure records and lifecycle events.

One SQLite table, ``entries(seq, kind, entry_hash, prev_hash, body_hash, body_json,
appended_at, public_key, signature)``. ``kind`` is ``record`` (an ``AuditRecord``) or
``event`` (a step of a request's life, :mod:`workbench.evidence.lifecycle`). Each entry's
hash covers its sequence number, kind, the previous entry's hash, its body's hash, its append
time and its signer's public key; the signer's Ed25519 key signs that hash. Triggers refuse
UPDATE and DELETE.

After every append the new head (sequence and hash) is added to a **witness** file the user
chooses (``$WORKBENCH_WITNESS``; one per ledger, ideally on other storage);
``verify_ledger(witness=...)`` compares the chain with every head the witness saw, which
exposes a truncated or rewritten ledger even when each entry still looks valid. What an
attacker can do is set out in the README's threat model.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.evidence._validate import LedgerError, utc_now
from workbench.evidence.keys import SigningKey, fingerprint, verify_signature
from workbench.evidence.record import AuditRecord, RecordError
from workbench.evidence.witness import check_head, compare_heads, record_head
from workbench.evidence.witness import default_witness_path as default_witness_path
from workbench.hashing import canonical_json, sha256_bytes

FORMAT = "erasure-workbench/ledger/2"
KINDS = ("record", "event")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    entry_hash TEXT NOT NULL UNIQUE,
    prev_hash TEXT,
    body_hash TEXT NOT NULL,
    body_json TEXT NOT NULL,
    appended_at TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be deleted'); END;
"""
LOCK_TIMEOUT_S = 600  # a concurrent erase holds the lock while it renders its reports
Appender = Callable[[str, dict[str, Any], str], str]  # (kind, body, body hash) -> entry hash


def default_ledger_path() -> Path:
    """``$WORKBENCH_LEDGER`` if set, else ``~/.local/share/erasure-workbench/ledger.sqlite``."""
    env = os.environ.get("WORKBENCH_LEDGER")
    return Path(env) if env else (Path.home() / ".local" / "share" / "erasure-workbench"
                                  / "ledger.sqlite")


def entry_hash(seq: int, kind: str, prev_hash: str | None, body_hash: str, appended_at: str,
               public_key: str) -> str:
    """What an entry's signature covers: its place, its content, its time and its signer."""
    return sha256_bytes(canonical_json({
        "format": FORMAT, "seq": seq, "kind": kind, "prev_hash": prev_hash,
        "body_hash": body_hash, "appended_at": appended_at, "public_key": public_key}).encode())


@dataclass(frozen=True)
class Entry:
    """One ledger entry as stored."""

    seq: int
    kind: str
    entry_hash: str
    prev_hash: str | None
    body_hash: str
    body: dict[str, Any]
    appended_at: str
    public_key: str
    signature: str

    @property
    def signer(self) -> str:
        return fingerprint(self.public_key)


@dataclass(frozen=True)
class LedgerReport:
    """A walk's outcome: entries checked, the head, the signers seen and the first problem."""

    path: str
    entries: int
    head_sha256: str | None
    ok: bool
    problem: str | None
    signers: tuple[str, ...] = ()
    witnessed: int | None = None


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.is_file():
        raise FileNotFoundError(f"ledger {path} does not exist")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=LOCK_TIMEOUT_S)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
        if "record_hash" in columns:
            conn.close()
            raise LedgerError(f"ledger {path} is a version-1 ledger (unsigned, no witness): "
                              "this workbench appends to and verifies version-2 ledgers only; "
                              "start a new ledger file, and verify the old one with the code "
                              "version its records name")
        if create:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO ledger_meta VALUES ('format', ?)", (FORMAT,))
        conn.execute("SELECT 1 FROM entries LIMIT 1")
    except sqlite3.OperationalError as error:
        if "readonly" in str(error) or "unable to open" in str(error):
            raise LedgerError(f"ledger {path} cannot be written ({error}); choose a writable "
                              "--ledger or check the folder's permissions") from None
        raise LedgerError(f"ledger {path} is not a readable workbench ledger: {error}") from None
    except sqlite3.DatabaseError as error:
        raise LedgerError(f"ledger {path} is not a readable workbench ledger: {error}") from None
    return conn


def read_entries(path: str | Path) -> list[Entry]:
    """Every entry in sequence order (no checks; see :func:`verify_ledger`)."""
    conn = _connect(Path(path), create=False)
    try:
        rows = conn.execute("SELECT seq, kind, entry_hash, prev_hash, body_hash, body_json, "
                            "appended_at, public_key, signature FROM entries ORDER BY seq"
                            ).fetchall()
    except sqlite3.DatabaseError as error:
        raise LedgerError(f"ledger {path} cannot be read: {error}") from None
    finally:
        conn.close()
    out = []
    for seq, kind, ehash, prev, bhash, text, at, pub, sig in rows:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = {"unreadable": text[:80]}
        out.append(Entry(seq, kind, ehash, prev, bhash, body, at, pub, sig))
    return out


@contextlib.contextmanager
def append_session(path: str | Path, key: SigningKey, *, witness: Path | None = None
                   ) -> Iterator[tuple[int, str | None, Appender]]:
    """Lock the ledger and yield ``(next_seq, previous entry hash, append)``.

    ``append(kind, body, body_hash)`` adds one signed entry and returns its hash; it commits
    when the block ends without error, and the witness (when given) then records the new
    head. An error or Ctrl-C inside the block rolls back: no entry is added. A witness that
    disagrees with the ledger is refused before anything is written.
    """
    path = Path(path)
    conn = _connect(path, create=True)
    appended: list[tuple[int, str]] = []
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")  # waits up to LOCK_TIMEOUT_S for another writer
        except sqlite3.OperationalError as error:
            raise LedgerError(f"ledger {path} cannot be locked for writing: {error}") from None
        row = conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1"
                           ).fetchone()
        seq, prev = (1, None) if row is None else (row[0] + 1, row[1])
        if witness is not None:
            check_head(witness, path, seq - 1, prev)

        def append(kind: str, body: dict[str, Any], body_hash: str) -> str:
            nonlocal seq, prev
            if kind not in KINDS:
                raise LedgerError(f"unknown entry kind {kind!r}")
            link = body.get("integrity", {}) if kind == "record" else {}
            if kind == "record" and (link.get("ledger_sequence"), link.get("previous_sha256")) \
                    != (seq, prev):
                raise LedgerError("the record is not linked to the ledger's head (seal it "
                                  "with this session's sequence number and previous hash)")
            at = utc_now()
            ehash = entry_hash(seq, kind, prev, body_hash, at, key.public_hex)
            conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (seq, kind, ehash, prev, body_hash, canonical_json(body), at,
                          key.public_hex, key.sign(ehash)))
            appended.append((seq, ehash))
            seq, prev = seq + 1, ehash
            return ehash

        try:
            yield seq, prev, append
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
    if witness is not None:
        for s, h in appended:
            record_head(witness, path, s, h)


def append_record(path: str | Path, record: AuditRecord, key: SigningKey, *,
                  witness: Path | None = None) -> AuditRecord:
    """Seal ``record`` onto the ledger's head, append it and return the sealed record."""
    with append_session(path, key, witness=witness) as (seq, prev, append):
        sealed = record.sealed(ledger_sequence=seq, previous_sha256=prev)
        append("record", sealed.to_dict(), sealed.sealed_sha256())
    return sealed


def verify_ledger(path: str | Path, *, witness: Path | None = None,
                  until: int | None = None) -> LedgerReport:
    """Walk the chain (up to entry ``until``); report the first problem. Never raises for a
    broken chain; raises ``FileNotFoundError`` / ``LedgerError`` for an unreadable file."""
    path = Path(path)
    entries = read_entries(path)
    prev: str | None = None
    count = 0
    signers: list[str] = []
    for expected, entry in enumerate(entries, start=1):
        if until is not None and entry.seq > until:
            break
        problem = _check_entry(expected, entry, prev)
        if problem:
            return LedgerReport(str(path), count, prev, False, f"entry {entry.seq}: {problem}",
                                tuple(dict.fromkeys(signers)))
        prev, count = entry.entry_hash, count + 1
        signers.append(entry.signer)
    report = LedgerReport(str(path), count, prev, True, None, tuple(dict.fromkeys(signers)))
    if witness is not None:
        problem, seen = compare_heads(witness, path,
                                      {e.seq: e.entry_hash for e in entries})
        return LedgerReport(str(path), count, prev, problem is None, problem, report.signers,
                            seen)
    return report


def _check_entry(expected: int, entry: Entry, prev: str | None) -> str | None:
    if entry.seq != expected:
        return (f"sequence jumps from {expected - 1} to {entry.seq}: entry {expected} was "
                "deleted (or the entries were renumbered)")
    if entry.prev_hash != prev:
        return (f"its link to the previous entry ({str(entry.prev_hash)[:16]}...) does not "
                f"match entry {entry.seq - 1}'s hash ({str(prev)[:16]}...): an entry before it "
                "was changed, deleted or reordered")
    body_problem = _check_body(entry)
    if body_problem:
        return body_problem
    actual = entry_hash(entry.seq, entry.kind, entry.prev_hash, entry.body_hash,
                        entry.appended_at, entry.public_key)
    if actual != entry.entry_hash:
        return ("its hash does not cover what it stores (sequence, link, content, append time "
                "or signer were changed)")
    if not verify_signature(entry.public_key, entry.signature, entry.entry_hash):
        return f"its signature does not verify (signer {entry.signer})"
    return None


def _check_body(entry: Entry) -> str | None:
    if entry.kind == "record":
        try:
            record = AuditRecord.from_dict(entry.body)
        except RecordError as error:
            return f"its record is not a valid audit record: {error}"
        actual = record.body_sha256()
        if actual != entry.body_hash or record.integrity.record_sha256 != entry.body_hash:
            return (f"its record was edited: the content hashes to {actual[:16]}..., the "
                    f"ledger says {entry.body_hash[:16]}...")
        if (record.integrity.ledger_sequence, record.integrity.previous_sha256) != \
                (entry.seq, entry.prev_hash):
            return "its record names another position in the chain than the one it occupies"
        return None
    if entry.kind == "event":
        actual = sha256_bytes(canonical_json(entry.body).encode())
        return None if actual == entry.body_hash else "its event was edited"
    return f"unknown kind {entry.kind!r}"


def find_entry(path: str | Path, body_hash: str) -> int | None:
    """The sequence number of the entry whose body hash is ``body_hash``, or None."""
    conn = _connect(Path(path), create=False)
    try:
        row = conn.execute("SELECT seq FROM entries WHERE body_hash = ?", (body_hash,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]
