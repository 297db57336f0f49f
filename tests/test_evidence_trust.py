"""Evidence under attack, and a request's life: every tamper case exits 1, bad input 2.

Threat model (README): an attacker with file access but without the operator's key cannot
forge a record or a ledger entry under that key; one who rewrites or truncates the ledger is
caught by the witness; one with the key (and the files) can sign anything, but not rewrite
what the witness already saw.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import shutil

import pytest
from cli_toys import run_cli, tamper

from workbench import load_sample
from workbench.evidence import load_record, save_record
from workbench.evidence._validate import one_month_after
from workbench.evidence.keys import load_key
from workbench.evidence.ledger import append_record, read_entries
from workbench.evidence.lifecycle import find_case
from workbench.evidence.signing import sign_record

FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}
# received ten days ago, so that answering today meets the one-month deadline whenever the
# suite runs (a fixed date made the test fail once a month had passed)
RECEIVED = (datetime.datetime.now(datetime.UTC).date()
            - datetime.timedelta(days=10)).isoformat()


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Two quick erasures (no gold standard, LOSS only) on one ledger with a witness."""
    root = tmp_path_factory.mktemp("trust")
    members = load_sample("credit").records.members().ids
    for ref, start in (("DSR-1", 0), ("DSR-2", 30)):
        code, _, err = run_cli(
            "erase", "--sample", "credit", "--ids", ",".join(members[start:start + 30]),
            "--out", root / ref, "--ledger", root / "ledger.sqlite", "--witness",
            root / "witness.jsonl", "--key", root / "alice.pem", "--params", json.dumps(FAST),
            "--reference", "none", "--attacks", "loss", "--pdf-renderer", "matplotlib",
            "--quiet", "--request-ref", ref, "--received", RECEIVED)
        assert code == 0, err
    return root


@pytest.fixture
def work(case, tmp_path, monkeypatch):
    """A copy of the case, with its own copy of the vaults (a close shreds only these)."""
    import os

    root = tmp_path / "c"
    shutil.copytree(case, root)
    for env in ("WORKBENCH_VAULT", "WORKBENCH_VAULT_KEYS"):
        shutil.copytree(os.environ[env], root / env)
        monkeypatch.setenv(env, str(root / env))
    return root


def ledger_args(root):
    return ("--ledger", root / "ledger.sqlite", "--witness", root / "witness.jsonl")


def test_a_fresh_erasure_verifies_with_its_signer_and_witness(case):
    alice = load_key(case / "alice.pem").fingerprint
    code, out, err = run_cli("verify", case / "DSR-1" / "record.json", *ledger_args(case),
                         "--trusted-key", alice)
    assert code == 0, out + err
    assert f"key {alice} (the trusted key)" in out and "matches the witness (4 heads)" in out
    code, out, _ = run_cli("ledger", "verify", case / "ledger.sqlite", "--witness",
                       case / "witness.jsonl")
    assert code == 0 and f"signed by key(s) {alice}" in out


def test_a_forged_reseal_without_the_key_is_caught(work, tmp_path):
    root = work
    path = root / "DSR-1" / "record.json"
    record = load_record(path)
    approved = dataclasses.replace(record, approval=dataclasses.replace(
        record.approval, decision="approved"))
    forged = sign_record(approved.sealed(ledger_sequence=1, previous_sha256=None),
                         load_key(tmp_path / "mallory.pem"))
    save_record(forged, path)
    alice = load_key(root / "alice.pem").fingerprint
    code, _, err = run_cli("verify", path, "--trusted-key", alice)
    assert code == 1 and "not by the trusted key" in err
    code, out, _ = run_cli("verify", path, *ledger_args(root))  # unpinned: the ledger still tells
    assert code == 1 and "FAIL ledger: the record is not in" in out


def test_an_unsigned_record_needs_an_explicit_flag(work, tmp_path):
    root = work
    path = root / "DSR-1" / "record.json"
    record = load_record(path)
    save_record(dataclasses.replace(record, integrity=dataclasses.replace(
        record.integrity, signature=None, public_key=None)), path)
    code, _, err = run_cli("verify", path)
    assert code == 1 and "not signed" in err
    code, out, _ = run_cli("verify", path, "--allow-unsigned")
    assert code == 0 and "NOT SIGNED" in out


