"""Your own model and records in the erasure app (issue 16).

Two routes: a model file and a records CSV (with your ``nn.Module`` class by import path, its
constructor arguments and the training recipe), or a model package folder (``wb.pack``).
:func:`open_own` reads the fields' text, calls the library (``build_user_model``,
``load_model``, ``RecordTable.from_csv``, ``load_records_source``) and returns what was
loaded with how the evidence names it, so that ``workbench verify --model-class`` verifies the
export. A problem is an :class:`OwnFieldError` naming the field it concerns; the text-only
checks (class path, JSON, recipe numbers, columns, paths) come before any file is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import safe_open
from torch import nn

import workbench as wb
from workbench.audit.attacks import SHADOW_ATTACKS
from workbench.evidence.sources import load_records_source
from workbench.models.fit import fit_to_records
from workbench.models.user_class import build_user_model, import_class
from workbench.records import RecordTable, TrainRecipe
from workbench.samples.load import read_manifest
from workbench.widgets.common import readable

FILES, PACKAGE = "Model file + records CSV", "Model package folder"


@dataclass(frozen=True)
class Field:
    """One text field of the own-model form: ``route`` None shows it on both routes."""

    key: str
    label: str
    placeholder: str
    tooltip: str
    route: str | None = FILES
    value: str = ""


FIELDS = (
    Field("model_class", "Model class", "mymodels:Net (optional)",
          "your own nn.Module class as package.module:Class, importable from this kernel; "
          "leave empty for a built-in architecture. Importing it runs its code", route=None),
    Field("model_kwargs", "Model arguments", '{"width": 16} (optional)',
          "the class's constructor arguments as a JSON object"),
    Field("model", "Model file", "model.safetensors", "the trained model's weights (safetensors)"),
    Field("records", "Records file", "records.csv",
          "the records the model was trained on, as CSV"),
    Field("columns", "id, label, member", "record_id, label, member",
          "the names of the id, label and member columns", value="record_id, label, member"),
    Field("categorical", "Categorical columns", "e.g. region, plan (optional)",
          "columns of codes to one-hot encode even though they look like numbers"),
    Field("epochs", "Epochs", "e.g. 20 (recipe)", "training recipe: how many epochs the model "
          "was trained for; the gold standard and RMIA / LiRA retrain with it"),
    Field("lr", "Learning rate", "e.g. 0.003 (recipe)", "training recipe: the learning rate"),
    Field("batch_size", "Batch size", "e.g. 32 (recipe)", "training recipe: the batch size"),
    Field("package", "Package folder", "packages/cancer",
          "a model package folder written by wb.pack or `workbench pack`: model, class, "
          "records, preprocessing and recipe with their hashes", route=PACKAGE),
)
RECIPE = {"epochs": int, "lr": float, "batch_size": int}


class OwnFieldError(ValueError):
    """A problem with one field's value, in words."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field = field


@dataclass(frozen=True)
class OwnSource:
    """What :func:`open_own` loaded and how the evidence names it."""

    model: nn.Module
    table: RecordTable
    name: str
    records_source: str  # csv:PATH#id=..&label=..&member=..[&recipe] or folder:PATH
    model_file: str | None  # the model file (None: the package holds it)


def retraining_steps(*, method: str, params: Mapping[str, Any], gold_standard: bool,
                     attacks: tuple[str, ...]) -> list[str]:
    """The steps of a run that train models from scratch (and so need the recipe)."""
    steps = ["the gold standard"] if gold_standard else []
    if set(attacks) & set(SHADOW_ATTACKS):
        steps.append("the shadow models of RMIA / LiRA")
    if method == "retrain" and not all(params.get(k) is not None for k in RECIPE):
        steps.append("the retrain method")
    return steps


