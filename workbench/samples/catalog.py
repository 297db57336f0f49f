"""What each sample model is: its data, architecture and training recipe."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.encoders import ImageEncoder, TabularEncoder
from workbench.records import TrainRecipe
from workbench.samples import fashion
from workbench.schema import FeatureSchema, FeatureSpec


@dataclass(frozen=True)
class SampleSpec:
    """How to build one sample model from its committed records."""

    name: str
    title: str
    domain: str
    classes: tuple[str, ...]
    architecture: dict[str, Any]
    recipe: TrainRecipe
    seed: int = 0
    categorical: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None
    pixel_scale: float = 1.0
    notes: dict[str, str] = field(default_factory=dict)
    # Records read from an installed dataset instead of a committed records.csv.gz:
    # the loader's name (only "fashion-mnist") and how many training images are members
    # (None: all of them).
    data: str | None = None
    train_size: int | None = None

    def schema(self, features: pd.DataFrame) -> FeatureSchema:
        """The feature schema of ``features`` (raw columns), with this sample's overrides."""
        if self.image_shape is not None:
            specs = tuple(FeatureSpec(n, "pixel", 0.0, self.pixel_scale) for n in features.columns)
            return FeatureSchema(specs, self.classes)
        inferred = FeatureSchema.infer(features, self.classes)
        specs = tuple(
            FeatureSpec(s.name, "categorical",
                        categories=tuple(str(v) for v in sorted(features[s.name].unique())))
            if s.name in self.categorical else s
            for s in inferred.features)
        return FeatureSchema(specs, self.classes)

    def fit_encoder(self, features: pd.DataFrame, members: pd.Series):
        """Fit the preprocessing on the member rows only."""
        schema = self.schema(features)
        if self.image_shape is not None:
            return ImageEncoder(schema, self.image_shape, self.pixel_scale)
        return TabularEncoder.fit(features[members.to_numpy(dtype=bool)], schema)


SAMPLES: dict[str, SampleSpec] = {
    "clinic": SampleSpec(
        name="clinic",
        title="ACTG 175 AIDS clinical trial: predict an AIDS-defining event or death (cens)",
        domain="healthcare",
        classes=("no event", "event"),
        architecture={"name": "mlp", "hidden": [64, 64]},
        recipe=TrainRecipe(epochs=60, lr=1e-3, batch_size=32),
        categorical=("strat", "arms"),
        notes={"id": "pidnum, the trial's own patient number",
               "dropped": "unnamed index, days (follow-up time leaks the target), r, cd496"},
    ),
    "credit": SampleSpec(
        name="credit",
        title="German credit (UCI Statlog): good or bad credit risk",
        domain="finance",
        classes=("bad", "good"),
        architecture={"name": "mlp", "hidden": [64, 64]},
        recipe=TrainRecipe(epochs=50, lr=1e-3, batch_size=32),
        notes={"id": "APP-NNNN, the row number in UCI german.data"},
    ),
    "digits": SampleSpec(
        name="digits",
        title="Handwritten digits 8x8 (scikit-learn / UCI optdigits): which digit",
        domain="teaching",
        classes=tuple(str(d) for d in range(10)),
        architecture={"name": "cnn", "in_channels": 1, "height": 8, "width": 8,
                      "channels": [16, 32], "hidden": 64},
        recipe=TrainRecipe(epochs=200, lr=1e-3, batch_size=32),
        image_shape=(1, 8, 8),
        pixel_scale=16.0,
        notes={"id": "IMG-NNNN, the row number in scikit-learn's load_digits",
               "split": "10% of each class are training members, so that membership leaks "
                        "(a CNN on half the digits generalises too well: loss-MIA AUC 0.51)"},
    ),
}


# Built on demand (``workbench rebuild-samples --include fashion`` or benchmarks/scale.py), never
# committed: the data is an installed package and the weights are rebuilt from the recipe.
EXTRA_SAMPLES: dict[str, SampleSpec] = {
    "fashion": SampleSpec(
        name="fashion",
        title="Fashion-MNIST (Zalando): which of 10 kinds of clothing, 28x28 greyscale",
        domain="retail",
        classes=fashion.CLASSES,
        architecture={"name": "cnn", "in_channels": 1, "height": 28, "width": 28,
                      "channels": [16, 32], "hidden": 128, "batchnorm": True},
        recipe=TrainRecipe(epochs=4, lr=1e-3, batch_size=128),
        image_shape=(1, 28, 28),
        pixel_scale=255.0,
        data="fashion-mnist",
        notes={"id": "FM-NNNNN: FM-00001..FM-60000 the training images in file order, "
                     "FM-60001..FM-70000 the test images",
               "data": "Debian package dataset-fashion-mnist (IDX files, not copied here); "
                       "the manifest records their SHA-256",
               "split": "members: the training images (a seeded class-stratified subset for "
                        "a smaller training set); held out: the 10,000 test images"},
    ),
}
ALL_SAMPLES: dict[str, SampleSpec] = {**SAMPLES, **EXTRA_SAMPLES}


def samples_root() -> Path:
    """Folder holding the sample models: ``$WORKBENCH_SAMPLES`` or the repo's ``sample_models/``."""
    env = os.environ.get("WORKBENCH_SAMPLES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sample_models"


def sample_spec(name: str) -> SampleSpec:
    """The spec of sample ``name``; unknown names raise ``ValueError`` listing the known ones."""
    if name not in ALL_SAMPLES:
        raise ValueError(f"unknown sample model {name!r}; available: {sorted(SAMPLES)}, and "
                         f"built on demand: {sorted(EXTRA_SAMPLES)}")
    return ALL_SAMPLES[name]
