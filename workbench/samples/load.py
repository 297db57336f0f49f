"""Load a sample model with its records and manifest, checking every file's SHA-256."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from workbench.hashing import sha256_file, weights_sha256
from workbench.models import load_model
from workbench.records import RESERVED_COLUMNS, RecordTable, TrainRecipe
from workbench.samples.catalog import SAMPLES, sample_spec, samples_root
from workbench.schema import encoder_from_dict

MANIFEST_VERSION = 1
FILES = ("records", "preprocessing", "weights")


class IntegrityError(ValueError):
    """A file does not match the hash its manifest or record promises."""


@dataclass(frozen=True)
class Sample:
    """A loaded sample: the trained ``model``, its ``records`` and its ``manifest``."""

    name: str
    model: nn.Module
    records: RecordTable
    manifest: dict[str, Any]
    path: Path


def read_records(path: Path) -> pd.DataFrame:
    """Read a records CSV (optionally gzipped), checking the reserved columns."""
    try:
        frame = pd.read_csv(path, dtype={"record_id": str})
    except FileNotFoundError:
        raise FileNotFoundError(f"records file {path} does not exist") from None
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"records file {path} cannot be read: {error}") from None
    missing = [c for c in RESERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"records file {path} is missing the column(s) {missing}; "
                         f"it needs {list(RESERVED_COLUMNS)} plus the features")
    frame["member"] = frame["member"].astype(bool)
    return frame


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; rebuild with `workbench rebuild-samples`")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("schema_version") != MANIFEST_VERSION:
        raise ValueError(f"{path} has schema_version {manifest.get('schema_version')!r}; "
                         f"this workbench reads version {MANIFEST_VERSION}")
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Check each file the manifest lists exists and matches its SHA-256."""
    for role in FILES:
        entry = manifest["files"][role]
        path = folder / entry["path"]
        if not path.is_file():
            raise FileNotFoundError(f"{role} file {path} is missing")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise IntegrityError(f"{role} file {path} does not match its manifest: SHA-256 is "
                                 f"{actual[:16]}..., the manifest says {entry['sha256'][:16]}...; "
                                 "the file was changed or corrupted (rebuild or restore it)")


def load_folder(folder: Path) -> Sample:
    """Load a sample model folder (manifest, records, preprocessing, weights)."""
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    files = manifest["files"]
    encoder = encoder_from_dict(json.loads((folder / files["preprocessing"]["path"]).read_text()))
    records_path = folder / files["records"]["path"]
    frame = read_records(records_path)
    try:
        table = RecordTable(
            frame, encoder.schema, encoder,
            name=manifest["name"], recipe=TrainRecipe.from_dict(manifest["recipe"]),
            reported_test_accuracy=manifest["metrics"]["test_accuracy"])
    except ValueError as error:
        raise ValueError(f"records file {records_path}: {error}") from None
    model = load_model(folder / files["weights"]["path"])
    if weights_sha256(model) != manifest["weights_state_sha256"]:
        raise IntegrityError(f"weights in {folder} do not match the manifest's state hash")
    return Sample(manifest["name"], model, table, manifest, folder)


def load_sample(name: str, *, root: str | Path | None = None) -> Sample:
    """Load the sample model ``name`` (``clinic``, ``credit`` or ``digits``).

    Raises:
        ValueError: unknown name, or a file that does not match the manifest.
        FileNotFoundError: a missing manifest or file.
    """
    sample_spec(name)
    base = Path(root) if root else samples_root()
    return load_folder(base / name)


def list_samples(*, root: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per sample model with its headline metrics (from the manifests)."""
    base = Path(root) if root else samples_root()
    rows = []
    for name in SAMPLES:
        manifest = read_manifest(base / name)
        rows.append({"name": name, "domain": manifest["domain"], "records": manifest["metrics"]
                     ["n_records"], **{k: manifest["metrics"][k] for k in
                                       ("train_accuracy", "test_accuracy", "loss_mia_auc")}})
    return rows
