"""The evidence vault: what ``verify`` needs of the erased records, encrypted, until close.

The record and the ledger never hold an erased record's id or content in the clear: each id
and each record's hash is keyed with a per-request secret (HMAC-SHA256), so nobody holding a
candidate row can test it against the evidence. The secret, the ids, the records' rows and
their positions in the table are kept in a vault, encrypted (AES-256-GCM) with a key stored
apart from it (``$WORKBENCH_VAULT_KEYS``, default ``~/.config/erasure-workbench/vault-keys``,
mode 0600), for an audit window (30 days by default) in which ``workbench verify`` can re-run
the whole audit. ``workbench close`` shreds the key and the vault (crypto-shredding: a backup
of the encrypted vault is unreadable without the key); the record then still verifies its
signatures, hashes and recorded verdicts, but can no longer be linked to a person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from workbench.errors import IntegrityError

VAULT_FORMAT = "erasure-workbench/vault/1"
DEFAULT_WINDOW_DAYS = 30


class VaultError(IntegrityError):
    """A vault is missing, unreadable or was tampered with."""


class VaultShredded(VaultError):
    """A vault's key is gone: the request was closed (or the key was deleted)."""


def vault_root() -> Path:
    env = os.environ.get("WORKBENCH_VAULT")
    return Path(env) if env else Path.home() / ".local" / "share" / "erasure-workbench" / "vault"


def vault_key_root() -> Path:
    env = os.environ.get("WORKBENCH_VAULT_KEYS")
    return Path(env) if env else Path.home() / ".config" / "erasure-workbench" / "vault-keys"


def keyed(secret: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under the request's secret (hex)."""
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def new_secret() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class VaultContents:
    """What a vault holds: the secret, the erased ids, their table positions and raw rows."""

    secret: bytes
    ids: tuple[str, ...]
    positions: tuple[int, ...]
    rows: tuple[dict[str, Any], ...]


def _paths(vault_id: str) -> tuple[Path, Path]:
    if not vault_id or not all(c in "0123456789abcdef" for c in vault_id):
        raise VaultError(f"invalid vault id {vault_id!r}")
    return vault_root() / f"{vault_id}.vault", vault_key_root() / f"{vault_id}.key"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def seal_vault(contents: VaultContents) -> tuple[str, str]:
    """Encrypt ``contents`` into a new vault; return ``(vault id, SHA-256 of the vault)``."""
    vault_id = secrets.token_hex(16)
    blob_path, key_path = _paths(vault_id)
    key, nonce = AESGCM.generate_key(bit_length=256), secrets.token_bytes(12)
    plain = json.dumps({"format": VAULT_FORMAT, "secret": contents.secret.hex(),
                        "ids": list(contents.ids), "positions": list(contents.positions),
                        "rows": list(contents.rows)}, default=str).encode()
    blob = nonce + AESGCM(key).encrypt(nonce, plain, vault_id.encode())
    _write_private(key_path, key)
    try:
        _write_private(blob_path, blob)
    except BaseException:
        key_path.unlink(missing_ok=True)
        raise
    return vault_id, hashlib.sha256(blob).hexdigest()


def open_vault(vault_id: str, blob_sha256: str | None = None) -> VaultContents:
    """Decrypt a vault. Raises ``VaultShredded`` when its key is gone and ``VaultError``
    when the vault is missing, altered or cannot be decrypted with its key."""
    blob_path, key_path = _paths(vault_id)
    if not key_path.is_file():
        raise VaultShredded(f"the vault key of {vault_id} is gone ({key_path}): the request was "
                            "closed and its erased records shredded, or the key was deleted")
    if not blob_path.is_file():
        raise VaultError(f"the vault {blob_path} is missing: it was deleted or moved")
    blob = blob_path.read_bytes()
    if blob_sha256 is not None and hashlib.sha256(blob).hexdigest() != blob_sha256:
        raise VaultError(f"the vault {blob_path} differs from the one the record names")
    try:
        plain = AESGCM(key_path.read_bytes()).decrypt(blob[:12], blob[12:], vault_id.encode())
        data = json.loads(plain)
    except (InvalidTag, ValueError):
        raise VaultError(f"the vault {blob_path} cannot be decrypted with its key (the "
                         "authentication failed): it or the key was altered") from None
    return VaultContents(bytes.fromhex(data["secret"]), tuple(data["ids"]),
                         tuple(data["positions"]), tuple(data["rows"]))


def shred_vault(vault_id: str) -> list[str]:
    """Destroy a vault's key and the vault (overwritten, then deleted); return what went."""
    gone = []
    for path in _paths(vault_id)[::-1]:  # the key first: without it the vault is noise
        if path.is_file():
            size = path.stat().st_size
            with path.open("r+b") as handle:
                handle.write(secrets.token_bytes(size))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
            gone.append(str(path))
    return gone
