"""Crash points at every stage of writing an erasure's evidence (issue 16).

A first erasure is on the ledger in ``out``; a second one into the same folder with
``force`` is interrupted at each stage below. Expected at every stage:

| stage interrupted                  | ledger       | ``out``             | next run    |
|------------------------------------|--------------|---------------------|-------------|
| before / after the model file      | unchanged    | first, byte-same    | removes (1) |
| before / after a gold-standard file| unchanged    | first, byte-same    | removes (1) |
| before / after the sealed record   | unchanged    | first, byte-same    | removes (1) |
| before / after the HTML, the PDF   | unchanged    | first, byte-same    | removes (1) |
| after the record entry, pre-commit | rolled back  | first, byte-same    | removes (1) |
| after the commit, pre-publish      | + 2 entries  | first, byte-same    | publishes (2)|
| after moving the first aside       | + 2 entries  | gone (first aside)  | publishes   |

(1) the staging folder is deleted and its vault shredded (an exception does it at once).
(2) beside the first, as ``out.recovered-TIME``: a recovery never moves evidence aside.

So no sealed record ever claims a ledger entry it did not get, and no ledgered file is lost:
the first run's files stay byte-identical, in ``out`` or moved aside. The SIGKILL cases run
the erasure in a child process killed at the stage (no ``finally`` runs there).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from workbench.evidence import load_record, verify_ledger
from workbench.evidence.ledger import find_entry
from workbench.evidence.vault import VaultShredded, open_vault
from workbench.hashing import sha256_file
from workbench.pipeline import ErasureRequest, Selection, check_out_dir, run_request
from workbench.pipeline import staging as staging_module
from workbench.pipeline import write as write_module
from workbench.pipeline.write import EvidenceOptions, write_evidence

torch.set_num_threads(1)
FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}
MATPLOTLIB = EvidenceOptions(pdf_renderer="matplotlib")


@pytest.fixture(scope="module")
def outcome(samples):
    sample = samples["credit"]
    ids = sample.records.members().ids[:30]
    return run_request(ErasureRequest(
        model=sample.model, table=sample.records, selection=Selection.by_ids(ids), params=FAST,
        gold_models=2, attacks=("loss",), model_name="credit", records_source="sample:credit"))


def snapshot(folder):
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())}


def write(outcome, out, ledger, **kw):
    return write_evidence(outcome, out, ledger=ledger, options=MATPLOTLIB, **kw)


@pytest.fixture(scope="module")
def first_written(outcome, tmp_path_factory):
    root = tmp_path_factory.mktemp("first")
    written = write(outcome, root / "out", root / "ledger.sqlite")
    return root, written.record


@pytest.fixture
def first(first_written, tmp_path):
    """``out`` holding a first, ledgered evidence folder (a copy of one written once);
    returns (out, ledger, its files' hashes, its record)."""
    root, record = first_written
    shutil.copytree(root / "out", tmp_path / "out")
    shutil.copy(root / "ledger.sqlite", tmp_path / "ledger.sqlite")
    return tmp_path / "out", tmp_path / "ledger.sqlite", snapshot(tmp_path / "out"), record


class Crash(BaseException):
    """Stands for Ctrl-C or a crash (a BaseException: nothing may swallow it)."""


def crash_before(name):
    def wrapper(*args, **kwargs):
        raise Crash(name)
    return wrapper


def crash_after(original, name, call=1):
    calls = []

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == call:
            raise Crash(name)
        return result
    return wrapper


def crash_in_ledger(after_appends):
    """``append_session`` whose ``append`` raises after ``after_appends`` entries."""
    original = write_module.append_session

    def session(*args, **kwargs):
        cm = original(*args, **kwargs)

        class Wrapped:
            def __enter__(self):
                seq, prev, append = cm.__enter__()
                done = []

                def appending(*a, **k):
                    h = append(*a, **k)
                    done.append(h)
                    if len(done) == after_appends:
                        raise Crash("ledger")
                    return h
                return seq, prev, appending

            def __exit__(self, *exc):
                return cm.__exit__(*exc)
        return Wrapped()
    return session


STAGES = {
    "before model": ("save_model", "before", 1),
    "after model": ("save_model", "after", 1),
    "after gold file": ("save_model", "after", 2),
    "before record": ("save_record", "before", 1),
    "after record": ("save_record", "after", 1),
    "before html": ("write_html", "before", 1),
    "after html": ("write_html", "after", 1),
    "before pdf": ("write_pdf", "before", 1),
    "after pdf": ("write_pdf", "after", 1),
    "after record entry": ("ledger", "after", 1),
    "before commit": ("ledger", "after", 2),
    "after commit": ("publish", "before", 1),
    "after moving aside": ("move_aside", "after", 1),
}
COMMITTED = {"after commit", "after moving aside"}


@pytest.mark.parametrize("stage", list(STAGES))
def test_an_interrupted_force_write_loses_nothing_and_claims_nothing(
        outcome, first, monkeypatch, stage):
    out, ledger, files, first_record = first
    name, when, call = STAGES[stage]
    if name == "ledger":
        monkeypatch.setattr(write_module, "append_session", crash_in_ledger(call))
    elif name == "move_aside":
        monkeypatch.setattr(staging_module, "move_aside",
                            crash_after(staging_module.move_aside, stage))
    else:
        original = getattr(write_module, name)
        monkeypatch.setattr(write_module, name, crash_before(stage) if
                            when == "before" else crash_after(original, stage, call))
    with pytest.raises(Crash):
        write(outcome, out, ledger, force=True)
    monkeypatch.undo()

    entries = verify_ledger(ledger)
    assert entries.ok and entries.entries == (4 if stage in COMMITTED else 2)
    staged = list(out.parent.glob(".out.staging-*"))
    if stage == "after moving aside":
        assert not out.exists()
    else:
        assert snapshot(out) == files  # the first run's evidence, byte for byte
    if stage not in COMMITTED:
        assert staged == []  # an interrupted run cleans up after itself
        return
    assert len(staged) == 1  # committed: kept for publishing, not thrown away
    # a verifier of the staged record finds it on the ledger: nothing in it is half-true
    staged_record = load_record(staged[0] / "record.json")
    assert find_entry(ledger, staged_record.integrity.record_sha256) == 3

    check_out_dir(out, force=True)  # the next run finishes the committed one first
    assert not list(out.parent.glob(".out.staging-*"))
    names = {p.name.split("-")[0] for p in out.parent.iterdir() if p.name.startswith("out.")}
    if stage == "after commit":  # ``out`` still held the first: the second goes beside it
        assert snapshot(out) == files and names == {"out.recovered"}
        published = next(out.parent.glob("out.recovered-*"))
    else:  # the first had been moved aside: the second takes its place
        assert names == {"out.superseded"}
        assert snapshot(next(out.parent.glob("out.superseded-*"))) == files
        published = out
    assert load_record(published / "record.json") == staged_record


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys, torch
    from workbench.pipeline import write as w, staging as s
    outcome = torch.load(sys.argv[1], weights_only=False)
    stage = sys.argv[4]
    def kill_after(module, name):
        original = getattr(module, name)
        def wrapper(*a, **k):
            result = original(*a, **k)
            os.kill(os.getpid(), signal.SIGKILL)
        setattr(module, name, wrapper)
    kill_after(*{"record": (w, "save_record"), "aside": (s, "move_aside")}[stage])
    w.write_evidence(outcome, sys.argv[2], ledger=sys.argv[3],
                     options=w.EvidenceOptions(pdf_renderer="matplotlib"), force=True)
""")


@pytest.mark.parametrize("stage", ["record", "aside"])
def test_sigkill_leaves_no_orphan_record_and_no_lost_file(outcome, first, tmp_path, stage):
    """SIGKILL after the sealed record is staged (before the commit), and after the first
    folder was moved aside (after the commit): the next run undoes or finishes it."""
    out, ledger, files, _ = first
    saved = tmp_path / "outcome.pt"
    torch.save(dataclasses.replace(outcome), saved)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", KILL_SCRIPT, saved, out, ledger, stage],
                           env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    staged = list(tmp_path.glob(".out.staging-*"))
    assert len(staged) == 1
    vault_id = load_record(staged[0] / "record.json").erased.vault_id
    check_out_dir(out, force=True)
    assert not list(tmp_path.glob(".out.staging-*"))
    if stage == "record":  # never committed: removed, its vault shredded, ``out`` untouched
        assert verify_ledger(ledger).entries == 2
        assert snapshot(out) == files
        with pytest.raises(VaultShredded):
            open_vault(vault_id)
    else:  # committed: published, the first folder aside and intact
        assert verify_ledger(ledger).entries == 4
        record = load_record(out / "record.json")
        assert find_entry(ledger, record.integrity.record_sha256) == 3
        aside = [p for p in tmp_path.iterdir() if p.name.startswith("out.superseded-")]
        assert len(aside) == 1 and snapshot(aside[0]) == files


def test_a_folder_with_other_files_is_refused_before_any_work(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no erasure record"):
        check_out_dir(tmp_path / "out", force=True)
