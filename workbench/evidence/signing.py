"""Optional Ed25519 signatures of audit records (needs the ``cryptography`` package).

The signature covers the record's ``record_sha256`` (which covers everything else). The
record carries the signer's raw public key (hex); a verifier that holds the trusted key
passes it too, or an editor could re-sign with a key of their own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from workbench.evidence.record import AuditRecord, RecordError


def signing_available() -> bool:
    """Whether ``cryptography`` is installed."""
    try:
        import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not signing_available():
        raise ValueError("Ed25519 signing needs the `cryptography` package: "
                         "pip install 'erasure-workbench[signing]'")


def _raw_public(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign_record(record: AuditRecord, private_key_pem: str | Path) -> AuditRecord:
    """``record`` (sealed) with an Ed25519 signature from the PEM private key file."""
    _require()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    record.check_hash()
    try:
        key = serialization.load_pem_private_key(Path(private_key_pem).read_bytes(), None)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"cannot read the signing key {private_key_pem}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{private_key_pem} is not an Ed25519 private key")
    signature = key.sign(record.integrity.record_sha256.encode()).hex()
    return dataclasses.replace(record, integrity=dataclasses.replace(
        record.integrity, signature=signature, public_key=_raw_public(key.public_key())))


def check_signature(record: AuditRecord, trusted_public_key_hex: str | None = None) -> str:
    """Check the record's signature; return a one-line description. Raise ``RecordError``
    when it is missing but a trusted key is given, does not verify, or is by another key."""
    sig, pub = record.integrity.signature, record.integrity.public_key
    if sig is None:
        if trusted_public_key_hex:
            raise RecordError("the record is not signed, but a trusted public key was given")
        return "not signed"
    _require()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if trusted_public_key_hex and trusted_public_key_hex.lower() != (pub or "").lower():
        raise RecordError("the record was signed by another key than the trusted one")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub or "")).verify(
            bytes.fromhex(sig), record.integrity.record_sha256.encode())
    except (InvalidSignature, ValueError):
        raise RecordError("the record's Ed25519 signature does not verify") from None
    return f"Ed25519 signature valid (key {pub[:16]}...)"
