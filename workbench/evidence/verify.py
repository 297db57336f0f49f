"""``verify_record``: recompute a record's hashes and re-run its tests.

Checks, in order: the record (schema, hash, canonical bytes), its signature, its ledger entry
(when a ledger is given), the model before, after and gold-standard files against their
hashes, the records (table hash and each erased record's hash), and finally a re-run of the
audit whose verdicts must match and whose metrics must agree within the record's
``reproduce_tolerance``. Identity failures stop before the re-run (it would be meaningless).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.audit import AuditOptions, AuditResult, TrainingOptions, audit_model
from workbench.audit.shadow import DEFAULT_COUNT
from workbench.deprecation import legacy_keywords
from workbench.evidence.build import record_hashes
from workbench.evidence.record import load_record
from workbench.evidence.signing import check_signature
from workbench.evidence.sources import load_records_source
from workbench.evidence.vault import VaultContents
from workbench.evidence.verify_checks import (
    SHREDDED,
    VerifyReport,
    check_gold_model,
    check_ledger,
    check_model,
    check_recorded_verdicts,
    model_loader,
    open_record_vault,
    reselect,
)
from workbench.hashing import table_sha256

__all__ = ["METRICS", "Trust", "VerifyReport", "model_loader", "verify_record"]

METRICS = ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr")


@dataclass(frozen=True)
class Trust:
    """Whose signature :func:`verify_record` accepts, and what vouches for the ledger.

    Attributes:
        trusted_key: the only signing key accepted (hex public key or 16-digit fingerprint);
            None: any valid signature, reported with its key.
        allow_unsigned: accept a record without a signature (reported as NOT SIGNED; never
            with ``trusted_key``).
        witness: the witness file that keeps every ledger head, checked with the ledger
            (None: the chain is checked up to the record's entry only).
    """

    trusted_key: str | None = None
    allow_unsigned: bool = False
    witness: Path | None = None


@legacy_keywords(moved={"trusted_key": "trusted_key", "allow_unsigned": "allow_unsigned",
                        "witness": "witness"}, options="trust", factory=Trust)
def verify_record(path: str | Path, *, model_before: Path | None = None,
                  model_after: Path | None = None, ledger: Path | None = None,
                  cache_dir: Path | None = None, samples_root: Path | None = None,
                  model_class: str | None = None, trust: Trust | None = None) -> VerifyReport:
    """Verify the record at ``path``. Unreadable or tampered records raise ``RecordError``.

    ``model_class``: the user's own class (``package.module:Class``) the record names, to
    import for loading its model files; built-in architectures need none. ``trust``: see
    :class:`Trust`.
    """
    trust = trust or Trust()
    path = Path(path)
    record = load_record(path)
    load = model_loader(record, model_class)
    report = VerifyReport(record)
    report.add("record", True, f"schema valid, hash {record.sealed_sha256()[:16]}... "
                               "matches, file unchanged")
    report.add("signature", True, check_signature(record, trust.trusted_key,
                                                  allow_unsigned=trust.allow_unsigned))
    if ledger is not None:
        check_ledger(report, record, Path(ledger), trust.witness, path.parent)
    vault = open_record_vault(report, record, ledger)
    folder = path.parent
    before_path = model_before or (Path(record.model.before_file) if record.model.before_file
                                   else None)
    try:
        table, shipped = load_records_source(
            record.erased.records_source, samples_root=samples_root,
            restore=vault if isinstance(vault, VaultContents) else None,
            model_class=model_class)
    except (ValueError, FileNotFoundError):
        if vault is not SHREDDED:
            raise
        table, shipped = None, None  # after a close the records may be gone: the user's duty
    if before_path is None and shipped is None:
        report.add("model before", vault is SHREDDED,
                   "not checked: no file named, and the records source is gone after the close"
                   if vault is SHREDDED else "no model file is named for the model before "
                   "(a user's model): pass --model-before")
        before = None
    else:
        before = check_model(report, "model before", before_path, shipped,
                              record.model.before_sha256, None, load)
    after = check_model(report, "model after", model_after or folder / record.model.after_file,
                         None, record.model.after_sha256,
                         None if model_after else record.model.after_file_sha256, load)
    listed = record.gold_standard.models
    gold = [check_gold_model(report, folder, m, f"gold standard {k + 1}/{len(listed)}", load)
            for k, m in enumerate(listed)]
    if vault is SHREDDED:
        check_recorded_verdicts(report, record)
        return report
    assert table is not None  # None only after a close, returned above
    data_ok = report.add("records", table_sha256(table) == record.erased.data_sha256,
                         "record table matches its hash" if table_sha256(table) ==
                         record.erased.data_sha256 else "the record table has changed")
    forget = reselect(report, record, table, vault) if data_ok else None
    if forget is not None:
        secret = vault.secret if vault is not None else None
        same = record_hashes(forget, secret) == record.erased.record_sha256
        report.add("erased records", same, f"{len(forget)} record hashes match" if same
                   else "an erased record's content differs from its recorded hash")
    gold_models = [g for g in gold if g is not None]
    if not report.ok or before is None or after is None or forget is None \
            or len(gold_models) != len(gold):
        report.add("tests", False, "not re-run: an identity check above failed")
        return report
    options = AuditOptions(seed=record.tests.audit.seed, config=record.tests.thresholds,
                           shadow_models=record.tests.shadow_models or DEFAULT_COUNT,
                           training=TrainingOptions(cache_dir=cache_dir))
    rerun = audit_model(before, after, records=table, forget=forget,
                        gold_standard=gold_models or None, attacks=record.tests.attacks,
                        options=options)
    _compare(report, record.tests.audit, rerun, record.tests.reproduce_tolerance)
    return report


def _compare(report: VerifyReport, old: AuditResult, new: AuditResult, tol: float) -> None:
    for question in ("erasure", "collateral", "utility"):
        was, now = getattr(old, question), getattr(new, question)
        report.add(f"{question} verdict", was == now, f"recorded {was}, re-run {now}")
    for v in old.verdicts:
        w = new.verdict(v.test)
        gap = max(abs(v.value - w.value), abs(v.difference - w.difference))
        ok = v.status == w.status and gap <= tol
        report.add(f"test {v.test}", ok, f"recorded {v.status} ({v.difference:+.4f}), re-run "
                                         f"{w.status} ({w.difference:+.4f}), gap {gap:.4f} "
                                         f"(tolerance {tol})")
    worst, where = 0.0, "-"
    for m in old.membership:
        n = new.metrics(m.attack, m.model, m.comparison)
        for name in METRICS:
            gap = abs(getattr(m.metrics, name) - getattr(n, name))
            if gap > worst:
                worst, where = gap, f"{m.attack} {m.model} {m.comparison} {name}"
    report.add("attack metrics", worst <= tol,
               f"largest gap {worst:.4f} ({where}), tolerance {tol}")
