"""Feature schemas and encoders: inference, encoding, bad values, JSON round trips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from workbench import encoders, schema
from workbench.encoders import ImageEncoder, TabularEncoder, encoder_from_dict
from workbench.schema import FeatureSchema, FeatureSpec


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [20, 30, 40, 50],
        "smoker": [0, 1, 1, 0],
        "plan": ["gold", "basic", "basic", "silver"],
        "const": [5.0, 5.0, 5.0, 5.0],
    })


@pytest.fixture
def encoder(raw) -> TabularEncoder:
    return TabularEncoder.fit(raw, FeatureSchema.infer(raw, ("a", "b")))


def test_feature_spec_rejects_unknown_kind():
    with pytest.raises(ValueError, match=r"feature 'x': unknown kind 'text'"):
        FeatureSpec("x", "text")


def test_infer_kinds_ranges_and_sorted_categories(raw):
    schema = FeatureSchema.infer(raw, ("a", "b"))
    assert schema.names == ["age", "smoker", "plan", "const"]
    by_name = {f.name: f for f in schema.features}
    assert by_name["age"] == FeatureSpec("age", "numeric", 20.0, 50.0)
    assert by_name["smoker"].kind == "binary"
    assert by_name["plan"] == FeatureSpec("plan", "categorical",
                                          categories=("basic", "gold", "silver"))
    assert schema.classes == ("a", "b")


def test_schema_json_round_trip(raw):
    schema = FeatureSchema.infer(raw, ("a", "b"))
    data = json.loads(json.dumps(schema.to_dict()))
    assert FeatureSchema.from_dict(data) == schema
    plan = next(f for f in data["features"] if f["name"] == "plan")
    assert plan == {"name": "plan", "kind": "categorical",
                    "categories": ["basic", "gold", "silver"]}


def test_tabular_transform(raw, encoder):
    out = encoder.transform(raw)
    assert out.dtype == torch.float32
    assert out.shape == (4, 1 + 1 + 3 + 1)
    age = np.array([20, 30, 40, 50], dtype=float)
    np.testing.assert_allclose(out[:, 0].numpy(), (age - age.mean()) / age.std(), rtol=1e-6)
    assert out[:, 1].tolist() == [0, 1, 1, 0]
    np.testing.assert_array_equal(out[:, 2:5].numpy(),
                                  [[0, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1]])
    # a constant column has std 0: it is centred, not divided by zero
    assert out[:, 5].tolist() == [0.0] * 4


def test_tabular_transform_reorders_columns_by_schema(raw, encoder):
    shuffled = raw[["plan", "const", "age", "smoker"]]
    assert torch.equal(encoder.transform(shuffled), encoder.transform(raw))


def test_tabular_nan_names_rows(raw, encoder):
    raw.loc[2, "age"] = np.nan
    with pytest.raises(ValueError, match=r"NaN features \(first rows by position: \[2\]\)"):
        encoder.transform(raw)


def test_tabular_unknown_category(raw, encoder):
    raw.loc[1, "plan"] = "platinum"
    with pytest.raises(ValueError, match=r"feature 'plan' has categories \['platinum'\] that the "
                                         r"schema does not know; known: \['basic', 'gold'"):
        encoder.transform(raw)


def test_tabular_missing_column(raw, encoder):
    with pytest.raises(ValueError, match=r"missing feature columns \['smoker'\]"):
        encoder.transform(raw.drop(columns=["smoker"]))


def test_tabular_input_space(encoder):
    space = encoder.input_space()
    assert space.shape == (6,) and space.size == 6
    assert space.continuous == (0, 5)
    assert space.discrete == ((1, (0.0, 1.0)),)
    assert space.onehot == ((2, 3, 4),)
    age_mean, age_std = 35.0, np.std([20, 30, 40, 50])
    assert space.lower[0] == pytest.approx((20 - age_mean) / age_std)
    assert space.upper[0] == pytest.approx((50 - age_mean) / age_std)


def test_tabular_encoder_json_round_trip(raw, encoder):
    data = json.loads(json.dumps(encoder.to_dict()))
    again = encoder_from_dict(data)
    assert isinstance(again, TabularEncoder)
    assert torch.equal(again.transform(raw), encoder.transform(raw))


def test_image_encoder():
    schema = FeatureSchema(tuple(FeatureSpec(f"p{i}", "pixel", 0.0, 4.0) for i in range(4)),
                           ("x", "y"))
    enc = ImageEncoder(schema, (1, 2, 2), 4.0)
    frame = pd.DataFrame([[0, 1, 2, 4], [4, 4, 0, 0]], columns=schema.names)
    out = enc.transform(frame)
    assert out.shape == (2, 1, 2, 2)
    assert out[0, 0].tolist() == [[0.0, 0.25], [0.5, 1.0]]
    space = enc.input_space()
    assert space.shape == (1, 2, 2) and space.continuous == (0, 1, 2, 3)
    assert space.lower == (0.0,) * 4 and space.upper == (1.0,) * 4
    again = encoder_from_dict(json.loads(json.dumps(enc.to_dict())))
    assert torch.equal(again.transform(frame), out)
    frame = frame.astype(float)
    frame.loc[1, "p2"] = np.nan
    with pytest.raises(ValueError, match="NaN pixels"):
        enc.transform(frame)


def test_unknown_encoder_kind():
    with pytest.raises(ValueError,
                       match=r"unknown preprocessing kind 'pickle'.*'image', 'tabular'"):
        encoder_from_dict({"kind": "pickle"})


@pytest.mark.parametrize("name", ["clinic", "credit", "digits"])
def test_sample_preprocessing_matches_manifest_schema(samples, name):
    sample = samples[name]
    assert sample.records.schema.to_dict() == sample.manifest["features"]
    space = sample.records.input_space
    assert list(space.shape) == sample.manifest["input_shape"]


def test_sample_encoder_was_fit_on_members_only(samples):
    credit = samples["credit"].records
    members = credit.frame[credit.frame["member"]]
    assert credit.encoder.means["credit_amount"] == pytest.approx(members["credit_amount"].mean())
    assert credit.encoder.stds["credit_amount"] == pytest.approx(
        members["credit_amount"].std(ddof=0))
    assert credit.encoder.means["credit_amount"] != pytest.approx(
        credit.frame["credit_amount"].mean())


@pytest.mark.parametrize("name", ["TabularEncoder", "ImageEncoder", "Encoder",
                                  "encoder_from_dict"])
def test_the_encoders_old_path_still_works_with_a_warning(name):
    with pytest.warns(DeprecationWarning, match=f"workbench.schema.{name} moved"):
        moved = getattr(schema, name)
    assert moved is getattr(encoders, name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        schema.Nope  # noqa: B018
