"""The report a DPO and an auditor read: plain words first, labels, A4 pages that carry the
request, the record's hash and their number."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

import pytest
from evidence_toys import KEY, unsealed_record

from workbench.audit.attacks import ATTACKS
from workbench.audit.summary import band_text
from workbench.evidence import append_record, find_chromium, render_html, write_pdf
from workbench.evidence.plain import plain_summary
from workbench.labels import METHODS, TESTS, label_for_test
from workbench.unlearn import available_methods, get_unlearner

MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")
SIZES = {"A4": (595.0, 842.0), "Letter": (612.0, 792.0)}
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="poppler's pdftotext is not installed")


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain")
    return append_record(folder / "ledger.sqlite", unsealed_record(folder), KEY)


def over_forgotten(record):
    """``record`` with its loss test turned into an over-forgetting FAIL."""
    result = record.tests.audit
    v = result.verdict("mia_forget_loss")
    low = -0.5
    worse = dataclasses.replace(v, status="FAIL", value=v.target + low,
                                difference=low, interval=(low - 0.05, low + 0.05),
                                over_forgetting=True)
    verdicts = tuple(worse if x.test == v.test else x for x in result.verdicts)
    audit = dataclasses.replace(result, verdicts=verdicts, erasure="FAIL", overall="FAIL")
    return dataclasses.replace(record, tests=dataclasses.replace(record.tests, audit=audit,
                                                                 overall="FAIL"))


def agreeing(record):
    """``record`` with every erasure test where a small request that agrees with retraining
    leaves it: the difference 0, its interval inside the band, INCONCLUSIVE only because 12
    records are too few (whatever the method happened to do on this run)."""
    result = record.tests.audit

    def agree(v):
        if v.group != "erasure":
            return v
        return dataclasses.replace(v, status="INCONCLUSIVE", value=v.target, difference=0.0,
                                   interval=(-0.01, 0.01), over_forgetting=False)

    audit = dataclasses.replace(result, verdicts=tuple(agree(v) for v in result.verdicts),
                                erasure="INCONCLUSIVE", overall="INCONCLUSIVE")
    return dataclasses.replace(record, tests=dataclasses.replace(record.tests, audit=audit,
                                                                 overall="INCONCLUSIVE"))


def plain_part(text: str) -> str:
    return text[text.index("<section id='plain'>"):text.index("<section id='technical'>")]


def test_the_plain_summary_comes_before_the_technical_tables(record):
    record = agreeing(record)
    text = render_html(record)
    order = [text.index(h) for h in ("<h2>In plain words", "What was asked.", "What was done.",
                                     "Next step.", "<h2>Scorecard", "<h2>Plots",
                                     "<h2>Attack metrics", "<h2>Method and reproducibility")]
    assert order == sorted(order)
    plain = plain_part(text)
    for question in ("Erased?", "Kept records safe?", "Still useful?"):
        assert question in plain
    # 12 records: too few to PASS, and the summary says so in words
    assert "too few to show an erasure" in plain and "a PASS needs at least 25" in plain
    assert "mia_forget_loss" not in plain  # labels, not ids, in the plain words
    assert label_for_test("mia_forget_loss").label in plain
    assert record.tests.audit.decision_rule in text.replace("&#x27;", "'")


def with_class_drift(record):
    """``record`` with the first class's held-out accuracy 10 points below retraining's (a
    notable drift, whatever the method did on this run)."""
    result = record.tests.audit
    drift = result.drift
    name = next(iter(drift.unlearned.per_class))
    moved = {**drift.unlearned.per_class,
             name: drift.gold_standard.per_class[name] - 0.10}
    unlearned = dataclasses.replace(drift.unlearned, per_class=moved)
    audit = dataclasses.replace(result, drift=dataclasses.replace(drift, unlearned=unlearned))
    return dataclasses.replace(record, tests=dataclasses.replace(record.tests, audit=audit))


def test_power_flags_class_drift_and_notes_are_in_the_summary(record):
    record = with_class_drift(record)
    result = record.tests.audit
    plain = plain_part(render_html(record)).replace("&#x27;", "'")
    flags = result.flags
    assert f"Record flags: {flags.n_flagged} of {flags.n_forget} forgotten records" in plain
    assert "untouched original" in plain
    assert "Accuracy per class" in plain
    for name, value in result.drift.unlearned.per_class.items():
        assert f"<td>{name}</td><td>{result.drift.original.per_class[name]:.3f}</td>" \
               f"<td>{value:.3f}</td>" in plain
    summary = plain_summary(record)
    assert summary.drift_lines and all(line in plain for line in summary.drift_lines)
    assert any(n.startswith("Gold standard") and n in plain for n in summary.notes)
    assert f"Request notes: {record.request.notes}" in plain


def test_over_forgetting_is_explained_in_words_with_what_to_do(record):
    text = render_html(over_forgotten(record))
    plain = plain_part(text).replace("&#x27;", "'")
    assert "over-forgetting" in plain and "Streisand" in plain
    assert "look less like training data" in plain and "gentler setting" in plain
    assert "No: the records were over-forgotten" in plain
    assert "Do not deploy this model: it over-forgot" in plain
    assert 'Erasure: <span class="badge FAIL big">' in plain


def test_one_sided_bands_print_minus_infinity():
    assert band_text((None, 0.05)) == "[−∞, +0.050]"
    assert band_text((-0.02, None)) == "[-0.020, +∞]"


def test_every_table_repeats_its_header_and_the_renderer_is_named(record):
    text = render_html(record, pdf_renderer="chromium")
    assert text.count("<table") == text.count("<thead>") > 5
    assert "thead{display:table-header-group}" in text
    assert "<code>chromium</code>" in text
    assert "no PDF was made" in render_html(record)


def test_labels_cover_every_method_and_every_test(record):
    assert set(available_methods()) <= set(METHODS), "give each new method a label"
    for name in available_methods():
        assert METHODS[name].explanation and get_unlearner(name).summary
    ids = {f"mia_{side}_{a}" for a in ATTACKS for side in ("forget", "retain")}
    ids |= {"forget_accuracy", "test_accuracy", "retain_accuracy"}
    ids |= {v.test for v in record.tests.audit.verdicts}
    assert ids <= set(TESTS), "give each new test a label"
    assert all(TESTS[t].label and TESTS[t].explanation for t in ids)


def _pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return [page for page in text.split("\f") if page.strip()]


def _check_pages(pdf, record, paper: str) -> list[str]:
    data = pdf.read_bytes()
    boxes = [(float(w), float(h)) for w, h in MEDIA_BOX.findall(data)]
    want = SIZES[paper]
    assert boxes and all(abs(w - want[0]) < 1 and abs(h - want[1]) < 1 for w, h in boxes)
    pages = _pages(pdf)
    assert len(pages) == len(boxes) >= 2
    for n, page in enumerate(pages, 1):
        assert f"page {n} of {len(pages)}" in page
        assert record.integrity.record_sha256 in page
        assert record.request.reference in page
    return pages


@needs_chromium
@needs_pdftotext
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_chromium_pdf_pages_carry_number_hash_and_request(record, tmp_path, paper):
    used = write_pdf(record, tmp_path / "report.pdf", renderer="chromium", paper=paper)
    assert used == "chromium"
    pages = _check_pages(tmp_path / "report.pdf", record, paper)
    assert "In plain words" in pages[0]
    text = "\n".join(pages)
    assert re.search(r"PDF renderer\s+chromium", text)
    # every page holding a row of a field/value table holds its header row too
    rows = ("library versions", "selection rule", "weights before (SHA-256)",
            "re-run tolerance", "ledger sequence", "signature (Ed25519)")
    spanned = [p for p in pages if any(r in p for r in rows)]
    assert len(spanned) >= 2
    assert all(re.search(r"(?m)^\s*field\s+value\s*$", p) for p in spanned)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


@needs_pdftotext
def test_matplotlib_pdf_is_a4_with_the_same_margins(record, tmp_path):
    used = write_pdf(record, tmp_path / "report.pdf", renderer="matplotlib")
    assert used == "matplotlib (chosen)"
    pages = _check_pages(tmp_path / "report.pdf", record, "A4")
    assert "IN PLAIN WORDS" in pages[0] and "Next step." in pages[0]
    assert "PDF renderer: matplotlib (chosen)" in "\n".join(pages)


def test_paper_must_be_a4_or_letter(record, tmp_path):
    with pytest.raises(ValueError, match="paper must be one of"):
        write_pdf(record, tmp_path / "report.pdf", renderer="matplotlib", paper="A3")
    with pytest.raises(ValueError, match="paper must be one of"):
        render_html(record, paper="Legal")


def test_a_one_label_retrain_is_said_in_the_plain_summary(record):
    method = dataclasses.replace(record.method, resolved={"target": "one-label retrain",
                                                          "retain_size": 350})
    done = plain_summary(dataclasses.replace(record, method=method)).done
    assert "fresh copy of the model" in done and "350 synthetic stand-ins" in done
    assert "fresh copy" not in plain_summary(record).done  # a record request: nothing added
    capped = dataclasses.replace(record.method, resolved={
        "target": "one-label retrain", "retain_size": 50_000, "inputs_capped_at": 20_000})
    done = plain_summary(dataclasses.replace(record, method=capped)).done
    assert "capped at 20,000" in done and "fewer steps than a retrain" in done


@pytest.mark.parametrize("key", ["unseen_profile", "unseen_margin_profile"])  # now, earlier
def test_an_unseen_margin_profile_is_said_in_the_plain_summary(record, key):
    method = dataclasses.replace(record.method, resolved={
        "target": "shifted", key: {"margins": [-1.0, 0.5, 2.0]}})
    done = plain_summary(dataclasses.replace(record, method=method)).done
    assert "confidence profile reported with the model" in done
    plain = dataclasses.replace(record.method, resolved={"target": "shifted"})
    assert "confidence profile" not in plain_summary(dataclasses.replace(record,
                                                                       method=plain)).done


@pytest.mark.parametrize("resolved", [{"target": "shifted"},
                                      {"target": "shifted", "unseen_profile": {"margins": [0.5]}}])
def test_a_sample_of_kept_records_is_said_in_the_plain_summary(record, resolved):
    read = dataclasses.replace(record.method, resolved={**resolved, "retain_records_read": 1200})
    done = plain_summary(dataclasses.replace(record, method=read)).done
    assert "It did read 1,200 kept training records, drawn at random" in done
    assert "kept training records" not in plain_summary(record).done
    none = dataclasses.replace(record.method, resolved={**resolved, "retain_records_read": 0})
    assert "kept training records" not in plain_summary(dataclasses.replace(
        record, method=none)).done  # a one-label retrain read none
