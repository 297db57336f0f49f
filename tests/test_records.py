"""RecordTable: selecting records to forget, retain sets, and tables built from user frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from workbench import Encoding, ForgetSet, ModelCard, RecordSet, RecordTable, UnseenProfile
from workbench.encoders import TabularEncoder
from workbench.schema import FeatureSchema, FeatureSpec
from workbench.unlearn.tiny import tiny_world


@pytest.fixture(scope="module")
def credit(samples) -> RecordTable:
    return samples["credit"].records


@pytest.fixture(scope="module")
def digits(samples) -> RecordTable:
    return samples["digits"].records


def member_ids(table: RecordTable) -> list[str]:
    frame = table.frame
    return frame.loc[frame["member"], "record_id"].tolist()


def held_out_ids(table: RecordTable) -> list[str]:
    frame = table.frame
    return frame.loc[~frame["member"], "record_id"].tolist()


# --- members, held out, retain -------------------------------------------------------------


def test_members_and_held_out_partition_the_table(credit):
    members, held = credit.members(), credit.held_out()
    assert isinstance(members, RecordSet)
    assert list(members.ids) == member_ids(credit)
    assert list(held.ids) == held_out_ids(credit)
    assert len(members) == 500 and len(held) == 500
    assert set(members.ids).isdisjoint(held.ids)


def test_record_set_inputs_and_labels_follow_its_ids(credit):
    ids = ["APP-0010", "APP-0002", "APP-0500"]
    positions = [9, 1, 499]
    assert torch.equal(credit.inputs(ids), credit.inputs()[positions])
    assert credit.labels(ids).tolist() == credit.frame["label"].iloc[positions].tolist()
    assert credit.positions(ids).tolist() == positions


def test_positions_of_unknown_ids_name_them(credit):
    with pytest.raises(ValueError, match=r"2 record id\(s\) not in table 'credit': "
                                         r"\['APP-9999', 'nobody'\]"):
        credit.positions(["APP-0001", "APP-9999", "nobody"])


# --- select by ids -------------------------------------------------------------------------


def test_select_by_ids_keeps_order_and_rule(credit):
    chosen = member_ids(credit)[:5][::-1]
    forget = credit.select(ids=chosen)
    assert isinstance(forget, ForgetSet)
    assert list(forget.ids) == chosen
    assert forget.rule == "by record id"
    assert not forget.is_class_request and forget.classes == ()
    assert forget.table is credit
    assert torch.equal(forget.inputs(), credit.inputs(chosen))
    assert torch.equal(forget.labels(), credit.labels(chosen))


def test_select_one_id_given_as_a_string(credit):
    one = member_ids(credit)[0]
    assert credit.select(ids=one).ids == (one,)


def test_select_ids_are_stripped_and_stringified(samples):
    clinic = samples["clinic"].records
    first = member_ids(clinic)[0]
    assert clinic.select(ids=[int(first)]).ids == (first,)
    assert clinic.select(ids=[f"  {first} "]).ids == (first,)


def test_select_unknown_ids_lists_them(credit):
    ids = [member_ids(credit)[0], "APP-9999", "APP-0000"]
    with pytest.raises(ValueError, match=r"2 record id\(s\) not in table 'credit'") as info:
        credit.select(ids=ids)
    assert "APP-9999" in str(info.value) and "APP-0000" in str(info.value)


def test_select_many_unknown_ids_is_truncated(credit):
    ids = [f"X-{i}" for i in range(25)]
    with pytest.raises(ValueError, match=r"25 record id\(s\).*X-0.*X-9'\] \.\.\.") as info:
        credit.select(ids=ids)
    assert "X-10" not in str(info.value)


def test_select_duplicate_ids(credit):
    first, second = member_ids(credit)[:2]
    with pytest.raises(ValueError, match=rf"duplicate record id\(s\).*\['{first}'\]"):
        credit.select(ids=[first, second, first])
    # a repeated unknown id is named as a duplicate first (the lookup would name it unknown)
    with pytest.raises(ValueError, match=r"duplicate record id\(s\).*\['nope'\]"):
        credit.select(ids=["nope", "nope"])


def test_select_held_out_ids(credit):
    held = held_out_ids(credit)[:2]
    with pytest.raises(ValueError, match="never training members") as info:
        credit.select(ids=[member_ids(credit)[0], *held])
    assert all(h in str(info.value) for h in held)
    assert member_ids(credit)[0] not in str(info.value)


def test_select_empty(credit):
    with pytest.raises(ValueError, match="matched no training records"):
        credit.select(ids=[])


def test_select_every_training_record_by_ids(credit):
    with pytest.raises(ValueError, match="holds every training record"):
        credit.select(ids=member_ids(credit))


def test_select_needs_exactly_one_rule(credit):
    with pytest.raises(ValueError, match="exactly one of"):
        credit.select()
    with pytest.raises(ValueError, match="exactly one of"):
        credit.select(ids=[member_ids(credit)[0]], classes=[0])


# --- select by query -----------------------------------------------------------------------


def test_select_by_query_takes_only_members(credit):
    forget = credit.select(query="age_in_years > 60 and housing == 'own'")
    frame = credit.frame
    expected = frame[(frame["age_in_years"] > 60) & (frame["housing"] == "own")]
    assert not expected["member"].all(), "the query should also match held-out records"
    assert list(forget.ids) == expected.loc[expected["member"], "record_id"].tolist()
    assert len(forget) > 0
    assert forget.rule == "query: age_in_years > 60 and housing == 'own'"
    assert not forget.is_class_request


def test_select_query_matching_only_held_out_is_empty(credit):
    one = held_out_ids(credit)[0]
    with pytest.raises(ValueError, match="matched no training records"):
        credit.select(query=f"record_id == '{one}'")


def test_select_query_matching_nothing(credit):
    with pytest.raises(ValueError, match=r"selection \(query: age_in_years > 200\) matched no"):
        credit.select(query="age_in_years > 200")


def test_select_query_every_member(credit):
    with pytest.raises(ValueError, match="holds every training record"):
        credit.select(query="age_in_years > 0")


@pytest.mark.parametrize("query", ["no_such_column > 3", "age_in_years >", "age_in_years >> 'x'"])
def test_select_bad_query(credit, query):
    with pytest.raises(ValueError, match="cannot evaluate query"):
        credit.select(query=query)


@pytest.mark.parametrize("query", ["age_in_years + 1", "credit_amount"])
def test_select_query_that_is_not_a_condition(credit, query):
    """pandas' DataFrame.query would read these numbers as row labels and pick arbitrary rows."""
    with pytest.raises(ValueError, match="must be a condition"):
        credit.select(query=query)


