"""Load a sample model with its records and manifest, checking every file's SHA-256."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from workbench.card import ModelCard, UnseenProfile
from workbench.encoders import encoder_from_dict
from workbench.errors import (
    IntegrityError,  # a file that does not match its hash
    warn_caller,
)
from workbench.hashing import record_sha256, sha256_file, weights_sha256
from workbench.margin_features import unreadable_map
from workbench.metrics import MIN_EXPECTED_MEMBERS
from workbench.models import load_model
from workbench.models.user_class import user_template
from workbench.records import (
    RESERVED_COLUMNS,
    RecordTable,
    TrainRecipe,
    parse_membership,
)
from workbench.samples import fashion
from workbench.samples.catalog import EXTRA_SAMPLES, SAMPLES, sample_spec, samples_root

MANIFEST_VERSION = 1
FILES = ("records", "preprocessing", "weights")


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
    try:  # "no" or "False" is never a member (astype(bool) would make every record one)
        frame["member"] = parse_membership(frame["member"])
    except ValueError as error:
        raise ValueError(f"records file {path}: {error}") from None
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


def manifest_file(folder: Path, manifest: dict[str, Any], role: str) -> Path:
    """Where the manifest's ``role`` file is; it must lie inside ``folder``.

    Raises:
        IntegrityError: the path leaves the folder (``..``, an absolute path, a symlink out).
    """
    named = manifest["files"][role]["path"]
    path = (folder / named).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise IntegrityError(f"{role} file {named!r} in {folder / 'manifest.json'} points "
                             "outside the sample folder; a manifest may only name files inside "
                             "its own folder (restore the manifest)")
    return path


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Check each file the manifest lists is inside ``folder``, exists and matches its SHA-256."""
    roles = FILES if "data" not in manifest else tuple(r for r in FILES if r != "records")
    for role in roles:
        entry = manifest["files"][role]
        path = manifest_file(folder, manifest, role)
        if not path.is_file():
            raise FileNotFoundError(f"{role} file {path} is missing")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise IntegrityError(f"{role} file {path} does not match its manifest: SHA-256 is "
                                 f"{actual[:16]}..., the manifest says {entry['sha256'][:16]}...; "
                                 "the file was changed or corrupted (rebuild or restore it)")


def load_folder(folder: Path, *, data_dir: str | Path | None = None,
                model_class: str | None = None) -> Sample:
    """Load a sample model folder or model package (manifest, records, preprocessing,
    weights; see :func:`workbench.samples.pack.pack`).

    A sample whose records are an installed dataset (its manifest has ``data``) reads them
    from ``data_dir`` (or where they are installed) and checks each file's SHA-256. A package
    of a user's own class loads only when ``model_class`` names that class (importing it runs
    its code).
    """
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    encoder = encoder_from_dict(json.loads(
        manifest_file(folder, manifest, "preprocessing").read_text()))
    recipe = TrainRecipe.from_dict(manifest["recipe"])
    card = model_card(manifest, folder, num_classes=len(encoder.schema.classes))
    if "data" in manifest:
        table = _external_table(manifest, encoder, recipe, card, data_dir)
    else:
        records_path = manifest_file(folder, manifest, "records")
        frame = read_records(records_path)
        try:
            table = RecordTable(frame, encoder.schema, encoder, name=manifest["name"],
                                recipe=recipe, card=card,
                                source_columns=manifest.get("source_columns"),
                                categorical=tuple(manifest.get("categorical", ())))
        except ValueError as error:
            raise ValueError(f"records file {records_path}: {error}") from None
    model = load_model(manifest_file(folder, manifest, "weights"),
                       model=user_template(manifest.get("architecture", {}), model_class,
                                           holder=f"the model package {folder}"))
    if weights_sha256(model) != manifest["weights_state_sha256"]:
        raise IntegrityError(f"weights in {folder} do not match the manifest's state hash")
    return Sample(manifest["name"], model, table, manifest, folder)