@pytest.mark.parametrize("attack, message", [
    ("truncate", "the ledger was truncated"),
    ("backdate", "its hash does not cover what it stores"),
    ("edit", "its record was edited"),
    ("rewrite", "differs from the one the witness saw"),
])
def test_ledger_tampering_is_caught(work, tmp_path, attack, message):
    root = work
    ledger = root / "ledger.sqlite"
    if attack == "truncate":
        tamper(ledger, "DELETE FROM entries WHERE seq = 4")
    elif attack == "backdate":
        tamper(ledger, "UPDATE entries SET appended_at = '2020-01-01T00:00:00Z' WHERE seq = 3")
    elif attack == "edit":
        text = read_entries(ledger)[2].body  # entry 3: DSR-2's record
        text["request"]["notes"] = "edited"
        tamper(ledger, ("UPDATE entries SET body_json = ? WHERE seq = 3", (json.dumps(text),)))
    else:  # the whole ledger rebuilt with the library and another key: every entry valid
        records = [load_record(root / ref / "record.json") for ref in ("DSR-1", "DSR-2")]
        ledger.unlink()
        mallory = load_key(tmp_path / "mallory.pem")
        for r in records:
            append_record(ledger, dataclasses.replace(r, request=dataclasses.replace(
                r.request, notes="rewritten")), mallory)
        code, out, _ = run_cli("ledger", "verify", ledger)  # without the witness it looks fine...
        assert code == 0 and mallory.fingerprint in out  # ...but names a stranger's key
    code, _, err = run_cli("ledger", "verify", ledger, "--witness", root / "witness.jsonl")
    assert code == 1 and message in err
    code, out, _ = run_cli("verify", root / "DSR-2" / "record.json", *ledger_args(root))
    assert code == 1 and "FAIL ledger" in out


def test_a_swapped_report_is_caught(work):
    root = work
    shutil.copy(root / "DSR-2" / "report.html", root / "DSR-1" / "report.html")
    code, out, _ = run_cli("verify", root / "DSR-1" / "record.json", *ledger_args(root))
    assert code == 1 and "FAIL report report.html: differs from the report the ledger" in out
    assert "ok   report report.pdf" in out


def test_appending_refuses_a_witness_that_disagrees(work, tmp_path):
    root = work
    tamper(root / "ledger.sqlite", "DELETE FROM entries WHERE seq = 4")
    before = (root / "witness.jsonl").read_text()
    code, _, err = run_cli("approve", "DSR-1", *ledger_args(root), "--key", root / "alice.pem",
                       "--override-reason", "x")
    assert code == 1 and "does not verify" in err
    assert (root / "witness.jsonl").read_text() == before


def test_a_request_lives_through_signed_steps_in_order(work, tmp_path):
    root = work
    key = ("--key", root / "dpo.pem")
    verdict = load_record(root / "DSR-1" / "record.json").tests.overall
    def step(*a):
        return run_cli(*a, *ledger_args(root), *key)

    entries = len(read_entries(root / "ledger.sqlite"))
    for bad, message in ((("deployed", "DSR-1"), "it cannot be deployed now"),
                         (("approve", "DSR-9"), "no erasure record for request 'DSR-9'"),
                         (("reject", "DSR-1"), "a rejection needs a reason")):
        code, _, err = step(*bad)
        assert code == 2 and message in err
    if verdict != "PASS":
        code, _, err = step("approve", "DSR-1")
        assert code == 2 and "needs a written override reason" in err
    assert len(read_entries(root / "ledger.sqlite")) == entries  # nothing written
    code, out, err = step("approve", "DSR-1", "--override-reason", "accepted by the DPO")
    assert code == 0, err
    if verdict != "PASS":
        assert "!! OVERRIDE" in out and "accepted by the DPO" in out
    assert step("deployed", "DSR-1", "--registry-id", "credit-scorer",
                "--model-version", "7")[0] == 0
    assert step("answered", "DSR-1", "--channel", "email")[0] == 0
    code, out, _ = step("close", "DSR-1")
    assert code == 0 and "now       closed" in out
    assert f"due       {one_month_after(RECEIVED)} (met)" in out  # answered today
    code, _, err = step("approve", "DSR-1", "--override-reason", "again")
    assert code == 2 and "is closed" in err
    found = find_case(root / "ledger.sqlite", "DSR-1")
    dpo = load_key(root / "dpo.pem").fingerprint
    reported, *steps = found.events  # the reports' hashes, written with the record
    assert reported[0].step == "reported" and set(reported[0].details) == {"html", "pdf"}
    assert reported[1].signer == load_key(root / "alice.pem").fingerprint
    assert [e.step for e, _ in steps] == ["approved", "deployed", "answered", "closed"]
    assert {entry.signer for _, entry in steps} == {dpo}
    assert steps[1][0].details == {"model_registry_id": "credit-scorer", "model_version": "7"}
    code, _, _ = run_cli("ledger", "verify", root / "ledger.sqlite", "--witness",
                     root / "witness.jsonl")
    assert code == 0
    code, out, _ = run_cli("status", "DSR-2", "--ledger", root / "ledger.sqlite")
    assert code == 0 and "now       audited" in out
    code, _, _ = run_cli("status", "DSR-1", "--ledger", root / "ledger.sqlite", "--html",
                         root / "case.html")
    page = (root / "case.html").read_text()
    assert code == 0 and "Decisions since the erasure" in page and "closed" in page
    if verdict != "PASS":
        assert "class='override'>  !! OVERRIDE" in page