# --- select by class -----------------------------------------------------------------------


def test_select_class_by_name_or_index(credit):
    by_name = credit.select(classes=["bad"])
    by_index = credit.select(classes=[0])
    assert by_name.ids == by_index.ids
    frame = credit.frame
    assert list(by_name.ids) == frame.loc[frame["member"] & (frame["label"] == 0),
                                          "record_id"].tolist()
    assert len(by_name) == 150  # 300 bad applicants, half of them members
    assert by_name.is_class_request and by_name.classes == (0,)
    assert by_name.rule == "every training record of class bad"
    assert by_name.class_counts() == {"bad": 150}
    assert credit.select(classes="bad").ids == by_name.ids


def test_select_digit_classes_mixing_names_and_indices(digits):
    forget = digits.select(classes=["3", np.int64(7), 3])
    assert forget.classes == (3, 7)
    assert set(forget.class_counts()) == {"3", "7"}
    assert set(forget.labels().tolist()) == {3, 7}
    assert all(digits.frame.set_index("record_id").loc[list(forget.ids), "member"])


def test_select_every_class(credit):
    with pytest.raises(ValueError, match="holds every training record"):
        credit.select(classes=["bad", "good"])


@pytest.mark.parametrize("cls", ["purple", 2, -1, 1.0])
def test_select_unknown_class(credit, cls):
    with pytest.raises(ValueError, match=rf"class {cls!r} does not exist.*'bad'.*'good'"):
        credit.select(classes=[cls])


# --- retain ---------------------------------------------------------------------------------


def test_retain_for_excludes_forget_and_held_out(credit):
    forget = credit.select(query="credit_amount > 5000")
    retain = credit.retain_for(forget)
    members, held = set(member_ids(credit)), set(held_out_ids(credit))
    assert set(retain.ids) == members - set(forget.ids)
    assert set(retain.ids).isdisjoint(held)
    assert len(retain) + len(forget) == len(members)
    assert list(retain.ids) == [i for i in member_ids(credit) if i not in set(forget.ids)]


