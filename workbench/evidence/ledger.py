"""An append-only, hash-chained ledger of audit records in SQLite.

One table, ``entries(seq, record_hash, prev_hash, record_json, appended_at)``. Entry ``n``
stores the hash of entry ``n - 1`` and its record carries the same link inside the hashed
body, so editing, deleting or reordering an entry breaks the chain at that point.
``verify_ledger`` walks the chain and names the first broken link. Triggers refuse UPDATE
and DELETE; someone with the file can drop them, which the chain then exposes. Deleting the
newest entries leaves a shorter valid chain: keep the head hash that ``verify`` prints (or
the record files, which name their sequence number) somewhere else to catch that.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.evidence._validate import utc_now
from workbench.evidence.record import AuditRecord, RecordError
from workbench.hashing import canonical_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    record_hash TEXT NOT NULL UNIQUE,
    prev_hash TEXT,
    record_json TEXT NOT NULL,
    appended_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be deleted'); END;
"""


LOCK_TIMEOUT_S = 600  # a concurrent erase holds the lock while it renders its reports
Appender = Callable[[AuditRecord], None]


class LedgerError(ValueError):
    """The ledger is unreadable or its chain is broken."""


def default_ledger_path() -> Path:
    """``$WORKBENCH_LEDGER`` if set, else ``~/.local/share/erasure-workbench/ledger.sqlite``."""
    env = os.environ.get("WORKBENCH_LEDGER")
    return Path(env) if env else (Path.home() / ".local" / "share" / "erasure-workbench"
                                  / "ledger.sqlite")


@dataclass(frozen=True)
class LedgerReport:
    """The outcome of a walk: entries checked, the head hash, and the first broken link."""

    path: str
    entries: int
    head_sha256: str | None
    ok: bool
    problem: str | None


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.is_file():
        raise FileNotFoundError(f"ledger {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=LOCK_TIMEOUT_S)
        conn.executescript(_SCHEMA) if create else conn.execute("SELECT 1 FROM entries LIMIT 1")
    except sqlite3.DatabaseError as error:
        raise LedgerError(f"ledger {path} is not a readable workbench ledger: {error}") from None
    return conn


@contextlib.contextmanager
def append_session(path: str | Path) -> Iterator[tuple[int, str | None, Appender]]:
    """Lock the ledger and yield ``(next_seq, previous_hash, append)``.

    Call ``append(sealed_record)`` once to add the entry; it commits when the block ends
    without error. An error or Ctrl-C inside the block rolls back: no entry is added.
    """
    conn = _connect(Path(path), create=True)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")  # waits up to LOCK_TIMEOUT_S for another writer
        except sqlite3.OperationalError as error:
            raise LedgerError(f"ledger {path} cannot be locked for writing: {error}") from None
        row = conn.execute("SELECT seq, record_hash FROM entries ORDER BY seq DESC LIMIT 1"
                           ).fetchone()
        seq, prev = (1, None) if row is None else (row[0] + 1, row[1])

        def append(record: AuditRecord) -> None:
            record.check_hash()
            if (record.integrity.ledger_sequence, record.integrity.previous_sha256) != (seq, prev):
                raise LedgerError("the record is not linked to the ledger's head")
            conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?)",
                         (seq, record.integrity.record_sha256, prev,
                          canonical_json(record.to_dict()), utc_now()))

        try:
            yield seq, prev, append
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def append_record(path: str | Path, record: AuditRecord) -> AuditRecord:
    """Seal ``record`` onto the ledger's head, append it and return the sealed record."""
    with append_session(path) as (seq, prev, append):
        sealed = record.sealed(ledger_sequence=seq, previous_sha256=prev)
        append(sealed)
    return sealed


def verify_ledger(path: str | Path) -> LedgerReport:
    """Walk the chain from the first entry; report the first broken link (never raises for
    a broken chain; raises ``FileNotFoundError`` / ``LedgerError`` for an unreadable file)."""
    path = Path(path)
    conn = _connect(path, create=False)
    try:
        rows = conn.execute("SELECT seq, record_hash, prev_hash, record_json FROM entries "
                            "ORDER BY seq").fetchall()
    except sqlite3.DatabaseError as error:
        raise LedgerError(f"ledger {path} cannot be read: {error}") from None
    finally:
        conn.close()
    prev, count = None, 0
    for expected, (seq, stored_hash, prev_hash, text) in enumerate(rows, start=1):
        problem = _check_entry(expected, seq, stored_hash, prev_hash, text, prev)
        if problem:
            return LedgerReport(str(path), count, prev, False, f"entry {seq}: {problem}")
        prev, count = stored_hash, count + 1
    return LedgerReport(str(path), count, prev, True, None)


def _check_entry(expected: int, seq: int, stored_hash: str, prev_hash: str | None, text: str,
                 prev: str | None) -> str | None:
    if seq != expected:
        return (f"sequence jumps from {expected - 1} to {seq}: entry {expected} was deleted "
                "(or the entries were renumbered)")
    if prev_hash != prev:
        return (f"its link to the previous entry ({str(prev_hash)[:16]}...) does not match "
                f"entry {seq - 1}'s hash ({str(prev)[:16]}...): an entry before it was changed, "
                "deleted or reordered")
    try:
        record = AuditRecord.from_dict(json.loads(text))
    except (json.JSONDecodeError, RecordError) as error:
        return f"its record is not a valid audit record: {error}"
    actual = record.body_sha256()
    if actual != stored_hash or record.integrity.record_sha256 != stored_hash:
        return (f"its record was edited: the content hashes to {actual[:16]}..., the ledger "
                f"says {stored_hash[:16]}...")
    if (record.integrity.ledger_sequence, record.integrity.previous_sha256) != (seq, prev):
        return "its record names another position in the chain than the one it occupies"
    return None


def find_entry(path: str | Path, record_hash: str) -> int | None:
    """The sequence number of the entry with ``record_hash``, or None."""
    conn = _connect(Path(path), create=False)
    try:
        row = conn.execute("SELECT seq FROM entries WHERE record_hash = ?",
                           (record_hash,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]
