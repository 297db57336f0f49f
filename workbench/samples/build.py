"""Train a sample model from its committed records and write its folder, atomically."""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from workbench.atomic import current_umask, write_json
from workbench.card import UnseenProfile
from workbench.hashing import record_sha256, sha256_file, weights_sha256
from workbench.metrics import loss_mia_auc, set_accuracy, unseen_profile
from workbench.models import build_model, save_model
from workbench.records import RESERVED_COLUMNS, RecordTable
from workbench.samples import fashion
from workbench.samples.catalog import (
    EXTRA_SAMPLES,
    SAMPLES,
    SampleSpec,
    sample_spec,
    samples_root,
)
from workbench.samples.load import MANIFEST_VERSION, read_records
from workbench.training import train_classifier

COPIED = ("records.csv.gz", "SOURCE.md")


def library_versions() -> dict[str, str]:
    names = ("torch", "numpy", "pandas", "scikit-learn", "safetensors")
    return {"python": platform.python_version(), **{n: metadata.version(n) for n in names}}


def architecture_for(spec: SampleSpec, table: RecordTable) -> dict[str, Any]:
    """The sample's architecture spec with input and output sizes filled in."""
    arch = dict(spec.architecture, num_classes=table.num_classes)
    if arch["name"] == "mlp":
        arch["in_features"] = table.input_space.size
    return arch


def sample_table(spec: SampleSpec, records_path: Path, *,
                 data_dir: str | Path | None = None) -> RecordTable:
    """The records ``spec`` trains on: its committed CSV, or its installed dataset."""
    if spec.data == "fashion-mnist":
        return fashion.fashion_table(spec.train_size, data_dir=data_dir, seed=spec.seed,
                                     name=spec.name, recipe=spec.recipe)
    frame = read_records(records_path)
    features = frame.drop(columns=list(RESERVED_COLUMNS))
    encoder = spec.fit_encoder(features, frame["member"])
    return RecordTable(frame, encoder.schema, encoder, name=spec.name, recipe=spec.recipe)


def train_sample(spec: SampleSpec, records_path: Path, *, device: str = "cpu",
                 data_dir: str | Path | None = None):
    """Train ``spec``'s model on the member rows of ``records_path``; return (table, model).

    A sample whose records come from an installed dataset (``spec.data``) reads them from
    ``data_dir`` (or where :func:`workbench.samples.fashion.find_data_dir` finds them).
    """
    table = sample_table(spec, records_path, data_dir=data_dir)
    return table, train_on_table(spec, table, device=device)


