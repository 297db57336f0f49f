"""Issue 16, bad input: the faults a tester fed through the Python API and the CLI, with user
data sets (scikit-learn's breast cancer and wine, string ids, text labels, a yes/no member
column, their own ``nn.Module``). Every fault is refused before any work with a
``ValueError`` that names the field or file and what to do, or is handled correctly.

========================  ==========  ======================================  ================
case                      class       before                                  now
========================  ==========  ======================================  ================
folder_member_yes_no      data-loss   "no" read as member (astype(bool)): a   parsed
                                      held-out record could be "erased"
folder_member_maybe       data-loss   every record a member                   refused (file)
member_spellings          data-loss   1.0/0.0 and t/f refused                 parsed
member_maybe              silent      refused                                 refused (count)
member_all_false          misleading  "NaN features", rows 0-4                refused
inf_feature               silent      accepted, inputs held inf               refused (ids)
nan_feature               misleading  "NaN features" by position only         column + ids
stray_text                silent      one column became N one-hot columns     refused (ids)
stray_text_declared       silent      no way to say so                        categorical=
spaced_ids                silent      " P3 " could never be erased            stripped
spaced_duplicate_ids      silent      " P3" and "P3" two records              refused
mixed_labels              traceback   TypeError '<' int and str               refused
missing_label             misleading  no record named                         ids named
due_before_received(2)    silent      refused by Request                      refused, tested
binary_logit              traceback   IndexError "Target 1 is out of bounds"  supported
binary_logit_3_classes    traceback   IndexError                              refused
wrong_width(2)            traceback   RuntimeError "mat1 and mat2 ..."        refused (13/30)
wrong_width_audit         misleading  leaked "mat1 and mat2 ..."              refused (13/30)
no_parameters(2)          traceback   StopIteration / empty parameter list    refused
tuple_output              traceback   AttributeError on a tuple               refused
save_under_a_file         traceback   FileExistsError                         refused (path)
save_to_a_folder          traceback   IsADirectoryError                       refused (path)
audit_other_ids           data-loss   same rule text and count: accepted      refused
record_other_ids          data-loss   build_record named records not erased   refused
gold_other_ids            data-loss   refused by the training masks           refused, tested
cli_folder_maybe          data-loss   every record a member                   exit 2 (file)
cli_wrong_width           traceback   leaked "mat1 and mat2 ..."              exit 2
cli_due_before            silent      exit 2                                  exit 2
cli_binary_logit          traceback   IndexError                              exit 0, verifies
========================  ==========  ======================================  ================

Counts: traceback 10, misleading 4, silent 8, data-loss 7 (29 cases; "(2)": run through two
entry points). The happy paths: a one-logit model on breast cancer is unlearned, audited
against a gold standard and saved, and keeps its one output; through ``workbench erase`` its
record verifies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
from cli_toys import run_cli
from sklearn.datasets import load_breast_cancer, load_wine
from torch import nn

from workbench import (
    audit_model,
    gold_standard,
    load_model,
    save_model,
    unlearn_model,
    weights_sha256,
)
from workbench.audit import AuditOptions, TrainingOptions
from workbench.evidence.build import RecordContext, build_record, ticket
from workbench.evidence.selection import Selection
from workbench.models import TabularMLP
from workbench.pipeline import ErasureRequest, check_request
from workbench.records import RecordTable, TrainRecipe
from workbench.samples.load import load_folder

torch.set_num_threads(1)
FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}
LEAKS = ("mat1 and mat2", "NoneType", "Traceback", "has no attribute", "out of bounds",
         "not supported between")


def cancer_frame() -> pd.DataFrame:
    """Breast cancer as a user has it: text ids, text labels, a yes/no member column."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.insert(0, "patient", [f"P{i}" for i in range(len(frame))])
    frame["diagnosis"] = np.where(data.target == 1, "benign", "malignant")
    frame["in_training"] = np.where(np.random.default_rng(0).random(len(frame)) < 0.6,
                                    "yes", "no")
    return frame