def test_retain_for_class_request(digits):
    forget = digits.select(classes=[0])
    retain = digits.retain_for(forget)
    assert 0 not in retain.labels().tolist()
    assert len(retain) == len(digits.members()) - len(forget)


def test_record_set_class_counts(credit):
    counts = credit.members().class_counts()
    assert counts == {"bad": 150, "good": 350}


# --- tables from user frames ---------------------------------------------------------------


@pytest.fixture
def user_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer": ["c01", "c02", "c03", "c04", "c05", "c06", "007"],
        "income": [10.0, 20.0, 30.0, 40.0, 1000.0, 50.0, 60.0],
        "city": ["Oslo", "Rome", "Lima", "Oslo", "Rome", "Lima", "Oslo"],
        "vip": [0, 1, 0, 1, 0, 0, 1],
        "outcome": ["yes", "no", "no", "yes", "yes", "no", "yes"],
        "in_training": [True, True, True, True, False, True, False],
    })


def test_from_frame_with_text_labels_and_a_categorical(user_frame):
    table = RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome",
                                   member_column="in_training", name="shop")
    assert table.name == "shop"
    assert table.ids == ("c01", "c02", "c03", "c04", "c05", "c06", "007")
    assert table.schema.classes == ("no", "yes")
    assert table.labels().tolist() == [1, 0, 0, 1, 1, 0, 1]
    assert list(table.frame.columns) == ["record_id", "label", "member", "income", "city", "vip"]
    assert table.frame["member"].tolist() == user_frame["in_training"].tolist()
    kinds = {f.name: f.kind for f in table.schema.features}
    assert kinds == {"income": "numeric", "city": "categorical", "vip": "binary"}

    inputs = table.inputs()
    assert inputs.shape == (7, 1 + 3 + 1) and inputs.dtype == torch.float32
    # income is standardised on the member rows only (the 1000.0 outlier is held out)
    member_income = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    expected = (user_frame["income"].to_numpy() - member_income.mean()) / member_income.std()
    np.testing.assert_allclose(inputs[:, 0].numpy(), expected, rtol=1e-6)
    # city one-hot in sorted order Lima, Oslo, Rome
    cities = ["Lima", "Oslo", "Rome"]
    onehot = np.eye(3)[[cities.index(c) for c in user_frame["city"]]]
    np.testing.assert_array_equal(inputs[:, 1:4].numpy(), onehot)
    np.testing.assert_array_equal(inputs[:, 4].numpy(), user_frame["vip"].to_numpy())

    forget = table.select(ids=["c02"])
    assert table.retain_for(forget).ids == ("c01", "c03", "c04", "c06")
    assert table.select(classes=["no"]).ids == ("c02", "c03", "c06")


def test_from_frame_without_member_column_counts_all_as_members(user_frame):
    table = RecordTable.from_frame(user_frame.drop(columns=["in_training"]),
                                   id_column="customer", label_column="outcome")
    assert len(table.members()) == 7 and len(table.held_out()) == 0


def test_from_frame_numeric_ids_become_strings(user_frame):
    user_frame["customer"] = range(100, 107)
    table = RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome",
                                   member_column="in_training")
    assert table.ids[0] == "100"
    assert table.select(ids=[101]).ids == ("101",)