def model_card(manifest: dict[str, Any], folder: Path,
               num_classes: int | None = None) -> ModelCard:
    """The manifest's reported metrics as a :class:`ModelCard` (an old package has no
    profile; one of the first release's unseen-margin profiles is not read: it lacks the
    smoothing the targets now rank records by; a profile without expected margins or
    without a margin map is read, with a warning; a margin map whose class offsets do not
    match ``num_classes``, the package's classes, is dropped with a warning)."""
    metrics = manifest["metrics"]
    profile = metrics.get("unseen_profile")
    if profile is None and "unseen_margin_quantiles" in metrics:
        warn_caller(f"the package {folder} reports an unseen-margin profile of an earlier "
                    "release, which this one no longer reads; re-pack it with "
                    "`workbench pack --unseen-profile` to use one")
    try:
        unseen = UnseenProfile.from_dict(profile) if profile is not None else None
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"the manifest of {folder} has a malformed unseen_profile ({error}); "
                         "re-pack it") from None
    if unseen is not None and (unreadable := unreadable_map(unseen.margin_map,
                                                              num_classes)):
        warn_caller(f"the package {folder} reports a margin map {unreadable}, so it is not "
                    "read: its erasures predict each record's margin from its rank alone; "
                    "re-pack it with `workbench pack --unseen-profile`")
        unseen = replace(unseen, margin_map=None)
    elif unseen is not None and unseen.expected_margins is None:
        warn_caller(f"the package {folder} reports an unseen profile without expected "
                    f"margins (an earlier release, or fewer than {MIN_EXPECTED_MEMBERS} "
                    "members): its erasures rank records by the profile (or its margin "
                    "map) alone; with "
                    f"{MIN_EXPECTED_MEMBERS} members or more, re-pack it with `workbench "
                    "pack --unseen-profile` to add them")
    elif unseen is not None and unseen.margin_map is None:
        warn_caller(f"the package {folder} reports an unseen profile without a margin map "
                    "(an earlier release): its erasures predict each record's margin from "
                    "its rank alone; re-pack it with `workbench pack --unseen-profile` to "
                    "add one")
    return ModelCard(test_accuracy=metrics["test_accuracy"], unseen=unseen)


def _external_table(manifest: dict[str, Any], encoder, recipe: TrainRecipe, card: ModelCard,
                    data_dir: str | Path | None) -> RecordTable:
    data = manifest["data"]
    if data.get("loader") != "fashion-mnist":
        raise ValueError(f"unknown data loader {data.get('loader')!r} in the manifest of "
                         f"{manifest['name']!r}; this workbench knows 'fashion-mnist'")
    folder = fashion.find_data_dir(data_dir)
    for file, expected in data["files"].items():
        actual = sha256_file(folder / file)
        if actual != expected:
            raise IntegrityError(f"data file {folder / file} does not match the manifest of "
                                 f"{manifest['name']!r}: SHA-256 is {actual[:16]}..., the "
                                 f"manifest says {expected[:16]}...")
    if record_sha256(data["files"]) != manifest["data_sha256"]:
        raise IntegrityError(f"the data hashes in the manifest of {manifest['name']!r} do not "
                             "match its data_sha256")
    table = fashion.fashion_table(data["train_size"], data_dir=folder, seed=data["split_seed"],
                                  name=manifest["name"], recipe=recipe,
                                  card=card)
    if table.encoder.to_dict() != encoder.to_dict():
        raise ValueError(f"preprocessing of {manifest['name']!r} does not match its data loader")
    return table


def load_sample(name: str, *, root: str | Path | None = None,
                data_dir: str | Path | None = None) -> Sample:
    """Load the sample model ``name`` (``clinic``, ``credit``, ``digits``; ``fashion`` once
    built with ``workbench rebuild-samples --include fashion``).

    ``data_dir`` is where ``fashion``'s IDX files are, when not installed by Debian's package.

    Raises:
        ValueError: unknown name, or a file that does not match the manifest.
        FileNotFoundError: a missing manifest, file or dataset.
    """
    sample_spec(name)
    base = Path(root) if root else samples_root()
    if name in EXTRA_SAMPLES and not (base / name / "manifest.json").is_file():
        raise FileNotFoundError(
            f"sample {name!r} is built on demand and {base / name} holds no build yet; run "
            f"`workbench rebuild-samples --replace --only {name}` (or benchmarks/scale.py)")
    return load_folder(base / name, data_dir=data_dir)


def list_samples(*, root: str | Path | None = None,
                 include: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
    """One row per sample model with its headline metrics (from the manifests).

    The committed samples, plus those built on demand that ``include`` names.
    """
    base = Path(root) if root else samples_root()
    for name in include:
        sample_spec(name)
    rows = []
    for name in dict.fromkeys([*SAMPLES, *include]):
        manifest = read_manifest(base / name)
        rows.append({"name": name, "domain": manifest["domain"], "records": manifest["metrics"]
                     ["n_records"], **{k: manifest["metrics"][k] for k in
                                       ("train_accuracy", "test_accuracy", "loss_mia_auc")}})
    return rows
