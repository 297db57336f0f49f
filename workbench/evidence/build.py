"""``build_record``: assemble an ``AuditRecord`` from an erasure's results and its request."""

from __future__ import annotations

import dataclasses
import platform
import subprocess
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from torch import nn

from workbench.audit import AuditResult
from workbench.audit.attacks import SHADOW_ATTACKS
from workbench.audit.gold import GoldStandard as GoldStandardModels
from workbench.audit.verdict import FAIL, INCONCLUSIVE, PASS, STATUSES
from workbench.evidence._validate import RecordError, check_utc, one_month_after, utc_now
from workbench.evidence.record import (
    Approval,
    Attempt,
    AuditRecord,
    Erased,
    GoldModel,
    GoldStandard,
    Integrity,
    Method,
    ModelIdentity,
    Request,
    Tests,
)
from workbench.evidence.selection import Selection
from workbench.evidence.vault import keyed
from workbench.hashing import canonical_json, record_sha256, table_sha256
from workbench.models.user_class import architecture_of, class_path
from workbench.records import ForgetSet
from workbench.unlearn import UnlearnResult

LIBRARIES = ("torch", "numpy", "pandas", "scikit-learn", "safetensors", "erasure-workbench")
DEFAULT_REPRODUCE_TOLERANCE = 0.01


def code_version() -> str:
    """``git:<sha>[-dirty]`` of the workbench checkout, else ``erasure-workbench <version>``."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout
        return f"git:{sha}{'-dirty' if dirty.strip() else ''}"
    except (OSError, subprocess.SubprocessError):
        return f"erasure-workbench {library_versions().get('erasure-workbench', 'unknown')}"


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries the result depends on."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def record_rows(forget: ForgetSet) -> list[dict[str, Any]]:
    """Each forgotten record's raw row (id, label, member, raw features), JSON-native."""
    frame = forget.table.frame
    rows = frame.iloc[forget.table.positions(forget.ids)]
    return [{str(k): _plain(v) for k, v in row.items()}  # column names: str already
            for row in rows.to_dict(orient="records")]


def record_hashes(forget: ForgetSet, secret: bytes | None = None) -> tuple[str, ...]:
    """Each forgotten record's hash: SHA-256 of its canonical JSON, or with ``secret`` its
    HMAC-SHA256 under the request's secret (unlinkable without it)."""
    rows = record_rows(forget)
    if secret is None:
        return tuple(record_sha256(row) for row in rows)
    return tuple(keyed(secret, canonical_json(row)) for row in rows)


def keyed_ids(ids: tuple[str, ...] | list[str], secret: bytes) -> tuple[str, ...]:
    """The ids as the record keeps them under ``secret``."""
    return tuple(keyed(secret, f"id:{i}") for i in ids)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None  # NaN: canonical JSON has no NaN
    return value


def redact(result: AuditResult) -> AuditResult:
    """The audit without per-record confidences or flagged ids (they reveal who was erased)."""
    return dataclasses.replace(
        result, confidence=dataclasses.replace(result.confidence, records=()),
        flags=dataclasses.replace(result.flags, records=()))


def limitations(result: AuditResult, shadow_models: int) -> str:
    """The limitations statement: empirical evidence, which attacks, at what strength."""
    attacks = ", ".join(a.upper() for a in result.attacks)
    refs = (f" RMIA and LiRA used {shadow_models} shadow models; more make them stronger."
            if set(result.attacks) & set(SHADOW_ATTACKS) else "")
    return (f"This is empirical evidence, not a proof: it shows how far the unlearned model can "
            f"be told apart from the {result.compared_to} by the membership attacks run "
            f"({attacks}) and by accuracy, on {result.forget_count} forgotten and "
            f"{result.non_member_count} held-out records.{refs} Stronger or different attacks "
            "(attribute inference, model inversion, extraction) were not run. "
            + " ".join(result.notes))


