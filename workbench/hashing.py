"""SHA-256 fingerprints of files, model weights and records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from workbench.records import RecordTable


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(model: nn.Module | dict[str, torch.Tensor]) -> str:
    """Hex SHA-256 of a model's state: parameter names, dtypes, shapes and bytes, in name order.

    The same weights give the same hash whatever device they live on.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else model
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else
                      tensor.view(torch.int16).numpy().tobytes())
    return digest.hexdigest()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the canonical form we hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def record_sha256(record: dict[str, Any]) -> str:
    """Hex SHA-256 of one record's canonical JSON serialisation."""
    return sha256_bytes(canonical_json(record).encode())


def ids_sha256(ids: Iterable[str]) -> str:
    """Hex SHA-256 of a set of record ids, whatever their order (canonical JSON, sorted)."""
    return sha256_bytes(canonical_json(sorted(ids)).encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__} to canonical JSON")


def table_sha256(table: RecordTable) -> str:
    """SHA-256 of a table's ids, labels and encoded inputs: what every trained model saw (the
    key of cached models, and the records' identity in the evidence)."""
    digest = hashlib.sha256(canonical_json(list(table.ids)).encode())
    digest.update(table.labels().numpy().astype("<i8").tobytes())
    digest.update(table.inputs().numpy().astype("<f4").tobytes())
    return digest.hexdigest()