def cancer_table(frame: pd.DataFrame | None = None, **kwargs) -> RecordTable:
    table = RecordTable.from_frame(cancer_frame() if frame is None else frame,
                                   id_column="patient", label_column="diagnosis",
                                   member_column="in_training", name="cancer", **kwargs)
    table.recipe = TrainRecipe(epochs=5, lr=0.01, batch_size=64)
    return table


@functools.lru_cache(maxsize=1)
def cancer() -> RecordTable:
    return cancer_table()


@functools.lru_cache(maxsize=1)
def wine() -> RecordTable:
    data = load_wine(as_frame=True)
    frame = data.frame.assign(bottle=[f"W{i}" for i in range(len(data.frame))],
                              member=np.arange(len(data.frame)) % 3 != 0)
    return RecordTable.from_frame(frame, id_column="bottle", label_column="target",
                                  member_column="member", name="wine")


def one_logit_model(width: int = 30, seed: int = 0) -> nn.Module:
    """The user's own binary classifier: one logit, trained with BCE for a few steps."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(width, 16), nn.ReLU(), nn.Linear(16, 1))


def train_one_logit(model: nn.Module, table: RecordTable, steps: int = 60) -> nn.Module:
    members = table.members()
    x, y = members.inputs(), members.labels().float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(x)[:, 0], y).backward()
        optimizer.step()
    return model.eval()


@functools.lru_cache(maxsize=1)
def cancer_model() -> nn.Module:
    table = cancer()
    model = TabularMLP(table.input_space.size, 2, (16,))
    members = table.members()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(40):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(members.inputs()), members.labels()).backward()
        optimizer.step()
    return model.eval()


def forget(start: int = 0, count: int = 30):
    table = cancer()
    return table.select(ids=table.members().ids[start:start + count])


@functools.lru_cache(maxsize=1)
def erased():
    """(forget, unlearned, audit result) of one quick erasure of 30 cancer records."""
    f = forget()
    result = unlearn_model(cancer_model(), f, params=FAST)
    return f, result, audit_model(cancer_model(), result, records=cancer(), forget=f,
                                  attacks=("loss",))


class NoWeights(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :2]


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(30, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.linear(x), x


def edit(column: str, rows: list[int], value) -> pd.DataFrame:
    frame = cancer_frame()
    if not isinstance(value, str):
        frame.loc[rows, column] = value
        return frame
    frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value
    return frame


# --- the table of API cases ------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A fault: ``run()`` must raise ``error`` whose message holds every string in ``names``."""

    name: str
    kind: str  # traceback / misleading / silent / data-loss
    run: Callable[[], object]
    names: tuple[str, ...]
    error: type[Exception] = ValueError
    absent: tuple[str, ...] = ()


def _mixed_labels():
    frame = cancer_frame()
    frame["diagnosis"] = frame["diagnosis"].astype(object)
    frame.loc[:9, "diagnosis"] = 1
    return cancer_table(frame)


def _spaced_duplicates():
    frame = cancer_frame()
    frame.loc[4, "patient"] = " P3"
    return cancer_table(frame)


def _save(where: str):
    def run(tmp_path):
        (tmp_path / "a-file").write_text("x")
        target = tmp_path / "a-file" / "m.safetensors" if where == "file" else tmp_path
        return save_model(cancer_model(), target)
    return run


def _build_other_ids():
    f, result, audited = erased()
    other = forget(30)
    context = RecordContext(request={}, model_name="m", records_source="", after_file="m",
                            after_file_sha256="0" * 64)
    return build_record(unlearned=result, audit_result=audited, forget=other,
                        selection=Selection.by_ids(other.ids), original=cancer_model(),
                        context=context)


