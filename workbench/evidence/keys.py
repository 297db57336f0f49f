"""Ed25519 keys: every record and every ledger entry is signed by the person who made it.

A key is created on first use at ``$WORKBENCH_KEY`` or ``~/.config/erasure-workbench/key.pem``
(mode 0600 in a 0700 folder), never inside an evidence folder. Its public key (hex) and
fingerprint (the first 16 hex digits of the public key's SHA-256) go into what it signs;
``workbench key`` prints them so that an auditor can pin them (``--trusted-key``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def default_key_path() -> Path:
    """``$WORKBENCH_KEY`` if set, else ``~/.config/erasure-workbench/key.pem``."""
    env = os.environ.get("WORKBENCH_KEY")
    return Path(env) if env else Path.home() / ".config" / "erasure-workbench" / "key.pem"


def fingerprint(public_hex: str) -> str:
    """First 16 hex digits of the SHA-256 of a raw public key."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A private key that signs, with its public key (hex) and fingerprint."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public_hex(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_hex)

    def sign(self, text: str) -> str:
        """Hex Ed25519 signature of ``text`` (UTF-8)."""
        return self.private.sign(text.encode()).hex()


def load_key(path: str | Path | None = None, *, create: bool = True) -> SigningKey:
    """The signing key at ``path`` (default :func:`default_key_path`), created on first use.

    Raises:
        ValueError: the file is not an Ed25519 private key, or is readable by others.
    """
    path = Path(path) if path is not None else default_key_path()
    if not path.exists():
        if not create:
            raise ValueError(f"no signing key at {path}; create one with `workbench key`")
        return _create(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ValueError(f"the signing key {path} is readable by other users (mode "
                         f"{path.stat().st_mode & 0o777:o}); run `chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"cannot read the signing key {path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey(key, path)


def _create(path: Path) -> SigningKey:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SigningKey(key, path)


def verify_signature(public_hex: str, signature_hex: str, text: str) -> bool:
    """Whether ``signature_hex`` is ``public_hex``'s Ed25519 signature of ``text``."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature_hex), text.encode())
    except (InvalidSignature, ValueError):
        return False
    return True
