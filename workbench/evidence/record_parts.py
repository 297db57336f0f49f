"""The sections of an :class:`~workbench.evidence.record.AuditRecord`: the request, what was
erased, the models' identities, the method and its attempts, the gold standard, the tests,
the approval and the integrity block. Each validates its own fields when built (a bad type
or format: ``RecordError``); import them from :mod:`workbench.evidence.record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.audit import AuditResult, VerdictConfig
from workbench.audit._json import JsonRecord
from workbench.audit.verdict import STATUSES
from workbench.deprecation import warn
from workbench.evidence._validate import RecordError, check_sha256, check_utc
from workbench.evidence.selection import Selection

DECISIONS = ("pending", "approved", "rejected")


@dataclass(frozen=True)
class Request(JsonRecord):
    """The data subject's request and what a DPO is asked about it.

    ``reference`` the ticket; ``legal_basis`` the ground (GDPR Art. 17(1)); ``received`` /
    ``due`` UTC ISO-8601 dates (``due`` defaults to one month after ``received``, Art. 12(3));
    ``exceptions`` the exceptions considered (Art. 17(3)); ``identity_check`` how the
    requester's identity was checked (Art. 12(6)); ``recipients`` who was notified (Art.
    17(2), 19); ``processing_activity`` the record of processing it belongs to (Art. 30);
    ``model_registry_id`` / ``model_version`` the production model this erasure is for.
    """

    reference: str
    legal_basis: str
    received: str | None
    due: str | None
    notes: str
    exceptions: str = ""
    identity_check: str = ""
    recipients: str = ""
    processing_activity: str = ""
    model_registry_id: str = ""
    model_version: str = ""

    def __post_init__(self) -> None:
        check_utc(self.received, "request.received", optional=True)
        check_utc(self.due, "request.due", optional=True)
        if self.received and self.due and self.due[:10] < self.received[:10]:
            raise RecordError(f"request.due ({self.due}) is before request.received "
                              f"({self.received})")


@dataclass(frozen=True)
class Erased(JsonRecord):
    """What was erased: ids, the rule that chose them (``selection``, re-applied by
    ``verify``; ``rule`` in words), and one hash per record.

    ``record_sha256[i]`` hashes the canonical JSON of record ``i`` (id, label, member flag and
    raw features); ``data_sha256`` hashes the whole encoded table. With ``protection``
    ``hmac-sha256`` (the default of ``workbench erase``) every id, every record hash and an
    id selection are keyed with the request's secret, which sits with the records in the
    vault ``vault_id`` until ``vault_until`` or ``workbench close``
    (:mod:`workbench.evidence.vault`); ``plain`` keeps them in the clear.
    """

    records_source: str
    selection: Selection
    rule: str
    count: int
    is_class_request: bool
    record_ids: tuple[str, ...]
    record_sha256: tuple[str, ...]
    data_sha256: str
    protection: str = "plain"
    vault_id: str | None = None
    vault_sha256: str | None = None
    vault_until: str | None = None

    def __post_init__(self) -> None:
        if not self.count == len(self.record_ids) == len(self.record_sha256) or not self.count:
            raise RecordError(f"erased: count {self.count}, {len(self.record_ids)} ids and "
                              f"{len(self.record_sha256)} hashes must agree and be non-zero")
        for i, h in enumerate(self.record_sha256):
            check_sha256(h, f"erased.record_sha256[{i}]")
        check_sha256(self.data_sha256, "erased.data_sha256")
        if self.protection not in ("plain", "hmac-sha256"):
            raise RecordError(f"erased.protection must be plain or hmac-sha256, got "
                              f"{self.protection!r}")
        if (self.protection == "hmac-sha256") != (self.vault_id is not None):
            raise RecordError("erased: keyed ids need a vault, and only keyed ids have one")
        check_sha256(self.vault_sha256, "erased.vault_sha256", optional=True)
        check_utc(self.vault_until, "erased.vault_until", optional=True)


@dataclass(frozen=True)
class ModelIdentity(JsonRecord):
    """The model before and after: state hashes (``weights_sha256``) and the files.

    ``before_file`` is where the original was read (None for a sample model, which is
    loaded by name); ``after_file`` is relative to the record's folder.
    """

    name: str
    architecture: dict[str, Any]
    before_file: str | None
    before_sha256: str
    after_sha256: str
    after_file: str
    after_file_sha256: str

    def __post_init__(self) -> None:
        for f in ("before_sha256", "after_sha256", "after_file_sha256"):
            check_sha256(getattr(self, f), f"model.{f}")


@dataclass(frozen=True)
class Method(JsonRecord):
    """How the unlearning ran, with everything needed to run it again; ``resolved`` holds the
    values the method settled at run time (e.g. a calibrated sigma, which weights trained)."""

    name: str
    params: dict[str, Any]
    seed: int
    device: str
    data_access: str
    records_used: dict[str, int]
    code_version: str
    library_versions: dict[str, str]
    wall_time_s: float
    started_at: str
    finished_at: str
    command: str
    resolved: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_utc(self.started_at, "method.started_at")
        check_utc(self.finished_at, "method.finished_at")


@dataclass(frozen=True)
class Attempt(JsonRecord):
    """One rung of an escalation: a method, its verdicts and the model it made. The record's
    model is the last attempt's; the earlier ones FAILed."""

    method: str
    erasure: str
    collateral: str
    utility: str
    weights_sha256: str
    seconds: float


