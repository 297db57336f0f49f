"""The on-disk cache of trained models (shadow models and gold-standard retrains).

An entry is a folder ``<cache>/<kind>/<digest[:32]>/`` of safetensors files and a
``key.json`` sidecar: the key the entry was trained for, its digest, each file's SHA-256 and
``trained_on``, one bit string per model over the table's rows (``1`` where that model
trained on the row). An entry is written into a staging folder and renamed into place, so
a crash never leaves half an entry; on load the key, the masks and every file hash are
checked and a mismatch is a :class:`CacheError`.

``trained_on`` is what makes an erasure able to find every cached model that still carries
an erased record's influence: :func:`purge_trained_on` deletes them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from workbench.atomic import current_umask, write_json
from workbench.errors import IntegrityError
from workbench.hashing import sha256_file
from workbench.models import load_model, save_model
from workbench.training import reinitialise

KINDS = ("reference-models", "gold-standard", "originals")


class CacheError(IntegrityError):
    """A cache entry is unreadable or does not match the key it is stored under."""


def bits(mask: np.ndarray) -> str:
    """A bool row as a ``0``/``1`` string."""
    return "".join("1" if m else "0" for m in np.asarray(mask, dtype=bool))


def write_entry(folder: Path, key: dict[str, Any], digest: str, trained_on: np.ndarray,
                models: Sequence[nn.Module], extra: dict[str, Any] | None = None) -> None:
    """Write ``models`` and their sidecar as one entry at ``folder`` (atomically).

    ``trained_on``: ``(K, N)`` bool, which table rows model ``k`` trained on. If another
    process finished the same entry first, its entry is kept and this one discarded.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        staging.chmod(0o777 & ~current_umask())
        files = []
        for k, net in enumerate(models):
            name = f"model-{k:03d}.safetensors"
            save_model(net, staging / name)
            files.append({"path": name, "sha256": sha256_file(staging / name)})
        write_json(staging / "key.json", {
            "key": key, "digest": digest, "files": files, **(extra or {}),
            "membership": [bits(row) for row in trained_on]})
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / "key.json").is_file():  # not another process's finished entry
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_entry(folder: Path, key: dict[str, Any], digest: str, trained_on: np.ndarray,
               template: nn.Module) -> tuple[tuple[nn.Module, ...], dict[str, Any]]:
    """The models of the entry at ``folder`` and its sidecar, after checking both."""
    def broken(why: str) -> CacheError:
        return CacheError(f"model cache entry {folder} {why}; delete that folder to train "
                          "its models again")

    try:
        sidecar = json.loads((folder / "key.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise broken(f"has no readable key.json ({error})") from None
    if not isinstance(sidecar, dict) or sidecar.get("key") != key \
            or sidecar.get("digest") != digest:
        raise broken("does not match its key (model, data, recipe, count or seed differ)")
    if sidecar.get("membership") != [bits(row) for row in trained_on]:
        raise broken("holds training-set masks that do not match its key")
    files = sidecar.get("files")
    if not isinstance(files, list) or len(files) != len(trained_on):
        raise broken(f"lists {len(files) if isinstance(files, list) else 'no'} model files, "
                     f"expected {len(trained_on)}")
    models = []
    for entry in files:
        path = folder / str(entry.get("path", ""))
        if not path.is_file() or sha256_file(path) != entry.get("sha256"):
            raise broken(f"has a missing or altered model file {path.name}")
        try:
            models.append(load_model(path, model=reinitialise(template, 0).to("cpu")))
        except ValueError as error:
            raise broken(f"has a model file that does not fit the model ({error})") from None
    return tuple(models), sidecar


@dataclass(frozen=True)
class PurgeReport:
    """What :func:`purge_trained_on` deleted and what it left.

    Attributes:
        deleted: entry folders removed (each held a model trained on an erased record).
        kept: entries of the same table whose models never saw an erased record.
        unreadable: entries whose sidecar could not be read (left in place, named).
    """

    deleted: tuple[str, ...]
    kept: tuple[str, ...]
    unreadable: tuple[str, ...]


def purge_trained_on(data_sha256: str, positions: np.ndarray | Sequence[int],
                     cache_dir: Path) -> PurgeReport:
    """Delete every cached entry for the table ``data_sha256`` holding a model trained on any
    row in ``positions`` (row indices into that table). Other tables' entries are untouched.
    """
    deleted, kept, unreadable = [], [], []
    positions = np.asarray(positions, dtype=np.int64)
    for kind in KINDS:
        root = Path(cache_dir) / kind
        for folder in sorted(root.glob("*")) if root.is_dir() else ():
            if folder.name.startswith("."):
                continue  # a staging folder of a write in progress
            try:
                sidecar = json.loads((folder / "key.json").read_text())
                if sidecar["key"]["data_sha256"] != data_sha256:
                    continue
                rows = sidecar["membership"]
                hit = any(row[p] == "1" for row in rows for p in positions)
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                unreadable.append(str(folder))
                continue
            if hit:
                shutil.rmtree(folder)
                deleted.append(str(folder))
            else:
                kept.append(str(folder))
    return PurgeReport(tuple(deleted), tuple(kept), tuple(unreadable))
