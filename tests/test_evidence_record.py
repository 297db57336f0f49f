"""AuditRecord: contents, round trip, schema validation and tamper detection; the ledger."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest
from cli_toys import tamper
from evidence_toys import KEY, REQUEST, clinic_erasure, unsealed_record

from workbench.evidence import (
    AuditRecord,
    RecordError,
    append_record,
    load_record,
    save_record,
    verify_ledger,
)
from workbench.evidence.build import record_hashes
from workbench.evidence.keys import load_key
from workbench.evidence.ledger import LedgerError
from workbench.evidence.record import dumps
from workbench.hashing import record_sha256


@pytest.fixture
def record(tmp_path):
    return append_record(tmp_path / "ledger.sqlite", unsealed_record(tmp_path), KEY)


def test_record_holds_the_checklist(record):
    sample, forget, unlearned, gold, result = clinic_erasure()
    assert record.request.reference == REQUEST["reference"]
    assert record.request.legal_basis == "GDPR Art. 17(1)(a)"
    assert record.erased.record_ids == forget.ids and record.erased.count == 12
    assert record.erased.rule == "by record id"
    assert record.model.before_sha256 == unlearned.original_weights_sha256
    assert record.model.after_sha256 == unlearned.weights_sha256 != record.model.before_sha256
    assert record.model.architecture["name"] == "mlp"
    assert record.method.name == "synthetic" and record.method.seed == 0
    assert record.method.code_version.startswith(("git:", "erasure-workbench"))
    assert {"torch", "numpy", "python"} <= set(record.method.library_versions)
    assert record.gold_standard.built
    assert tuple(m.weights_sha256 for m in record.gold_standard.models) == gold.weights_sha256
    assert record.tests.overall == result.overall
    assert set(record.tests.passed + record.tests.failed + record.tests.inconclusive) == \
        {v.test for v in result.verdicts}
    assert "not a proof" in record.tests.limitations and "LOSS, RMIA" in record.tests.limitations
    assert record.approval.decision == "pending" and record.approval.operator == "tester"
    assert record.created_at.endswith("Z")
    assert record.integrity.ledger_sequence == 1 and record.integrity.previous_sha256 is None
    assert record.integrity.record_sha256 == record.body_sha256()


def test_record_hashes_each_erased_record_without_its_data(record):
    sample, forget, *_ = clinic_erasure()
    row = sample.records.frame.set_index("record_id").loc[forget.ids[0]]
    expected = record_sha256({"record_id": forget.ids[0],
                              **{k: (v.item() if hasattr(v, "item") else v)
                                 for k, v in row.items()}})
    assert record.erased.record_sha256[0] == expected
    assert record.erased.record_sha256 == record_hashes(forget)
    text = dumps(record)
    data = json.loads(text)
    # no per-record scores or feature values: only ids and hashes identify the records
    assert data["tests"]["audit"]["confidence"]["records"] == []
    assert data["tests"]["audit"]["flags"]["records"] == []
    feature = next(c for c in sample.records.frame.columns if c not in ("record_id", "label",
                                                                         "member"))
    assert f'"{feature}"' not in text  # neither as a key nor as a value


def test_record_round_trips(record, tmp_path):
    assert AuditRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    path = save_record(record, tmp_path / "record.json")
    assert load_record(path) == record
    assert path.read_text() == dumps(record)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(schema_version=3), "version"),
    (lambda d: d.update(schema_version=1), "version-1 audit record .* verify it with that "
                                           "code version"),
    (lambda d: d.pop("request"), "missing"),
    (lambda d: d["erased"].update(count=3), "count"),
    (lambda d: d["model"].update(after_sha256="abc"), "64-digit"),
    (lambda d: d.update(created_at="2026-11-26T10:00:00+02:00"), "UTC"),
    (lambda d: d["approval"].update(decision="maybe"), "decision"),
    (lambda d: d["tests"].update(overall="OK"), "overall"),
    (lambda d: d["method"].update(seed="0"), "seed"),
])
def test_invalid_records_are_refused(record, edit, message):
    data = record.to_dict()
    edit(data)
    with pytest.raises(RecordError, match=message):
        AuditRecord.from_dict(data)


def test_a_changed_value_breaks_the_hash(record, tmp_path):
    path = save_record(record, tmp_path / "record.json")
    text = path.read_text()
    path.write_text(text.replace('"decision": "pending"', '"decision": "approved"'))
    with pytest.raises(RecordError, match="changed after it was sealed"):
        load_record(path)


def test_every_single_byte_change_is_detected(record, tmp_path):
    path = save_record(record, tmp_path / "record.json")
    original = path.read_bytes()
    for offset in (0, 5, len(original) // 3, len(original) // 2, len(original) - 2):
        changed = bytearray(original)
        changed[offset] = ord(" ") if changed[offset] != ord(" ") else ord("\t")
        path.write_bytes(bytes(changed))
        with pytest.raises(RecordError, match=str(path)):
            load_record(path)


def test_a_sealed_record_with_a_wrong_link_is_refused_by_the_ledger(record, tmp_path):
    from workbench.evidence.ledger import append_session

    with pytest.raises(LedgerError, match="not linked"), \
            append_session(tmp_path / "ledger.sqlite", KEY) as (_, _, append):
        append("record", record.to_dict(), record.integrity.record_sha256)  # 1 again


def _ledger(tmp_path, n=3):
    path = tmp_path / "chain.sqlite"
    base = unsealed_record(tmp_path)
    for i in range(n):
        append_record(path, dataclasses.replace(
            base, request=dataclasses.replace(base.request, reference=f"REQ-{i}")), KEY)
    return path


def test_ledger_chain_is_intact(tmp_path):
    report = verify_ledger(_ledger(tmp_path))
    assert report.ok and report.entries == 3 and len(report.head_sha256) == 64


def test_ledger_refuses_update_and_delete(tmp_path):
    path = _ledger(tmp_path)
    with sqlite3.connect(path) as conn:
        for sql in ("UPDATE entries SET appended_at = 'x'", "DELETE FROM entries WHERE seq = 2"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


def test_ledger_detects_an_edited_entry(tmp_path):
    path = _ledger(tmp_path)
    conn = sqlite3.connect(path)
    text = conn.execute("SELECT body_json FROM entries WHERE seq = 2").fetchone()[0]
    conn.close()
    edited = text.replace('"REQ-1"', '"REQ-X"')
    assert edited != text
    tamper(path, ("UPDATE entries SET body_json = ? WHERE seq = 2", (edited,)))
    report = verify_ledger(path)
    assert not report.ok and report.entries == 1
    assert report.problem.startswith("entry 2: its record was edited")


def test_ledger_detects_a_deleted_entry(tmp_path):
    path = _ledger(tmp_path)
    tamper(path, "DELETE FROM entries WHERE seq = 2")
    report = verify_ledger(path)
    assert not report.ok and "entry 2 was deleted" in report.problem


def test_ledger_detects_a_deleted_and_renumbered_entry(tmp_path):
    path = _ledger(tmp_path)
    tamper(path, "DELETE FROM entries WHERE seq = 2", "UPDATE entries SET seq = 2 WHERE seq = 3")
    report = verify_ledger(path)
    assert not report.ok and "link to the previous entry" in report.problem


def test_ledger_missing_or_not_a_ledger(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        verify_ledger(tmp_path / "none.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database")
    with pytest.raises(LedgerError, match="not a readable"):
        verify_ledger(tmp_path / "junk.sqlite")


def test_ed25519_signature(record, tmp_path):
    from workbench.evidence.signing import check_signature, sign_record

    signed = sign_record(record, KEY)
    assert "valid" in check_signature(signed, signed.integrity.public_key)
    assert "valid" in check_signature(signed, KEY.fingerprint)
    with pytest.raises(RecordError, match="not by the trusted key"):
        check_signature(signed, load_key(tmp_path / "other.pem").fingerprint)
    forged = dataclasses.replace(signed, integrity=dataclasses.replace(
        signed.integrity, signature="00" * 64))
    with pytest.raises(RecordError, match="does not verify"):
        check_signature(forged)
    with pytest.raises(RecordError, match="not signed"):
        check_signature(record)
    assert "NOT SIGNED" in check_signature(record, allow_unsigned=True)