def _gold_other_ids(tmp_path):
    table = cancer()
    gold = gold_standard(cancer_model(), forget(), count=2,
                         training=TrainingOptions(cache_dir=tmp_path))
    other = table.select(ids=list(forget().ids[:15]) + list(table.members().ids[30:45]))
    return audit_model(cancer_model(), unlearn_model(cancer_model(), other, params=FAST),
                       records=table, forget=other, gold_standard=gold, attacks=("loss",))


CASES = [
    Case("member_maybe", "silent", lambda: cancer_table(edit("in_training", [3, 7], "maybe")),
         ("member column 'in_training'", "maybe")),
    Case("member_all_false", "misleading",
         lambda: cancer_table(cancer_frame().assign(in_training="no")),
         ("member column 'in_training'", "none of the 569 records"), absent=("NaN",)),
    Case("inf_feature", "silent", lambda: cancer_table(edit("mean area", [5], np.inf)),
         ("feature column 'mean area'", "infinite", "P5"), absent=("NaN",)),
    Case("nan_feature", "misleading", lambda: cancer_table(edit("mean area", [5], np.nan)),
         ("NaN features", "'mean area'", "P5")),
    Case("stray_text", "silent", lambda: cancer_table(edit("mean radius", [3], "n/a")),
         ("feature column 'mean radius'", "'P3'", "'n/a'", "categorical=")),
    Case("spaced_duplicate_ids", "silent", _spaced_duplicates, ("not unique", "P3")),
    Case("mixed_labels", "traceback", _mixed_labels,
         ("label column 'diagnosis'", "mixes numbers and text")),
    Case("missing_label", "misleading", lambda: cancer_table(edit("diagnosis", [2, 8], np.nan)),
         ("label column 'diagnosis'", "P2", "P8")),
    Case("due_before_received", "silent",
         lambda: ticket({"received": "2026-05-10", "due": "2026-05-01"}),
         ("request.due", "before request.received")),
    Case("due_before_received_request", "silent",
         lambda: check_request(ErasureRequest(
             model=cancer_model(), table=cancer(), selection=Selection.by_ids(forget().ids),
             gold_models=0, attacks=("loss",),
             ticket={"received": "2026-05-10", "due": "2026-04-30"})),
         ("request.due", "before request.received")),
    Case("binary_logit_3_classes", "traceback",
         lambda: unlearn_model(one_logit_model(13), wine().select(ids=wine().members().ids[:5])),
         ("outputs 1 value(s) per record", "table 'wine' has 3 classes")),
    Case("wrong_width", "traceback", lambda: unlearn_model(nn.Linear(13, 2), forget()),
         ("expects 13 input values", "encodes each record to 30 values", "table 'cancer'")),
    Case("wrong_width_audit", "misleading",
         lambda: audit_model(nn.Linear(13, 2), nn.Linear(13, 2), records=cancer(), forget=forget(),
                             attacks=("loss",)),
         ("do not fit the original model", "expects 13", "30 values")),
    Case("wrong_width_request", "traceback",
         lambda: check_request(ErasureRequest(model=nn.Linear(13, 2), table=cancer(),
                                              selection=Selection.by_ids(forget().ids[:1]),
                                              gold_models=0, attacks=("loss",))),
         ("expects 13 input values", "30 values")),
    Case("no_parameters", "traceback", lambda: unlearn_model(NoWeights(), forget()),
         ("NoWeights", "has no parameters")),
    Case("no_parameters_audit", "traceback",
         lambda: audit_model(NoWeights(), NoWeights(), records=cancer(), forget=forget(),
                             attacks=("loss",)),
         ("the original model", "has no parameters")),
    Case("tuple_output", "traceback", lambda: unlearn_model(TupleOut(), forget()),
         ("returns a tuple", "logits")),
    Case("save_under_a_file", "traceback", _save("file"), ("a-file is a file, not a folder",)),
    Case("save_to_a_folder", "traceback", _save("folder"), ("it is a folder",)),
    Case("audit_other_ids", "data-loss",
         lambda: audit_model(cancer_model(), erased()[1], records=cancer(), forget=forget(30),
                             attacks=("loss",)),
         ("forgot other records than `forget`", "30 of its 30")),
    Case("record_other_ids", "data-loss", _build_other_ids,
         ("another forget set", "exactly the records")),
    Case("gold_other_ids", "data-loss", _gold_other_ids,
         ("15 forgotten record(s) are in the training set of a gold-standard model",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_naming_the_field(case, tmp_path):
    run = case.run
    with pytest.raises((ValueError, TypeError)) as info:
        run(tmp_path) if run.__code__.co_argcount else run()
    assert isinstance(info.value, case.error), repr(info.value)
    message = str(info.value)
    for name in case.names:
        assert name in message, (name, message)
    for leak in (*LEAKS, *case.absent):
        assert leak not in message, (leak, message)


# --- the cases that are handled, not refused -------------------------------------------------
@pytest.mark.parametrize("words, expected", [
    (["yes", "no", " Yes "], [True, False, True]),
    (["True", "False", "false"], [True, False, False]),
    (["y", "n", "N"], [True, False, False]),
    ([1, 0, 0], [True, False, False]),
    ([1.0, 0.0, 1.0], [True, False, True]),
])
def test_member_spellings_are_read_as_written(words, expected):
    frame = cancer_frame().iloc[:3].assign(in_training=words)
    frame = pd.concat([frame, cancer_frame().iloc[3:].assign(in_training="yes")])
    assert cancer_table(frame).frame["member"].tolist()[:3] == expected


def test_a_declared_categorical_column_is_one_hot_encoded():
    frame = edit("mean radius", [3], "n/a")
    table = cancer_table(frame, categorical=["mean radius"])
    kinds = {f.name: f.kind for f in table.schema.features}
    assert kinds["mean radius"] == "categorical" and kinds["mean area"] == "numeric"


def test_ids_with_spaces_are_stripped_on_load_and_on_lookup():
    frame = cancer_frame()
    frame["patient"] = " " + frame["patient"] + "  "
    table = cancer_table(frame)
    assert table.ids[:2] == ("P0", "P1")
    member = table.members().ids[0]
    assert table.select(ids=[f" {member} "]).ids == (member,)
    assert table.positions([f"{member}\t"]).tolist() == table.positions([member]).tolist()


def test_a_folder_member_column_of_yes_and_no_keeps_held_out_records_held_out(
        copy_samples, rewrite_records):
    folder = copy_samples("clinic") / "clinic"
    shipped = load_folder(folder).records.frame["member"].tolist()
    rewrite_records(folder, lambda f: f.assign(member=np.where(f["member"], "yes", "no")))
    assert load_folder(folder).records.frame["member"].tolist() == shipped
    held_out = load_folder(folder).records.held_out().ids[0]
    with pytest.raises(ValueError, match="never training members"):
        load_folder(folder).records.select(ids=[held_out])


def test_a_folder_member_column_of_other_words_is_refused_naming_the_file(
        copy_samples, rewrite_records):
    folder = copy_samples("clinic") / "clinic"
    rewrite_records(folder, lambda f: f.assign(member=np.where(f["member"], "yes", "maybe")))
    with pytest.raises(ValueError, match=r"records\.csv\.gz: the member column 'member'") as info:
        load_folder(folder)
    assert "maybe" in str(info.value)


# --- the CLI: bad input exits 2 before any work ----------------------------------------------
def _erase(tmp_path, *source, extra=()):
    return run_cli("erase", *source, "--ids", "10093,10165,10190", "--out", tmp_path / "out",
                   "--ledger", tmp_path / "l.sqlite", "--cache-dir", tmp_path / "c",
                   "--reference", "none", "--attacks", "loss", "--quiet", *extra)


@pytest.mark.parametrize("case", ["cli_folder_maybe", "cli_wrong_width", "cli_due_before"])
def test_cli_bad_input_exits_2_before_any_work(case, tmp_path, samples, copy_samples,
                                               rewrite_records):
    folder = copy_samples("clinic") / "clinic"
    model = save_model(samples["clinic"].model, tmp_path / "m.safetensors")
    extra, expected = (), ()
    if case == "cli_folder_maybe":
        rewrite_records(folder, lambda f: f.assign(member=np.where(f["member"], "1", "maybe")))
        expected = ("records.csv.gz", "member column 'member'", "maybe")
    elif case == "cli_wrong_width":
        model = save_model(TabularMLP(13, 2, (8,)), tmp_path / "m.safetensors")
        expected = ("expects 13 input values", "27 values")
    else:
        extra = ("--received", "2026-05-10", "--due", "2026-05-01")
        expected = ("request.due", "before request.received")
    code, _, err = _erase(tmp_path, "--model", model, "--records", folder, extra=extra)
    assert code == 2, err
    assert all(e in err for e in expected), err
    assert not any(leak in err for leak in LEAKS), err
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.sqlite").exists()
    assert not (tmp_path / "c").exists()  # nothing was trained


# --- the happy path: a one-logit model -------------------------------------------------------
def test_a_one_logit_model_is_unlearned_audited_and_saved_with_one_output(tmp_path):
    table = cancer()
    model = train_one_logit(one_logit_model(table.input_space.size), table)
    before = weights_sha256(model)
    f = forget()
    check_request(ErasureRequest(model=model, table=table, selection=Selection.by_ids(f.ids),
                                 gold_models=2, attacks=("loss", "rmia")))
    result = unlearn_model(model, f, params=FAST)
    assert weights_sha256(model) == before and result.original_weights_sha256 == before
    assert isinstance(result.model, nn.Sequential)
    assert result.model(table.inputs(f.ids)).shape == (len(f), 1)
    assert weights_sha256(result.model) == result.weights_sha256
    gold = gold_standard(model, f, count=2, training=TrainingOptions(cache_dir=tmp_path))
    assert all(m(table.inputs()[:3]).shape == (3, 1) for m in gold.models)
    audited = audit_model(model, result, records=table, forget=f, gold_standard=gold,
                          attacks=("loss", "rmia"),
                          options=AuditOptions(shadow_models=2,
                                               training=TrainingOptions(cache_dir=tmp_path)))
    assert audited.unlearned_sha256 == result.weights_sha256
    assert audited.original_sha256 == before
    assert audited.erasure in ("PASS", "FAIL", "INCONCLUSIVE")
    path = save_model(result.model, tmp_path / "out" / "unlearned.safetensors")
    loaded = load_model(path, model=one_logit_model(table.input_space.size, seed=1))
    assert weights_sha256(loaded) == result.weights_sha256
    assert loaded(table.inputs()[:4]).shape == (4, 1)
    assert json.loads(json.dumps(audited.to_dict()))["forget_count"] == len(f)
    assert "forget_ids" not in audited.to_dict()  # who was erased stays out of the JSON


def test_cli_erases_a_one_logit_model_and_the_record_verifies(tmp_path, samples):
    table = samples["clinic"].records
    torch.manual_seed(0)
    model = train_one_logit(TabularMLP(table.input_space.size, 1, (16,)), table, steps=30)
    path = save_model(model, tmp_path / "one-logit.safetensors")
    code, _, err = _erase(tmp_path, "--model", path, "--records", "clinic",
                          extra=("--params", json.dumps(FAST), "--pdf-renderer", "matplotlib"))
    assert code == 0, err
    unlearned = load_model(tmp_path / "out" / "model-unlearned.safetensors")
    assert unlearned(table.inputs()[:3]).shape == (3, 1)
    code, out, _ = run_cli("verify", tmp_path / "out" / "record.json")
    assert code == 0, out