def test_from_frame_explicit_features(user_frame):
    table = RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome",
                                   member_column="in_training",
                                   encoding=Encoding(features=["vip"]))
    assert table.inputs().shape == (7, 1)
    assert list(table.frame.columns) == ["record_id", "label", "member", "vip"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"id_column": "id", "label_column": "outcome"}, "the id column 'id' is not in the records"),
    ({"id_column": "customer", "label_column": "y"}, "the label column 'y' is not in the records"),
    ({"id_column": "customer", "label_column": "outcome", "member_column": "train"},
     "the member column 'train' is not in the records"),
])
def test_from_frame_missing_column(user_frame, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        RecordTable.from_frame(user_frame, **kwargs)
    assert "customer" in str(info.value)  # lists the columns there are


def test_from_frame_duplicate_ids(user_frame):
    user_frame.loc[1, "customer"] = "c01"
    with pytest.raises(ValueError, match=r"record ids are not unique: \['c01'\]"):
        RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome")


def test_from_frame_nan_feature_fails_when_built(user_frame):
    user_frame.loc[2, "income"] = np.nan
    with pytest.raises(ValueError, match=r"NaN features \(first rows by position: \[2\]\)"):
        RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome")


def test_from_frame_missing_label(user_frame):
    user_frame.loc[2, "outcome"] = None
    with pytest.raises(ValueError, match="some records have no label"):
        RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome")


def test_from_frame_with_given_encoder_refuses_unknown_category(user_frame):
    schema = FeatureSchema((FeatureSpec("income", "numeric", 0.0, 100.0),
                            FeatureSpec("city", "categorical", categories=("Lima", "Oslo"))),
                           ("no", "yes"))
    encoder = TabularEncoder(schema, {"income": 0.0}, {"income": 1.0})
    with pytest.raises(ValueError, match=r"feature 'city' has categories \['Rome'\]"):
        RecordTable.from_frame(user_frame, id_column="customer", label_column="outcome",
                               encoding=Encoding(features=["income", "city"], encoder=encoder))


# --- the constructor's own checks ------------------------------------------------------------


def _tiny(**changes) -> tuple[pd.DataFrame, FeatureSchema, TabularEncoder]:
    frame = pd.DataFrame({"record_id": ["a", "b", "c"], "label": [0, 1, 0],
                          "member": [True, True, False], "x": [1.0, 2.0, 3.0]})
    frame = frame.assign(**changes)
    schema = FeatureSchema((FeatureSpec("x", "numeric", 1.0, 3.0),), ("n", "y"))
    return frame, schema, TabularEncoder(schema, {"x": 0.0}, {"x": 1.0})


def test_constructor_missing_reserved_column():
    frame, schema, encoder = _tiny()
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['member'\]"):
        RecordTable(frame.drop(columns=["member"]), schema, encoder)


def test_constructor_label_out_of_range():
    frame, schema, encoder = _tiny(label=[0, 2, 0])
    with pytest.raises(ValueError, match=r"labels must be class indices 0\.\.1"):
        RecordTable(frame, schema, encoder)


def test_constructor_resets_index_and_inputs_match():
    frame, schema, encoder = _tiny()
    table = RecordTable(frame.set_axis([10, 20, 30]), schema, encoder)
    assert table.frame.index.tolist() == [0, 1, 2]
    assert table.inputs(["c", "a"]).squeeze(1).tolist() == [3.0, 1.0]


@pytest.mark.parametrize("values, expected", [
    ([True, False, True], [True, False, True]),
    ([1, 0, 1], [True, False, True]),
    (["False", "true", "YES"], [False, True, True]),
    (["no", "n", "1"], [False, False, True]),
])
def test_from_frame_reads_member_words_and_numbers(values, expected):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "y": ["x", "z", "x"], "m": values,
                          "f": [1.0, 2.0, 3.0]})
    table = RecordTable.from_frame(frame, id_column="id", label_column="y", member_column="m")
    assert table.frame["member"].tolist() == expected


@pytest.mark.parametrize("values", [["maybe", "true", "false"], [2, 0, 1], [None, True, False]])
def test_from_frame_refuses_member_values_that_are_not_true_or_false(values):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "y": ["x", "z", "x"], "m": values,
                          "f": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="member column 'm' holds values"):
        RecordTable.from_frame(frame, id_column="id", label_column="y", member_column="m")


def test_the_old_reported_accuracy_keyword_still_works_for_one_release():
    table = tiny_world().table
    with pytest.warns(DeprecationWarning, match=r"reported_test_accuracy= is now card\.test_"):
        old = RecordTable(table.frame, table.schema, table.encoder, reported_test_accuracy=0.7)
    assert old.card == ModelCard(test_accuracy=0.7) and old.reported_test_accuracy == 0.7
    profile = UnseenProfile(margins=list(range(99)), smoothing_sigma=0.5,  # a manifest's lists
                            smoothed_margins=[v / 10 for v in range(99)], smoothing_draws=64)
    card = ModelCard(test_accuracy=0.8, unseen=profile)
    new = RecordTable(table.frame, table.schema, table.encoder, card=card)
    assert new.reported_unseen_profile.margins == tuple(float(v) for v in range(99))
    assert new.reported_test_accuracy == 0.8
    assert RecordTable(table.frame, table.schema, table.encoder).card == ModelCard()
