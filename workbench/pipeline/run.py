"""One erasure pipeline for every entry point: a request in, an outcome out, evidence out.

The CLI, the notebook widgets and the benchmarks only call these::

    request = ErasureRequest(model=sample.model, table=sample.records,
                             selection=Selection.of_classes(["3"]), ticket={...})
    outcome = run_request(request, progress=...)   # check everything, unlearn, gold, audit
    written = write_evidence(outcome, "erasures/REQ-1", ledger=...,
                             options=EvidenceOptions(operator="alice"))

:func:`check_request` refuses bad input before any work (the selection, the method and its
parameters, the gold-standard size, the attacks, the dates, that the model fits the records,
that the forget set has held-out counterparts). Retain data is resolved in one place, from
the method's declared access (``unlearn_model(..., retain="auto")``). :func:`write_evidence` is the
one writer of models, record, reports and the ledger entry, for every entry point.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from torch import nn

from workbench.audit import (
    AuditOptions,
    AuditResult,
    TrainingOptions,
    VerdictConfig,
    audit_model,
)
from workbench.audit.attacks import ATTACK_NAMES, SHADOW_ATTACKS
from workbench.audit.gold import DEFAULT_GOLD_COUNT, MIN_GOLD_COUNT, GoldStandard, gold_standard
from workbench.audit.sets import audit_sets
from workbench.audit.summary import next_step
from workbench.audit.verdict import FAIL
from workbench.evidence._validate import RecordError, utc_now
from workbench.evidence.build import ticket
from workbench.evidence.record import Attempt
from workbench.evidence.selection import Selection
from workbench.models.fit import fit_to_records
from workbench.models.user_class import user_architecture
from workbench.progress import Progress
from workbench.records import ForgetSet, RecordTable
from workbench.unlearn import UnlearnResult, get_unlearner, unlearn_model

Stage = Callable[[str], Progress | None]  # stage label -> its progress callback (or None)


@dataclass(frozen=True, eq=False)
class ErasureRequest:
    """Everything one erasure needs, from any entry point.

    Attributes:
        model: the model to erase from (never modified).
        table: the records it was trained on.
        selection: which records to forget (ids, a condition or whole classes).
        method, params: the unlearning method and its parameter overrides.
        escalate: methods to try in turn while the erasure verdict FAILs (e.g.
            ``("neggrad_plus", "retrain")``), each at its defaults; every attempt is recorded.
        gold_models: retrains in the gold standard (0: none; verdicts then compare with
            held-out non-members).
        attacks, shadow_models: membership attacks and the shadow models that
            RMIA and LiRA need.
        seed, device, config, cache_dir: randomness, where to train, the decision rule's
            settings, the model cache.
        model_name, records_source, before_file: how the evidence names the model and the
            records (``sample:NAME`` or ``folder:PATH``), and the original model's file.
        ticket: the data subject's request: ``reference``, ``legal_basis``, ``received``,
            ``due`` (default: one month after ``received``), ``notes``, ``exceptions``,
            ``identity_check``, ``recipients``, ``processing_activity``,
            ``model_registry_id``, ``model_version`` (see ``workbench.evidence.Request``).
    """

    model: nn.Module
    table: RecordTable
    selection: Selection
    method: str = "synthetic"
    params: dict[str, Any] | None = None
    gold_models: int = DEFAULT_GOLD_COUNT
    attacks: tuple[str, ...] = ATTACK_NAMES
    shadow_models: int = 4
    seed: int = 0
    device: str = "auto"
    config: VerdictConfig | None = None
    cache_dir: Path | None = None
    model_name: str = "model"
    records_source: str = ""
    before_file: str | None = None
    ticket: dict[str, Any] = field(default_factory=dict)
    escalate: tuple[str, ...] = ()


@dataclass(eq=False)
class ErasureOutcome:
    """One finished request: the forget set, the unlearning run, the gold standard (None
    without one), the audit, and when and how long each stage ran."""

    request: ErasureRequest
    forget: ForgetSet
    unlearned: UnlearnResult
    gold: GoldStandard | None
    audit: AuditResult
    started_at: str
    timings_s: dict[str, float] = field(default_factory=dict)
    attempts: tuple[Attempt, ...] = ()

    @property
    def seconds(self) -> float:
        return round(sum(self.timings_s.values()), 2)

    @property
    def next_step(self) -> str:
        """What to do now, in one sentence (for the CLI, the notebook and the report)."""
        return next_step(self.audit.erasure, [a.method for a in self.attempts])


def check_request(request: ErasureRequest) -> ForgetSet:
    """Every check that needs no training; returns the forget set. Raises ``ValueError``
    naming the field and what to do."""
    if not isinstance(request.model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(request.model).__name__}")
    if not isinstance(request.table, RecordTable):
        raise ValueError(f"table must be a RecordTable, got {type(request.table).__name__}")
    try:  # fields and dates (a record would refuse them; here it is bad input)
        ticket(request.ticket)
    except RecordError as error:
        raise ValueError(str(error)) from None
    cls = get_unlearner(request.method)  # unknown method: ValueError with the names
    cls.Params.from_mapping(request.params)  # unknown or out-of-bound parameters
    if request.gold_models and request.gold_models < MIN_GOLD_COUNT:
        raise ValueError(f"gold_models must be 0 (no gold standard) or at least "
                         f"{MIN_GOLD_COUNT} (a spread needs two retrained models), got "
                         f"{request.gold_models}")
    attacks = tuple(request.attacks)
    if not attacks or set(attacks) - set(ATTACK_NAMES) or len(set(attacks)) != len(attacks):
        raise ValueError(f"attacks must be distinct names from {list(ATTACK_NAMES)}, got "
                         f"{list(attacks)}")
    if set(attacks) & set(SHADOW_ATTACKS):
        if request.shadow_models < 2 or request.shadow_models % 2:
            raise ValueError(f"shadow models must be even and at least 2, got "
                             f"{request.shadow_models}")
        if "lira" in attacks and request.shadow_models < 4:
            raise ValueError("LiRA needs at least 4 shadow models (2 OUT per "
                             "record); ask for 4 or more, or drop lira from the attacks")
    if request.table.recipe is None and (request.gold_models or set(attacks) & set(SHADOW_ATTACKS)):
        raise ValueError(f"table {request.table.name!r} carries no training recipe, so the gold "
                         "standard and the shadow models of RMIA / LiRA cannot be trained: set "
                         "table.recipe = TrainRecipe(epochs=..., lr=..., batch_size=...), or "
                         "run without a gold standard (gold_models=0) and with the LOSS attack "
                         "only")
    forget = request.selection.apply(request.table)
    for rung in (request.method, *request.escalate):
        rung_cls = get_unlearner(rung)
        if rung_cls.class_level_only and not forget.is_class_request:
            raise ValueError(f"method {rung!r} forgets whole classes only; select classes, or "
                             "leave it out of the escalation")
    audit_sets(request.table, forget)  # a forget set with no held-out counterpart
    _check_fit(request.model, request.table)
    return forget


def _check_fit(model: nn.Module, table: RecordTable) -> None:
    """A dry forward pass on two records: weights, input width and classes (a binary
    classifier may output one logit)."""
    fit_to_records(model, table)


def run_request(request: ErasureRequest, stage: Stage | None = None) -> ErasureOutcome:
    """Check the request, then unlearn, build the gold standard and audit; while the erasure
    verdict FAILs, climb ``request.escalate`` (each rung a method, audited against the same
    gold standard). The outcome holds the last attempt, and every attempt's verdicts.

    ``stage(label)`` returns the progress callback of one stage (``unlearn``, ``gold
    standard``, ``audit``); raising inside a callback stops the run.
    """
    forget = check_request(request)
    bar = stage or (lambda label: None)
    timings: dict[str, float] = {}
    started, gold, attempts = utc_now(), None, []
    for rung, method in enumerate((request.method, *request.escalate)):
        params = request.params if rung == 0 else None
        clock = time.perf_counter()
        unlearned = unlearn_model(request.model, forget, method=method, params=params,
                                  retain="auto", device=request.device, seed=request.seed,
                                  progress=bar(f"unlearn ({method})"))
        timings["unlearn"] = timings.get("unlearn", 0.0) + time.perf_counter() - clock
        if request.gold_models and gold is None:
            clock = time.perf_counter()
            gold = gold_standard(request.model, forget, count=request.gold_models,
                                 seed=request.seed, training=TrainingOptions(
                                     cache_dir=request.cache_dir, device=request.device),
                                 progress=bar(f"gold standard ({request.gold_models} "
                                              "retrains)"))
            timings["gold standard"] = time.perf_counter() - clock
        clock = time.perf_counter()
        options = AuditOptions(seed=request.seed, config=request.config,
                               shadow_models=request.shadow_models,
                               training=TrainingOptions(cache_dir=request.cache_dir))
        audited = audit_model(request.model, unlearned, records=request.table, forget=forget,
                              gold_standard=gold, attacks=request.attacks, options=options,
                              progress=bar("audit"))
        timings["audit"] = timings.get("audit", 0.0) + time.perf_counter() - clock
        attempts.append(Attempt(method, audited.erasure, audited.collateral, audited.utility,
                                unlearned.weights_sha256, unlearned.wall_time_s))
        if audited.erasure != FAIL:
            break
    return ErasureOutcome(request, forget, unlearned, gold, audited, started,
                          {k: round(v, 3) for k, v in timings.items()}, tuple(attempts))


def with_selection(request: ErasureRequest, selection: Selection) -> ErasureRequest:
    """The same request for another selection (a batch row, an escalation)."""
    return replace(request, selection=selection)


def cli_command(request: ErasureRequest, out: Path | str, extra: Sequence[str] = ()) -> str:
    """The ``workbench erase`` command line that makes ``request`` again."""
    import shlex

    kind, _, where = request.records_source.partition(":")
    if request.before_file is None and kind in ("sample", "folder"):
        source = ["--sample" if kind == "sample" else "--package", where]
    else:
        source = ["--model", str(request.before_file), "--records",
                  request.records_source if kind == "csv" else where]
    user = user_architecture(request.model)
    if user is not None:
        source += ["--model-class", user["class"]]
        source += ["--model-kwargs", _json(user["kwargs"])] if user["kwargs"] else []
    params = [] if not request.params else ["--params", _json(request.params)]
    escalate = ["--escalate", *request.escalate] if request.escalate else []
    return shlex.join(["workbench", "erase", *source, *request.selection.cli_args(),
                       "--method", request.method, *params, *escalate, "--gold-models",
                       str(request.gold_models), "--attacks", *request.attacks,
                       "--shadow-models", str(request.shadow_models), "--seed",
                       str(request.seed), "--out", str(out), *extra])


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