@dataclass(frozen=True)
class GoldModel(JsonRecord):
    """One retrained model of the gold standard: its seed, weights hash and file."""

    seed: int
    weights_sha256: str
    file: str | None
    file_sha256: str | None

    def __post_init__(self) -> None:
        check_sha256(self.weights_sha256, "gold_standard.models[].weights_sha256")
        check_sha256(self.file_sha256, "gold_standard.models[].file_sha256", optional=True)


@dataclass(frozen=True)
class GoldStandard(JsonRecord):
    """The gold standard: whether it was built, how, and each retrained model's identity.

    ``models`` are retrained without the forget set with different seeds (files relative to
    the record's folder); their spread is the verdicts' yardstick.
    """

    built: bool
    how: str
    models: tuple[GoldModel, ...]
    wall_time_s: float | None

    def __post_init__(self) -> None:
        if self.built != bool(self.models):
            raise RecordError("gold_standard: built must be true exactly when models are "
                              "listed")


@dataclass(frozen=True)
class Tests(JsonRecord):
    """The tests: attacks run, thresholds, per-test results with intervals, verdicts.

    ``audit`` is the full ``AuditResult`` with per-record confidences and flagged ids removed
    (they reveal who was forgotten). ``reproduce_tolerance`` bounds how far a re-run's
    metrics may differ from the recorded ones for ``workbench verify`` to accept them.
    ``shadow_models`` is written under its old JSON key, ``reference_models``.
    """

    attacks: tuple[str, ...]
    shadow_models: int = field(metadata={"key": "reference_models"})  # its JSON key before
    thresholds: VerdictConfig
    overall: str
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    inconclusive: tuple[str, ...]
    limitations: str
    reproduce_tolerance: float
    audit: AuditResult

    @property
    def reference_models(self) -> int:
        """Deprecated: :attr:`shadow_models` (one release)."""
        warn("Tests.reference_models is deprecated: use Tests.shadow_models")
        return self.shadow_models

    def __post_init__(self) -> None:
        if self.overall not in STATUSES:
            raise RecordError(f"tests.overall must be one of {STATUSES}, got {self.overall!r}")
        if not 0.0 <= self.reproduce_tolerance <= 1.0:
            raise RecordError("tests.reproduce_tolerance must lie in [0, 1]")


@dataclass(frozen=True)
class Approval(JsonRecord):
    """Who ran the erasure, who approves it, and the decision."""

    operator: str
    approver: str | None
    decision: str
    decided_at: str | None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise RecordError(f"approval.decision must be one of {DECISIONS}, "
                              f"got {self.decision!r}")
        check_utc(self.decided_at, "approval.decided_at", optional=True)


@dataclass(frozen=True)
class Integrity(JsonRecord):
    """The record's own hash, its link to the previous ledger entry, an optional signature.

    ``record_sha256`` covers everything but itself, ``signature`` and ``public_key``;
    ``signature`` is an Ed25519 signature (hex) of the ``record_sha256`` text.
    """

    ledger_sequence: int | None
    previous_sha256: str | None
    record_sha256: str | None
    signature: str | None
    public_key: str | None

    def __post_init__(self) -> None:
        check_sha256(self.previous_sha256, "integrity.previous_sha256", optional=True)
        check_sha256(self.record_sha256, "integrity.record_sha256", optional=True)