def open_own(route: str, values: Mapping[str, str]) -> OwnSource:
    """Load your own model and records from the form's ``values`` (``Field.key`` -> text).

    Raises:
        OwnFieldError: the field at fault and why, in words.
    """
    text = {f.key: str(values.get(f.key, f.value)).strip() for f in FIELDS}
    class_path = text["model_class"]
    if class_path:
        _at("model_class", import_class, class_path)
    if route == PACKAGE:
        return _open_package(Path(text["package"]), class_path or None)
    if route != FILES:
        raise ValueError(f"unknown route {route!r}; expected {FILES!r} or {PACKAGE!r}")
    kwargs = _kwargs(text["model_kwargs"], class_path)
    recipe = _recipe(text)
    columns = [c.strip() for c in text["columns"].split(",")]
    if len(columns) != 3 or not all(columns):
        raise OwnFieldError("columns", "name three columns: id, label, member (e.g. "
                            "'record_id, label, member')")
    categorical = [c.strip() for c in text["categorical"].split(",") if c.strip()]
    model_path, records_path = Path(text["model"]), Path(text["records"])
    for key, path in (("model", model_path), ("records", records_path)):
        if not text[key] or not path.is_file():
            raise OwnFieldError(key, f"the {key} file {text[key]!r} does not exist")
    table = _at("records", RecordTable.from_csv, records_path, id_column=columns[0],
                label_column=columns[1], member_column=columns[2], categorical=categorical,
                recipe=recipe)
    template = (_at("model_kwargs" if kwargs else "model_class", build_user_model, class_path,
                    kwargs) if class_path else None)
    metadata = _metadata(model_path)
    if metadata is None:
        raise OwnFieldError("model", f"the model file {model_path.name} cannot be read as "
                            "safetensors weights (save the model with wb.save_model)")
    if template is None and "architecture" not in metadata:
        raise OwnFieldError("model_class", f"the model file {model_path.name} does not say its "
                            "architecture: name your nn.Module class here "
                            "(package.module:Class), with its arguments if it takes any")
    try:
        model = wb.load_model(model_path, model=template)
    except ValueError as error:
        if template is None:
            raise OwnFieldError("model", readable(error)) from None
        raise OwnFieldError("model_kwargs" if kwargs else "model_class",
                            f"the weights in {model_path.name} do not fit {class_path} built "
                            f"with {kwargs or 'no arguments'} ({_mismatch(error)}); check the "
                            "model class and its arguments") from None
    _at("records", fit_to_records, model, table)  # a dry run: model and records belong together
    return OwnSource(model, table, records_path.stem, table.csv_source(records_path),
                     str(model_path.resolve()))


def _open_package(folder: Path, class_path: str | None) -> OwnSource:
    if not str(folder) or str(folder) == "." or not folder.is_dir():
        raise OwnFieldError("package", f"the package folder {str(folder)!r} does not exist")
    manifest = _at("package", read_manifest, folder)
    named = (manifest.get("architecture") or {}).get("class")
    if named and class_path is None:
        raise OwnFieldError("model_class", f"the package holds your own class {named!r}: type "
                            "it here to import it (importing runs its code)")
    if class_path and not named:
        raise OwnFieldError("model_class", "the package holds a built-in architecture: leave "
                            f"the model class empty, not {class_path!r}")
    if class_path and class_path != named:
        raise OwnFieldError("model_class", f"{class_path!r} is not the package's class "
                            f"{named!r}")
    folder = folder.resolve()
    table, model = _at("package", load_records_source, f"folder:{folder}",
                       model_class=class_path)
    return OwnSource(model, table, folder.name, f"folder:{folder}", None)


def _kwargs(text: str, class_path: str) -> dict[str, Any]:
    if not text:
        return {}
    if not class_path:
        raise OwnFieldError("model_kwargs", "arguments are for your own class: name it in "
                            "Model class, or leave the arguments empty")
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise OwnFieldError("model_kwargs", f"the arguments are not JSON ({error.msg} at "
                            f"character {error.pos + 1}); write them like "
                            '{"width": 16}') from None
    if not isinstance(kwargs, dict):
        raise OwnFieldError("model_kwargs", "the arguments must be a JSON object of names "
                            'and values, like {"width": 16}')
    return kwargs


def _recipe(text: Mapping[str, str]) -> TrainRecipe | None:
    """The recipe from its three fields: all empty (none) or all positive numbers."""
    given = {k: text[k] for k in RECIPE if text[k]}
    if not given:
        return None
    labels = {f.key: f.label.lower() for f in FIELDS}
    numbers: dict[str, int | float] = {}
    for key, kind in RECIPE.items():
        if key not in given:
            raise OwnFieldError(key, f"give the {labels[key]} too: the recipe needs epochs, "
                                "learning rate and batch size together (or none of them)")
        try:
            number = kind(given[key])
        except ValueError:
            number = 0
        if not number > 0:
            whole = "a whole number" if kind is int else "a number"
            raise OwnFieldError(key, f"the {labels[key]} must be {whole} above 0, not "
                                f"{given[key]!r}")
        numbers[key] = number
    return TrainRecipe(epochs=int(numbers["epochs"]), lr=float(numbers["lr"]),
                       batch_size=int(numbers["batch_size"]))


def _metadata(path: Path) -> dict[str, str] | None:
    """A model file's metadata (a built-in architecture is named there); None: unreadable."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception:  # noqa: BLE001 - safetensors raises its own kinds for any broken file
        return None


def _mismatch(error: ValueError) -> str:
    """The first difference torch found between the file's weights and the class, in short."""
    lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
    first = re.sub(r"torch\.Size\((\[[^\]]*\])\)", r"\1", lines[0] if lines else "")
    return (first.rstrip(".").replace("from checkpoint", "in the file")
            .replace("current model", "the class") or "another shape")


def _at(field: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, with its input error said at ``field``."""
    try:
        return call(*args, **kwargs)
    except (ValueError, OSError) as error:
        words = readable(error).replace("pass --model-kwargs", "give the ones it takes in "
                                        "Model arguments").replace("--model-kwargs",
                                                                   "Model arguments")
        raise OwnFieldError(field, words.replace("--model-class", "Model class")) from None
