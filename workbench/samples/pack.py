"""``pack``: your own model and records as a model package, the folder every entry point reads.

A model package is the sample-folder layout (``folder:PATH`` for the CLI, the notebook and
``workbench verify``)::

    manifest.json          name, recipe, metrics, the class (built-in spec or yours), hashes
    records.csv.gz         record_id, label, member and the raw features
    preprocessing.json     the fitted encoder
    model.safetensors      the weights (never a pickle)

Every file's SHA-256 is in the manifest and checked on load. For a user's own class the
manifest names it (``package.module:Class`` and its arguments); loading imports it only when
the caller names the same class (importing runs its code).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from workbench.atomic import current_umask, write_json
from workbench.errors import InputError
from workbench.hashing import sha256_file, weights_sha256
from workbench.metrics import unseen_profile as measure_unseen_profile
from workbench.models import save_model
from workbench.models.fit import fit_to_records
from workbench.models.user_class import architecture_of
from workbench.records import RecordTable
from workbench.samples.build import card_profile, library_versions, sample_metrics
from workbench.samples.load import MANIFEST_VERSION

FILES = {"records": "records.csv.gz", "preprocessing": "preprocessing.json",
         "weights": "model.safetensors"}


def _architecture(model: nn.Module) -> dict[str, Any]:
    architecture = architecture_of(model)
    if architecture is None:
        raise InputError(f"the model's class {type(model).__qualname__} cannot be named for "
                         "loading: build it with workbench.models.user_class.build_user_model"
                         "('package.module:Class', kwargs) so the package records how")
    return architecture


def pack(model: nn.Module, table: RecordTable, folder: str | Path, *,
         name: str | None = None, title: str = "", notes: str = "",
         unseen_profile: bool = False) -> dict[str, Any]:
    """Write ``model`` and ``table`` as a model package at ``folder`` (new or empty); return
    its manifest. Refused before anything is written: a table without a recipe, a model
    that does not fit the records, a folder that holds files.

    ``unseen_profile``: also measure how sure models trained without a member are of it
    (:func:`workbench.metrics.unseen_profile`: 10 models trained with the recipe, on the
    CPU) and report it in the manifest; ``synthetic`` then sets its record-request targets
    with it (see ``benchmarks/RESULTS.md`` for how much more often the calibrated audit
    PASSes them). The profile is two sets of 99 quantiles, 99 means over the members ranked
    near each level (with 120 members or more), a noise level and a neighbour count, a margin
    map, and how far ``synthetic`` lowers the held-out records' margins (16 erasures of 5% of
    the members: :func:`workbench.unlearn.synthetic_card.measure_drift`): no record."""
    folder = Path(folder).expanduser().absolute()
    if table.recipe is None:
        raise InputError("the records carry no training recipe; build them with recipe="
                         "TrainRecipe(epochs=..., lr=..., batch_size=...) (how the model was "
                         "trained: the gold standard and shadow models retrain with it)")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder} exists and is not an empty folder; a package goes into a "
                         "new folder")
    fitted = fit_to_records(model, table)  # a one-logit model is measured as two classes
    architecture = _architecture(model)
    metrics = sample_metrics(fitted, table)
    if unseen_profile:  # before anything is written: it may refuse (too few members)
        try:
            metrics["unseen_profile"] = card_profile(
                model, table, measure_unseen_profile(fitted, table),
                test_accuracy=metrics["test_accuracy"])
        except ValueError as error:
            raise InputError(f"unseen profile: {error}; pack without it") from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.pack-", dir=folder.parent))
    staging.chmod(0o777 & ~current_umask())
    try:
        table.frame.to_csv(staging / FILES["records"], index=False)
        write_json(staging / FILES["preprocessing"], table.encoder.to_dict())
        save_model(model, staging / FILES["weights"])
        files = {role: {"path": path, "sha256": sha256_file(staging / path)}
                 for role, path in FILES.items()}
        manifest = {
            "schema_version": MANIFEST_VERSION, "name": name or table.name, "title": title,
            "architecture": architecture,
            "recipe": {**table.recipe.to_dict(), "loss": "cross-entropy",
                       "trained_on": "member rows"},
            "source_columns": table.source_columns, "categorical": list(table.categorical),
            "files": files, "data_sha256": files["records"]["sha256"],
            "weights_sha256": files["weights"]["sha256"],
            "weights_state_sha256": weights_sha256(model),
            "metrics": metrics,
            "features": table.schema.to_dict(), "input_shape": list(table.input_space.shape),
            "library_versions": library_versions(), "notes": notes,
        }
        write_json(staging / "manifest.json", manifest)
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