def test_a_rejected_erasure_is_never_deployed(work, tmp_path):
    root = work
    args = (*ledger_args(root), "--key", root / "dpo.pem")
    assert run_cli("reject", "DSR-2", "--reason", "retrain instead", *args)[0] == 0
    code, _, err = run_cli("deployed", "DSR-2", *args)
    assert code == 2 and "DSR-2' is rejected: it cannot be deployed" in err
    assert run_cli("answered", "DSR-2", *args)[0] == 0


def test_the_evidence_keeps_no_plain_id_or_unkeyed_record_hash(case):
    from workbench.evidence.build import record_hashes

    sample = load_sample("credit")
    members = sample.records.members().ids[:30]
    for name in ("DSR-1/record.json", "DSR-1/report.html", "ledger.sqlite"):
        text = (case / name).read_bytes().decode("utf-8", errors="replace")
        assert not [i for i in members if i in text], name
    record = load_record(case / "DSR-1" / "record.json")
    plain = record_hashes(sample.records.select(ids=list(members)))
    assert record.erased.protection == "hmac-sha256" and record.erased.vault_until
    assert not set(plain) & set(record.erased.record_sha256)


def test_a_deleted_or_altered_escrow_is_caught(work):
    root, keys = work, work / "WORKBENCH_VAULT_KEYS"
    record = load_record(root / "DSR-1" / "record.json")
    key_file = keys / f"{record.erased.vault_id}.key"
    key_file.write_bytes(bytes(32))  # altered
    code, out, _ = run_cli("verify", root / "DSR-1" / "record.json")
    assert code == 1 and "cannot be decrypted" in out
    key_file.unlink()  # deleted without a close
    code, out, _ = run_cli("verify", root / "DSR-1" / "record.json", *ledger_args(root))
    assert code == 1 and "the escrow was deleted" in out


def test_close_shreds_the_vault_and_the_record_still_verifies(work):
    root = work
    args = (*ledger_args(root), "--key", root / "dpo.pem")
    record = load_record(root / "DSR-2" / "record.json")
    assert run_cli("reject", "DSR-2", "--reason", "retrain instead", *args)[0] == 0
    assert run_cli("answered", "DSR-2", *args)[0] == 0
    code, out, err = run_cli("close", "DSR-2", *args)
    assert code == 0, err
    assert f"shredded=vault {record.erased.vault_id} and its key" in out
    assert "left to the user=" in out and "still hold the erased rows" in out
    assert not list((root / "WORKBENCH_VAULT_KEYS").glob(f"{record.erased.vault_id}*"))
    assert not list((root / "WORKBENCH_VAULT").glob(f"{record.erased.vault_id}*"))
    code, out, _ = run_cli("verify", root / "DSR-2" / "record.json", *ledger_args(root))
    assert code == 0, out
    assert "shredded when the request was closed or its audit window ended" in out
    assert "not re-run: shredded" in out
    code, _, err = run_cli("close", "DSR-2", *args)  # twice
    assert code == 2 and "is closed" in err


def test_a_vault_is_shredded_when_its_audit_window_ends(work):
    root = work
    args = (*ledger_args(root), "--key", root / "dpo.pem")
    code, out, _ = run_cli("vault", "sweep", *args, "--now", "2026-12-01T00:00:00Z")
    assert code == 0 and "the vaults of 0 request(s)" in out  # the window is still open
    code, out, err = run_cli("vault", "sweep", *args, "--now", "2099-01-01T00:00:00Z")
    assert code == 0, err
    assert "the vaults of 2 request(s)" in out
    for ref in ("DSR-1", "DSR-2"):
        vault_id = load_record(root / ref / "record.json").erased.vault_id
        assert not (root / "WORKBENCH_VAULT_KEYS" / f"{vault_id}.key").exists()
    code, out, _ = run_cli("verify", root / "DSR-1" / "record.json", *ledger_args(root))
    assert code == 0 and "shredded when the request was closed or its audit window ended" in out
    code, out, _ = run_cli("vault", "sweep", *args, "--now", "2099-01-01T00:00:00Z")
    assert "the vaults of 0 request(s)" in out  # nothing left to shred
