"""``check_unlearner``: test a method, yours or ours, against the contracts every method keeps
(like scikit-learn's ``check_estimator``).

It runs the method on a tiny seeded world (:mod:`workbench.unlearn.tiny`: 240 records, an MLP
trained in about 0.1 s) and checks each contract of :mod:`workbench.unlearn.contracts` by
name: ``params_declared``, ``params_refuse_out_of_bounds``, and per request (``record``,
``class``) ``new_model_original_untouched``, ``same_seed_same_model``,
``seed_drives_randomness``, ``declared_data_access``, ``undeclared_data_unused``,
``forget_set_moves``, ``held_out_accuracy_kept``, ``result_json_roundtrip`` and
``trace_and_progress``; a request contract is named ``contract[request]``.

A contract a method is known to break (say a deterministic method and
``seed_drives_randomness``) is listed in its ``known_check_failures`` with the reason; the
check then expects it to fail, and fails if it passes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from workbench.device import resolve_device
from workbench.unlearn.base import _REGISTRY, Unlearner, get_unlearner
from workbench.unlearn.contracts import METHOD_CONTRACTS, REQUEST_CONTRACTS, Contract
from workbench.unlearn.tiny import Case, ContractFailure, Request, TinyWorld, tiny_world

SCHEMA_VERSION = 1
Status = Literal["passed", "failed", "known failure"]


@dataclass(frozen=True)
class CheckOutcome:
    """One contract on one request: ``passed``, ``failed`` (``detail`` says why) or ``known
    failure`` (failed as the method's ``known_check_failures`` says it does)."""

    name: str
    status: Status
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail,
                "seconds": self.seconds}


@dataclass(frozen=True)
class CheckReport:
    """Every contract checked for one method, in order."""

    method: str
    device: str
    outcomes: tuple[CheckOutcome, ...]
    schema_version: int = SCHEMA_VERSION

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    def __str__(self) -> str:
        known = sum(o.status == "known failure" for o in self.outcomes)
        kept = len(self.outcomes) - len(self.failures) - known
        lines = [f"check_unlearner({self.method!r}, device={self.device!r}): {kept} contracts "
                 f"kept, {known} known failure(s), {len(self.failures)} broken"]
        lines += [f"  {o.status.upper():13} {o.name}" + (f": {o.detail}" if o.detail else "")
                  for o in self.outcomes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "method": self.method,
                "device": self.device, "outcomes": [o.to_dict() for o in self.outcomes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        return cls(str(data["method"]), str(data["device"]),
                   tuple(CheckOutcome(str(o["name"]), o["status"], str(o["detail"]),
                                      float(o["seconds"])) for o in data["outcomes"]),
                   int(data.get("schema_version", SCHEMA_VERSION)))


class CheckFailed(ContractFailure):
    """``check_unlearner`` found broken contracts; ``report`` holds every outcome."""

    def __init__(self, report: CheckReport):
        super().__init__("\n".join(
            [f"{report.method!r} breaks {len(report.failures)} contract(s): "
             f"{', '.join(o.name for o in report.failures)}", str(report)]))
        self.report = report


def check_unlearner(method: str | type[Unlearner], *, tiny: TinyWorld | None = None,
                    device: str = "cpu") -> CheckReport:
    """Check a registered method against every contract; return the report when it keeps
    them all.

    Args:
        method: the registered name, or the registered class.
        tiny: the world to run on (default: :func:`~workbench.unlearn.tiny.tiny_world`, built
            once per process; its runs are cached, so checking again is cheap).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Raises:
        CheckFailed: (an ``AssertionError``) naming every broken contract and why; its
            ``report`` holds every outcome.
        ValueError: an unknown method, a class that is not registered, or a
            ``known_check_failures`` entry that names no contract.
    """
    cls = _resolve(method)
    where = str(resolve_device(device))
    outcomes = []
    for name, check in checks(cls, tiny=tiny, device=device):
        start = time.perf_counter()
        known = known_failure(cls, name)
        status: Status
        try:
            check()
        except ContractFailure as exc:
            status, detail = ("known failure", known) if known else ("failed", _why(exc, name))
        else:
            status, detail = "passed", ""
            if known:
                status, detail = "failed", (f"passed, but known_check_failures says it fails "
                                            f"({known}); remove it from the list")
        outcomes.append(CheckOutcome(name, status, detail,
                                     round(time.perf_counter() - start, 4)))
    report = CheckReport(cls.name, where, tuple(outcomes))
    if not report.passed:
        raise CheckFailed(report)
    return report


def checks(method: str | type[Unlearner], *, tiny: TinyWorld | None = None,
           device: str = "cpu") -> Iterator[tuple[str, Callable[[], None]]]:
    """Every contract for ``method`` as ``(name, check)``, for a test runner to parametrize
    (scikit-learn's ``check_estimator(generate_only=True)``). ``check()`` raises
    :class:`ContractFailure` (an ``AssertionError``) naming the method and the contract.

    Nothing runs until a check is called: the tiny world is built by the first one. The
    method's ``known_check_failures`` are not applied here: see :func:`known_failure`.
    """
    cls = _resolve(method)
    where = str(resolve_device(device))
    for contract, request in _plan(cls):
        name = contract.__name__ if request is None else f"{contract.__name__}[{request}]"
        yield name, functools.partial(_check, name, contract, cls, request, tiny, where)


def known_failure(method: str | type[Unlearner], name: str) -> str | None:
    """Why ``method`` is known to break the contract ``name`` (``contract`` or
    ``contract[request]``), from its ``known_check_failures``; None when it is not."""
    cls = _resolve(method)
    return cls.known_check_failures.get(name) or cls.known_check_failures.get(
        name.partition("[")[0])


def _plan(cls: type[Unlearner]) -> Iterator[tuple[Contract, Request | None]]:
    for contract in METHOD_CONTRACTS:
        yield contract, None
    requests: tuple[Request, ...] = ("class",) if cls.class_level_only else ("record", "class")
    for request in requests:
        for contract in REQUEST_CONTRACTS:
            yield contract, request


def _check(name: str, contract: Contract, cls: type[Unlearner], request: Request | None,
           tiny: TinyWorld | None, device: str) -> None:
    try:
        contract(Case(tiny if tiny is not None else tiny_world(), cls, request, device))
    except ContractFailure as exc:
        raise ContractFailure(f"{cls.name}: contract {name} broken: {exc}") from exc
    except Exception as exc:  # the method (or a check's run of it) crashed: also a failure
        raise ContractFailure(f"{cls.name}: contract {name} broken: the run raised "
                              f"{type(exc).__name__}: {exc}") from exc


def _why(exc: ContractFailure, name: str) -> str:
    return str(exc).partition(f"contract {name} broken: ")[2] or str(exc)


def _resolve(method: str | type[Unlearner]) -> type[Unlearner]:
    if isinstance(method, str):
        cls = get_unlearner(method)
    elif isinstance(method, type) and issubclass(method, Unlearner):
        cls = method
        if _REGISTRY.get(getattr(cls, "name", "")) is not cls:
            raise ValueError(f"{cls.__name__} is not registered; decorate it with "
                             "@register_unlearner first")
    else:
        raise ValueError(f"method must be a registered name or Unlearner class, got {method!r}")
    names = {c.__name__ for c in (*METHOD_CONTRACTS, *REQUEST_CONTRACTS)}
    unknown = [k for k in cls.known_check_failures if k.partition("[")[0] not in names]
    if unknown:
        raise ValueError(f"{cls.__name__}.known_check_failures names no contract: {unknown}; "
                         f"contracts are {sorted(names)}")
    return cls
