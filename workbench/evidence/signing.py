"""Ed25519 signatures of audit records (every record is signed by its operator's key).

The signature covers the record's ``record_sha256`` (which covers everything else). The
record carries the signer's raw public key (hex); a verifier pins the key it trusts
(``trusted``), or at least sees whose key it was (the fingerprint), since anyone can re-sign
an edited record with a key of their own.
"""

from __future__ import annotations

import dataclasses

from workbench.evidence.keys import SigningKey, fingerprint, verify_signature
from workbench.evidence.record import AuditRecord, RecordError


def sign_record(record: AuditRecord, key: SigningKey) -> AuditRecord:
    """``record`` (sealed) with ``key``'s Ed25519 signature and public key."""
    digest = record.check_hash()
    return dataclasses.replace(record, integrity=dataclasses.replace(
        record.integrity, signature=key.sign(digest),
        public_key=key.public_hex))


def check_signature(record: AuditRecord, trusted: str | None = None, *,
                    allow_unsigned: bool = False) -> str:
    """Check the record's signature; return a one-line description.

    Raises ``RecordError`` when the record is unsigned (unless ``allow_unsigned``), the
    signature does not verify, or it is by another key than ``trusted`` (hex public key or
    16-digit fingerprint).
    """
    sig, pub = record.integrity.signature, record.integrity.public_key
    if sig is None or pub is None:
        if allow_unsigned and not trusted:
            return "NOT SIGNED: accepted only because --allow-unsigned was given"
        raise RecordError("the record is not signed: anyone could have written it (verify "
                          "with --allow-unsigned to check it anyway)")
    digest = record.integrity.record_sha256
    if digest is None:
        raise RecordError("the record is signed but not sealed: integrity.record_sha256 is empty")
    if not verify_signature(pub, sig, digest):
        raise RecordError("the record's Ed25519 signature does not verify")
    who = fingerprint(pub)
    if trusted and trusted.lower() not in (pub.lower(), who):
        raise RecordError(f"the record was signed by key {who}, not by the trusted key")
    return f"Ed25519 signature valid, key {who}" + (" (the trusted key)" if trusted else
                                                     " (not pinned: pass --trusted-key)")
