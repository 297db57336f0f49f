"""``AuditRecord``: the sealed, versioned JSON evidence of one erasure.

The record holds the request, what was erased (ids, the selection rule and a SHA-256 of each
record's canonical serialisation, never the raw data), the models' identities, the method,
the gold standard, the tests with their thresholds, intervals and verdicts, the approvals and
its own integrity block. Reading a record validates every field's type and format, checks
the record's hash and that the file is byte for byte in the canonical form it was written in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.atomic import atomic_path
from workbench.audit._json import JsonRecord
from workbench.evidence._validate import RecordError, check_utc
from workbench.evidence.record_parts import (  # the record's sections, importable here
    DECISIONS,
    STATUSES,
    Approval,
    Attempt,
    Erased,
    GoldModel,
    GoldStandard,
    Integrity,
    Method,
    ModelIdentity,
    Request,
    Tests,
)
from workbench.hashing import record_sha256

SCHEMA = "erasure-workbench/audit-record"
SCHEMA_VERSION = 2  # 2: calibrated verdicts and a gold-standard ensemble (v1 up to 2026-12-01)
SEALED_FIELDS = ("record_sha256", "signature", "public_key")  # not covered by the hash


@dataclass(frozen=True)
class AuditRecord(JsonRecord):
    """The evidence of one erasure (see the module docstring)."""

    created_at: str
    request: Request
    erased: Erased
    model: ModelIdentity
    method: Method
    gold_standard: GoldStandard
    tests: Tests
    approval: Approval
    integrity: Integrity
    attempts: tuple[Attempt, ...] = ()
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_utc(self.created_at, "created_at")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        """Validate and rebuild; a wrong schema, version, type or format: ``RecordError``."""
        if not isinstance(data, dict):
            raise RecordError(f"an audit record is a JSON object, not {type(data).__name__}")
        if data.get("schema") == SCHEMA and data.get("schema_version") == 1:
            code = data.get("method", {}).get("code_version", "unknown")
            raise RecordError(f"this is a version-1 audit record (one gold model, uncalibrated "
                              f"verdicts), written by {code}; verify it with that code version "
                              "(e.g. git checkout of its commit): this workbench reads and "
                              f"re-runs version {SCHEMA_VERSION} only")
        if (data.get("schema"), data.get("schema_version")) != (SCHEMA, SCHEMA_VERSION):
            raise RecordError(f"not an audit record of schema {SCHEMA!r} version "
                              f"{SCHEMA_VERSION}: found {data.get('schema')!r} version "
                              f"{data.get('schema_version')!r}")
        try:
            return super().from_dict(data)
        except RecordError:
            raise
        except (ValueError, TypeError, AttributeError) as error:
            raise RecordError(f"invalid audit record: {error}") from None

    def body_sha256(self) -> str:
        """SHA-256 of the canonical JSON of everything except the sealed fields."""
        data = self.to_dict()
        data["integrity"] = {k: v for k, v in data["integrity"].items()
                             if k not in SEALED_FIELDS}
        return record_sha256(data)

    def sealed(self, *, ledger_sequence: int | None, previous_sha256: str | None) -> AuditRecord:
        """This record linked to the ledger and with its hash set (signature cleared)."""
        linked = replace(self, integrity=Integrity(ledger_sequence, previous_sha256, None, None,
                                                   None))
        return replace(linked, integrity=replace(linked.integrity,
                                                 record_sha256=linked.body_sha256()))

    def sealed_sha256(self) -> str:
        """``integrity.record_sha256`` (not checked against the content: see
        :meth:`check_hash`); ``RecordError`` if the record is not sealed."""
        if self.integrity.record_sha256 is None:
            raise RecordError("the record is not sealed: integrity.record_sha256 is empty")
        return self.integrity.record_sha256

    def check_hash(self) -> str:
        """The sealed ``record_sha256``; ``RecordError`` if the record is not sealed or its
        content no longer matches its hash."""
        if self.integrity.record_sha256 is None:
            raise RecordError("the record is not sealed: integrity.record_sha256 is empty")
        actual = self.body_sha256()
        if actual != self.integrity.record_sha256:
            raise RecordError(f"the record was changed after it was sealed: its content hashes "
                              f"to {actual[:16]}..., integrity.record_sha256 says "
                              f"{self.integrity.record_sha256[:16]}...")
        return actual


def dumps(record: AuditRecord) -> str:
    """The canonical file text: sorted keys, 2-space indent, ASCII, trailing newline."""
    return json.dumps(record.to_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def save_record(record: AuditRecord, path: str | Path) -> Path:
    """Write ``record`` atomically in its canonical form."""
    record.check_hash()
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(record))
    return Path(path)


def load_record(path: str | Path) -> AuditRecord:
    """Read, validate and hash-check a record file.

    Raises:
        FileNotFoundError: no such file.
        RecordError: not JSON, not the schema, a changed value (hash mismatch) or any other
            changed byte (the file is no longer in its canonical form).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"record file {path} does not exist")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"record file {path} is not valid JSON ({error}); it was changed "
                          "or truncated") from None
    try:
        record = AuditRecord.from_dict(data)
        record.check_hash()
    except RecordError as error:
        raise RecordError(f"record file {path}: {error}") from None
    if dumps(record) != text:
        raise RecordError(f"record file {path} differs from the canonical form it was written "
                          "in (a byte was changed, e.g. whitespace or escaping); its content "
                          "still matches its hash, but the file is not the one written")
    return record


__all__ = ["DECISIONS", "SCHEMA", "SCHEMA_VERSION", "SEALED_FIELDS", "STATUSES", "Approval",
           "Attempt", "AuditRecord", "Erased", "GoldModel", "GoldStandard", "Integrity",
           "Method", "ModelIdentity", "RecordError", "Request", "Tests", "dumps", "load_record",
           "save_record"]
