"""``workbench erase`` / ``verify`` / ``ledger verify``: the happy path and every fault."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from cli_toys import run_cli
from evidence_toys import FAST, clinic_ids

from workbench.evidence import load_record, verify_ledger
from workbench.evidence.ledger import read_entries


def erase_args(out, ledger, cache, *extra, ids=None):
    return ("erase", "--sample", "clinic", "--ids", ",".join(ids or clinic_ids(8)),
            "--out", out, "--ledger", ledger, "--cache-dir", cache, "--params", json.dumps(FAST),
            "--shadow-models", "4", "--gold-models", "2", "--request-ref", "REQ-CLI-1",
            "--legal-basis",
            "GDPR Art. 17(1)(a)", "--received", "2026-11-01", "--due", "2026-12-01", *extra)


def quick_args(out, ledger, cache, *extra):
    """An erasure without gold standard, reference models or chromium: a few seconds."""
    return erase_args(out, ledger, cache, "--reference", "none", "--attacks", "loss",
                      "--pdf-renderer", "matplotlib", *extra)


@pytest.fixture(scope="module")
def erased(tmp_path_factory):
    """One full erasure through the CLI (2 gold models, LOSS + RMIA + LiRA, K=4)."""
    root = tmp_path_factory.mktemp("erase")
    code, out, err = run_cli(*erase_args(root / "out", root / "ledger.sqlite", root / "cache"))
    assert code == 0, err
    return root, out


def test_erase_writes_model_record_reports_and_ledger(erased):
    root, out = erased
    folder = root / "out"
    assert sorted(p.name for p in folder.iterdir()) == [
        "gold-standard-0.safetensors", "gold-standard-1.safetensors",
        "model-unlearned.safetensors", "record.json", "report.html", "report.pdf"]
    record = load_record(folder / "record.json")
    assert record.tests.attacks == ("loss", "rmia", "lira")
    assert record.request.reference == "REQ-CLI-1" and record.erased.count == 8
    assert "workbench erase --sample clinic" in record.method.command
    assert f"erasure: {record.tests.overall}" in out
    assert len(record.gold_standard.models) == 2 and record.gold_standard.built
    assert "--gold-models 2" in record.method.command
    assert "calibrated_sigma" in record.method.resolved  # values settled at run time
    assert len(record.tests.audit.shadow_models.weights_sha256) == 4  # the shadow models
    report = verify_ledger(root / "ledger.sqlite")
    assert report.ok and report.entries == 2  # the record, then its reports' hashes
    assert report.head_sha256 == read_entries(root / "ledger.sqlite")[1].entry_hash
    assert read_entries(root / "ledger.sqlite")[0].body_hash == record.integrity.record_sha256
    # shadow models trained on the erased records are purged; the gold standard is not
    assert "cache   deleted 1 cached model set(s) trained on the erased records, kept 1" in out
    assert not list((root / "cache" / "reference-models").iterdir())
    assert len(list((root / "cache" / "gold-standard").iterdir())) == 1


def test_verify_reproduces(erased):
    root, _ = erased
    code, out, err = run_cli("verify", root / "out" / "record.json", "--ledger",
                             root / "ledger.sqlite", "--cache-dir", root / "cache")
    assert code == 0, out + err
    assert "verified" in out and "\nFAIL " not in "\n" + out


def test_verify_with_explicit_models(erased, samples):
    root, _ = erased
    from workbench.models import save_model

    before = save_model(samples["clinic"].model, root / "before.safetensors")
    code, out, err = run_cli("verify", root / "out" / "record.json", "--model-before", before,
                             "--model-after", root / "out" / "model-unlearned.safetensors",
                             "--cache-dir", root / "cache")
    assert code == 0, out + err


def test_ledger_verify_cli(erased):
    root, _ = erased
    code, out, _ = run_cli("ledger", "verify", root / "ledger.sqlite")
    assert code == 0 and "2 entries, chain intact, signatures valid" in out


def test_existing_record_is_not_overwritten(erased, tmp_path):
    root, _ = erased
    before = (root / "out" / "record.json").read_bytes()
    code, _, err = run_cli(*quick_args(root / "out", tmp_path / "l.sqlite", tmp_path / "c"))
    assert code == 2 and "already holds an erasure record" in err and "--force" in err
    assert (root / "out" / "record.json").read_bytes() == before
    assert not (tmp_path / "l.sqlite").exists()


def test_force_overwrites_and_chains(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    assert run_cli(*quick_args(tmp_path / "out", ledger, tmp_path / "c"))[0] == 0
    code, _, err = run_cli(*quick_args(tmp_path / "out", ledger, tmp_path / "c", "--force"))
    assert code == 0, err
    second = load_record(tmp_path / "out" / "record.json")
    assert second.integrity.ledger_sequence == 3  # after the first record and its reports
    assert verify_ledger(ledger).entries == 4


def test_unknown_ids(tmp_path):
    code, _, err = run_cli(*quick_args(tmp_path / "out", tmp_path / "l.sqlite", tmp_path / "c"),
                           "--ids", "NO-SUCH-ID,ALSO-NOT")
    assert code == 2 and "2 record id(s) not in table 'clinic'" in err and "NO-SUCH-ID" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.sqlite").exists()


def test_ids_file_without_the_id_column(tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text("patient,reason\n10093,asked\n")
    args = list(quick_args(tmp_path / "out", tmp_path / "l.sqlite", tmp_path / "c"))
    i = args.index("--ids")
    args[i:i + 2] = ["--ids-file", ids]
    code, _, err = run_cli(*args)
    assert code == 2 and "has no 'record_id' column" in err and "patient" in err
    code, _, err = run_cli(*args, "--id-column", "nope")
    assert code == 2 and "'nope'" in err


def test_ids_file_with_the_column_works(tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text("record_id,reason\n" + "".join(f"{i},asked\n" for i in clinic_ids(3)))
    args = list(quick_args(tmp_path / "out", tmp_path / "l.sqlite", tmp_path / "c"))
    i = args.index("--ids")
    args[i:i + 2] = ["--ids-file", ids]
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert load_record(tmp_path / "out" / "record.json").erased.count == 3


def test_model_needs_records(tmp_path):
    code, _, err = run_cli("erase", "--model", tmp_path / "m.safetensors", "--ids", "1",
                           "--out", tmp_path / "out", "--ledger", tmp_path / "l.sqlite")
    assert code == 2 and "--model needs --records" in err


@pytest.mark.parametrize("fault", ["interrupt", "crash"])
def test_fault_halfway_leaves_no_files_and_no_entry(tmp_path, monkeypatch, fault):
    from workbench.pipeline import write as pipeline

    ledger = tmp_path / "ledger.sqlite"
    assert run_cli(*quick_args(tmp_path / "first", ledger, tmp_path / "c"))[0] == 0
    error = KeyboardInterrupt() if fault == "interrupt" else RuntimeError("disk on fire")

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "write_pdf", broken)
    if fault == "interrupt":
        code, _, err = run_cli(*quick_args(tmp_path / "out", ledger, tmp_path / "c"))
        assert code == 130 and "interrupted" in err
    else:
        with pytest.raises(RuntimeError, match="disk on fire"):
            run_cli(*quick_args(tmp_path / "out", ledger, tmp_path / "c"))
    assert not (tmp_path / "out").exists()  # no record, model, report or temp file
    assert not list(tmp_path.glob(".out.staging-*"))
    report = verify_ledger(ledger)
    assert report.ok and report.entries == 2  # the record, then its reports' hashes


@pytest.fixture
def copy_out(erased, tmp_path):
    root, _ = erased
    shutil.copytree(root / "out", tmp_path / "out")
    return tmp_path / "out", root / "cache"


def test_verify_detects_a_changed_record_byte(copy_out):
    out, cache = copy_out
    path = out / "record.json"
    data = bytearray(path.read_bytes())
    pos = data.index(b'"REQ-CLI-1"') + 5
    data[pos] = ord("X")
    path.write_bytes(bytes(data))
    code, _, err = run_cli("verify", path, "--cache-dir", cache)
    assert code == 1 and "record.json" in err and "changed after it was sealed" in err  # tamper: 1


def test_verify_detects_a_tampered_model(copy_out):
    out, cache = copy_out
    model = out / "model-unlearned.safetensors"
    data = bytearray(model.read_bytes())
    data[-3] ^= 0xFF
    model.write_bytes(bytes(data))
    code, out_text, err = run_cli("verify", out / "record.json", "--cache-dir", cache)
    assert code == 1 and "FAIL model after" in out_text and "does not match the record" in out_text
    assert "verification failed: model after" in err


def test_verify_detects_the_wrong_model_after(copy_out):
    out, cache = copy_out
    code, out_text, _ = run_cli("verify", out / "record.json", "--model-after",
                                out / "gold-standard-0.safetensors", "--cache-dir", cache)
    assert code == 1 and "FAIL model after" in out_text and "weights hash" in out_text


def test_verify_detects_a_record_missing_from_the_ledger(copy_out, tmp_path):
    out, cache = copy_out
    other = tmp_path / "other.sqlite"
    run_cli(*quick_args(tmp_path / "x", other, tmp_path / "c"))
    code, out_text, _ = run_cli("verify", out / "record.json", "--ledger", other,
                                "--cache-dir", cache)
    assert code == 1 and "FAIL ledger: the record is not in" in out_text


def test_ledger_verify_cli_names_the_broken_entry(erased, tmp_path):
    root, _ = erased
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(root / "ledger.sqlite", ledger)
    conn = sqlite3.connect(ledger)
    conn.executescript("DROP TRIGGER entries_no_update;"
                       "UPDATE entries SET body_json = replace(body_json, 'REQ-CLI-1', "
                       "'REQ-CLI-2');")
    conn.commit()
    conn.close()
    code, _, err = run_cli("ledger", "verify", ledger)
    assert code == 1 and "entry 1: its record was edited" in err


def test_verify_missing_record_file(tmp_path):
    code, _, err = run_cli("verify", tmp_path / "none.json")
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("extra, message", [
    (("--received", "26/11/2026"), "request.received must be an ISO-8601"),
    (("--attacks", "lira", "--shadow-models", "2"), "LiRA needs at least 4"),
    (("--attacks", "rmia", "--reference-models", "3"), "must be even"),
    (("--reference", "retrain", "--gold-models", "1"), "or at least 2"),
])
def test_bad_options_fail_before_any_work(tmp_path, extra, message):
    args = [*quick_args(tmp_path / "out", tmp_path / "l.sqlite", tmp_path / "c"), *extra]
    code, _, err = run_cli(*args)
    assert code == 2 and message in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.sqlite").exists()


def test_an_unwritable_ledger_or_output_fails_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args, message in (
            (quick_args(tmp_path / "out", blocker / "ledger.sqlite", tmp_path / "c"),
             "the ledger"),
            (quick_args(blocker / "out", tmp_path / "l.sqlite", tmp_path / "c"),
             "the output folder")):
        code, _, err = run_cli(*args)
        assert code == 2 and message in err and "is a file, not a folder" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.sqlite").exists()
    assert not (tmp_path / "c").exists()  # nothing was trained


def test_erase_a_model_file_then_verify(tmp_path, samples):
    from workbench.models import save_model

    model = save_model(samples["clinic"].model, tmp_path / "prod-model.safetensors")
    args = list(quick_args(tmp_path / "out", tmp_path / "l.sqlite", tmp_path / "c"))
    i = args.index("--sample")
    args[i:i + 2] = ["--model", model, "--records", "clinic"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    record = load_record(tmp_path / "out" / "record.json")
    assert record.model.name == "prod-model" and record.model.before_file == str(model)
    code, out, _ = run_cli("verify", tmp_path / "out" / "record.json")
    assert code == 0, out
    model.write_bytes(model.read_bytes()[:-8] + b"\0" * 8)  # the original changed since
    code, out, _ = run_cli("verify", tmp_path / "out" / "record.json")
    assert code == 1 and "FAIL model before" in out


def test_force_leaves_no_stale_file_of_the_earlier_run(copy_out, tmp_path):
    out, _ = copy_out
    assert (out / "gold-standard-1.safetensors").exists()
    code, _, err = run_cli(*quick_args(out, tmp_path / "l.sqlite", tmp_path / "c", "--force"))
    assert code == 0, err
    assert not list(out.glob("gold-standard*"))
    assert not load_record(out / "record.json").gold_standard.built