def train_on_table(spec: SampleSpec, table: RecordTable, *, device: str = "cpu"):
    """A fresh model of ``spec``'s architecture trained on ``table``'s members, returned on
    the CPU (trained on ``device``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = build_model(architecture_for(spec, table))
    members = table.members()
    train_classifier(model, members.inputs(), members.labels(), spec.recipe,
                     seed=spec.seed, device=device)
    return model.to("cpu")


def sample_metrics(model: torch.nn.Module, table: RecordTable) -> dict[str, Any]:
    members, held_out = table.members(), table.held_out()
    return {
        "n_records": len(table), "n_members": len(members), "n_held_out": len(held_out),
        "train_accuracy": round(set_accuracy(model, members), 4),
        "test_accuracy": round(set_accuracy(model, held_out), 4),
        "loss_mia_auc": round(loss_mia_auc(model, members, held_out), 4),
    }


def build_sample(name: str, source: Path, target: Path, *, device: str = "cpu",
                 data_dir: str | Path | None = None) -> dict[str, Any]:
    """Train sample ``name`` from ``source/records.csv.gz``; write a complete folder at ``target``.

    A sample with an installed dataset (``fashion``) reads it from ``data_dir`` instead and
    records the data files' hashes in the manifest. Files are written into a temporary
    folder first and moved in place at the end, so a crash leaves ``target`` as it was.
    """
    spec = sample_spec(name)
    table, model = train_sample(spec, source / "records.csv.gz", device=device,
                                data_dir=data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    staging.chmod(0o777 & ~current_umask())
    try:
        for file in COPIED:
            if (source / file).is_file():
                shutil.copyfile(source / file, staging / file)
        write_json(staging / "preprocessing.json", table.encoder.to_dict())
        save_model(model, staging / "model.safetensors")
        manifest = make_manifest(spec, table, model, staging, data_dir=data_dir,
                                 device=device)
        write_json(staging / "manifest.json", manifest)
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def card_profile(model: torch.nn.Module, table: RecordTable, profile: UnseenProfile, *,
                 test_accuracy: float, seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """``profile`` as a manifest reports it, with the drift allowance ``synthetic`` measures
    on ``model`` (:func:`workbench.unlearn.synthetic_card.with_drift_allowance`). The one
    place this layer asks the unlearning layer above it, hence the lazy import."""
    from workbench.unlearn.synthetic_card import with_drift_allowance
    return with_drift_allowance(model, table, profile, seed=seed, device=device,
                                test_accuracy=test_accuracy).to_dict()


def make_manifest(spec: SampleSpec, table: RecordTable, model: torch.nn.Module,
                  folder: Path, *, data_dir: str | Path | None = None,
                  device: str = "cpu") -> dict[str, Any]:
    roles: tuple[tuple[str, str], ...] = (("preprocessing", "preprocessing.json"),
                                          ("weights", "model.safetensors"))
    if spec.data is None:
        roles = (("records", "records.csv.gz"), *roles)
    files = {role: {"path": path, "sha256": sha256_file(folder / path)} for role, path in roles}
    extra: dict[str, Any] = {}
    metrics = sample_metrics(model, table)
    if spec.data is None:  # (the installed-dataset sample would train ten 48,000-image models)
        metrics["unseen_profile"] = card_profile(
            model, table, unseen_profile(model, table, seed=spec.seed, device=device),
            test_accuracy=metrics["test_accuracy"], seed=spec.seed, device=device)
        split = "stratified by label, seed 0 (member column of records.csv.gz)"
        data_sha256 = files["records"]["sha256"]
    else:
        hashes = fashion.data_hashes(data_dir)
        members = len(table.members())
        split = (f"{members} training images as members (class-stratified subset, seed "
                 f"{spec.seed}, when fewer than all), the test images held out")
        data_sha256 = record_sha256(hashes)
        extra["data"] = {"loader": spec.data, "package": fashion.DEBIAN_PACKAGE,
                         "files": hashes, "train_size": members, "split_seed": spec.seed}
        extra["built_on"] = {"device": str(device), "machine": platform.node()}
    return {
        "schema_version": MANIFEST_VERSION,
        "name": spec.name, "title": spec.title, "domain": spec.domain,
        "architecture": architecture_for(spec, table),
        "recipe": {**spec.recipe.to_dict(), "loss": "cross-entropy", "trained_on": "member rows"},
        "seed": spec.seed,
        "split": split,
        "files": files,
        **extra,
        "data_sha256": data_sha256,
        "weights_sha256": files["weights"]["sha256"],
        "weights_state_sha256": weights_sha256(model),
        "metrics": metrics,
        "features": table.schema.to_dict(),
        "input_shape": list(table.input_space.shape),
        "library_versions": library_versions(),
        "notes": spec.notes,
    }


def _swap_in(staging: Path, target: Path) -> None:
    backup = target.with_name(f".{target.name}.old")
    if target.exists():
        target.rename(backup)
    staging.rename(target)
    shutil.rmtree(backup, ignore_errors=True)


def rebuild_samples(out: Path | None = None, *, replace: bool = False,
                    names: list[str] | None = None, include: list[str] | None = None,
                    data_dir: str | Path | None = None, device: str = "cpu",
                    report: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Retrain sample models from their committed records into ``out`` (a new folder).

    ``names`` defaults to the three committed samples; ``include`` adds samples built on
    demand (``fashion``, read from ``data_dir`` or the installed package). Writing over the
    shipped ``sample_models/`` needs ``replace=True``.
    """
    source_root = samples_root()
    target_root = source_root if replace else (Path(out) if out is not None else None)
    if target_root is None:
        raise ValueError("give an output folder (--out DIR), "
                         "or --replace to overwrite sample_models/")
    if not replace and target_root.resolve() == source_root.resolve():
        raise ValueError(f"{target_root} holds the shipped sample models; pass --replace to "
                         "overwrite them, or choose another --out folder")
    names = list(dict.fromkeys([*(names or SAMPLES), *(include or ())]))
    for name in names:
        sample_spec(name)
    if any(n in EXTRA_SAMPLES for n in names):
        fashion.find_data_dir(data_dir)  # a missing dataset fails before any training
    # Checked before any training, so a refusal never leaves a half-filled folder behind.
    if not replace and target_root.exists() and (not target_root.is_dir()
                                                 or any(target_root.iterdir())):
        raise ValueError(f"{target_root} already exists and is not an empty folder; "
                         "choose a new or empty --out folder")
    manifests = {}
    for name in names:
        manifests[name] = build_sample(name, source_root / name, target_root / name,
                                       device=device, data_dir=data_dir)
        report(f"{name}: {json.dumps(manifests[name]['metrics'])}")
    return manifests