@dataclass(frozen=True)
class RecordContext:
    """What a record says beyond the results: the ticket, the files, who ran it, and how.

    Attributes:
        request: the ticket: ``reference`` (its id), ``legal_basis``, ``received``, ``due``,
            ``notes``, ... (:data:`TICKET_FIELDS`).
        model_name, records_source: how the record names the model and the records' source.
        after_file, after_file_sha256: the unlearned model's file and its SHA-256.
        before_file: the original model's file, if it has one.
        gold_files: ``(file name, file SHA-256)`` of each gold model saved, in order.
        shadow_models: how many shadow models RMIA / LiRA used (0: neither ran).
        operator, approver, started_at, command, attempts: who ran it, when, with which
            command, and the methods tried before this one.
        secret, vault: with both (``vault`` = ``(vault id, vault SHA-256, open until)``) the
            ids, the record hashes and an id selection are keyed (``hmac-sha256``).
        reproduce_tolerance: how far ``workbench verify``'s re-run may differ.
    """

    request: dict[str, Any]
    model_name: str
    records_source: str
    after_file: str
    after_file_sha256: str
    before_file: str | None = None
    gold_files: tuple[tuple[str, str], ...] = ()
    shadow_models: int = 0
    operator: str = "unknown"
    approver: str | None = None
    started_at: str | None = None
    command: str = ""
    attempts: tuple[Attempt, ...] = ()
    secret: bytes | None = None
    vault: tuple[str, str, str] | None = None
    reproduce_tolerance: float = DEFAULT_REPRODUCE_TOLERANCE


def build_record(*, unlearned: UnlearnResult, audit_result: AuditResult, forget: ForgetSet,
                 selection: Selection, original: nn.Module, context: RecordContext,
                 gold: GoldStandardModels | None = None) -> AuditRecord:
    """An unsealed ``AuditRecord`` (seal it with ``append_record`` or ``record.sealed``),
    from the results of one erasure and its :class:`RecordContext`."""
    c = context
    if audit_result.unlearned_sha256 != unlearned.weights_sha256:
        raise ValueError("the audit result is of another model than the unlearning result")
    if audit_result.forget_count != len(forget) or unlearned.forget_count != len(forget) or \
            any(ids is not None and set(ids) != set(forget.ids)
                for ids in (audit_result.forget_ids, unlearned.forget_ids)):
        raise ValueError("the results were made for another forget set (other records than "
                         "`forget`): a record must name exactly the records that were erased")
    if selection.apply(forget.table).ids != forget.ids:
        raise ValueError(f"the selection ({selection.kind}) does not yield the forget set's "
                         "records: a record must name the rule that chose what was erased")
    now = utc_now()
    statuses = {s: tuple(v.test for v in audit_result.verdicts if v.status == s)
                for s in STATUSES}
    if gold is not None and gold.weights_sha256 != audit_result.gold_standard_sha256s:
        raise ValueError("the audit was run against other gold-standard models than `gold`")
    return AuditRecord(
        created_at=now,
        request=ticket(c.request),
        erased=_erased(forget, selection, c.records_source, c.secret, c.vault),
        model=ModelIdentity(name=c.model_name, architecture=_architecture(original),
                            before_file=c.before_file,
                            before_sha256=unlearned.original_weights_sha256,
                            after_sha256=unlearned.weights_sha256, after_file=c.after_file,
                            after_file_sha256=c.after_file_sha256),
        method=Method(name=unlearned.method, params=dict(unlearned.params), seed=unlearned.seed,
                      device=unlearned.device, data_access=unlearned.data_access,
                      records_used=dict(unlearned.records_used), code_version=code_version(),
                      library_versions=library_versions(), wall_time_s=unlearned.wall_time_s,
                      started_at=c.started_at or now, finished_at=now, command=c.command,
                      resolved=dict(unlearned.declared_inputs)),
        gold_standard=_gold(gold, c.gold_files),
        tests=Tests(attacks=audit_result.attacks, shadow_models=c.shadow_models,
                    thresholds=audit_result.config, overall=audit_result.overall,
                    passed=statuses[PASS], failed=statuses[FAIL],
                    inconclusive=statuses[INCONCLUSIVE],
                    limitations=limitations(audit_result, c.shadow_models),
                    reproduce_tolerance=c.reproduce_tolerance, audit=redact(audit_result)),
        approval=Approval(operator=c.operator, approver=c.approver, decision="pending",
                          decided_at=None),
        integrity=Integrity(None, None, None, None, None), attempts=tuple(c.attempts))


TICKET_FIELDS = ("reference", "legal_basis", "received", "due", "notes", "exceptions",
                 "identity_check", "recipients", "processing_activity", "model_registry_id",
                 "model_version")


def ticket(fields: dict[str, Any]) -> Request:
    """The record's ``Request`` from a ticket dict; ``due`` defaults to one month after
    ``received``. Unknown fields and bad dates raise ``RecordError``."""
    unknown = sorted(set(fields) - set(TICKET_FIELDS))
    if unknown:
        raise RecordError(f"unknown request field(s) {unknown}; the fields are "
                          f"{list(TICKET_FIELDS)}")
    received, due = fields.get("received") or None, fields.get("due") or None
    if received and not due:
        check_utc(received, "request.received")
        due = one_month_after(received)
    text = {k: str(fields.get(k) or "") for k in TICKET_FIELDS if k not in ("received", "due")}
    return Request(received=received, due=due, **text)


def _erased(forget: ForgetSet, selection: Selection, source: str, secret: bytes | None,
            vault: tuple[str, str, str] | None) -> Erased:
    if (secret is None) != (vault is None):
        raise ValueError("keyed ids need both the request's secret and its vault")
    erased = partial(Erased, records_source=source, rule=forget.rule, count=len(forget),
                     is_class_request=forget.is_class_request,
                     data_sha256=table_sha256(forget.table))
    if secret is None or vault is None:  # both or neither (checked above)
        return erased(selection=selection, record_ids=tuple(forget.ids),
                      record_sha256=record_hashes(forget))
    if selection.kind == "ids":
        selection = Selection("ids", ids=keyed_ids(selection.ids, secret))
    return erased(selection=selection, record_ids=keyed_ids(forget.ids, secret),
                  record_sha256=record_hashes(forget, secret), protection="hmac-sha256",
                  vault_id=vault[0], vault_sha256=vault[1], vault_until=vault[2])


def _architecture(model: nn.Module) -> dict[str, Any]:
    """The built-in ``spec``; a user's class with its arguments (``build_user_model``); else
    the class path alone (the model cannot then be rebuilt from the record)."""
    return architecture_of(model) or {"class": class_path(model), "kwargs": None}


def _gold(gold: GoldStandardModels | None, files: tuple[tuple[str, str], ...]) -> GoldStandard:
    if gold is None:
        return GoldStandard(built=False, how="not built: the forget-set tests compare with "
                            "held-out non-members instead", models=(), wall_time_s=None)
    if files and len(files) != gold.count:
        raise ValueError(f"{len(files)} gold-standard files for {gold.count} models")
    named = files or ((None, None),) * gold.count
    retain = int(gold.trained_on[0].sum())
    return GoldStandard(
        built=True, how=(f"{gold.count} models retrained from scratch without the forget set "
                         f"on {retain} retain records, with the original training recipe "
                         f"(method 'retrain', seeds {list(gold.seeds)})"
                         + (", read from the cache" if gold.from_cache else "")),
        models=tuple(GoldModel(seed=s, weights_sha256=h, file=f, file_sha256=fh)
                     for s, h, (f, fh) in zip(gold.seeds, gold.weights_sha256, named,
                                              strict=True)),
        wall_time_s=round(gold.train_time_s, 3))
