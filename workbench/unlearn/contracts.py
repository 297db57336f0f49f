"""The contracts every unlearning method keeps, each a function that raises
:class:`ContractFailure` saying why it does not hold.

Two kinds: method contracts (its declarations and parameters) and request contracts, run on
each request the method takes on the tiny world (``record`` unless it forgets whole classes
only, and ``class``). :mod:`workbench.unlearn.check` runs them; read them here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable

from torch import nn

from workbench.hashing import weights_sha256
from workbench.metrics import set_accuracy
from workbench.records import ForgetSet
from workbench.unlearn.api import unlearn_model
from workbench.unlearn.base import RETAIN_READ, DataAccess
from workbench.unlearn.params import ParamSpec, param_specs
from workbench.unlearn.result import UnlearnResult
from workbench.unlearn.tiny import (
    Case,
    ContractFailure,
    Run,
    accuracy_without,
    confidence,
    retain_for,
    with_other_records,
)

# Held-out accuracy after unlearning must stay above chance + this (the tiny original: ~0.76).
USEFUL_MARGIN = 0.15


def model_of(result: UnlearnResult) -> nn.Module:
    """The result's new model (a result read back from JSON has none)."""
    if result.model is None:
        raise ContractFailure("the result holds no model")
    return result.model


def expect(condition: object, why: str) -> None:
    """Raise :class:`ContractFailure` with ``why`` unless ``condition`` holds."""
    if not condition:
        raise ContractFailure(why)


def refused(call: Callable[[], object], pattern: str, what: str) -> None:
    """``call()`` must raise ``ValueError`` whose message matches ``pattern``."""
    try:
        call()
    except ValueError as exc:
        expect(re.search(pattern, str(exc)), f"{what}: refused, but the message {str(exc)!r} "
                                             f"does not match {pattern!r}")
        return
    raise ContractFailure(f"{what}: accepted, but must raise ValueError")


# --- method contracts ----------------------------------------------------------------------
def params_declared(case: Case) -> None:
    """Name, data access, summary and a Params class whose every field has a default, help,
    and (numbers) bounds that hold the default; JSON-native defaults."""
    cls, name = case.cls, case.name
    expect(cls.Params.method == name and cls.name == name,
           f"Params.method {cls.Params.method!r} and name {cls.name!r} must match")
    expect(isinstance(cls.data_access, DataAccess), "data_access must be a DataAccess member")
    expect(cls.summary, "summary (one line for screens) is empty")
    defaults = cls.Params()
    expect(defaults == cls.Params.from_mapping(None) == cls.Params.from_mapping({}),
           "Params() differs from Params.from_mapping(None) or from_mapping({})")
    try:
        json.dumps(defaults.to_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractFailure(f"the default params are not strict JSON: {exc}") from exc
    specs = param_specs(cls.Params)
    expect([s.name for s in specs] == list(defaults.to_dict()),
           "param_specs and Params.to_dict() name different fields")
    for spec in specs:
        field = f"{name}.{spec.name}"
        expect(spec.default == getattr(defaults, spec.name), f"{field}: spec default differs")
        expect(spec.help, f"{field} has no help text")
        if spec.choices:
            expect(spec.default in spec.choices, f"{field}: default is not one of its choices")
        if isinstance(spec.default, int | float) and not isinstance(spec.default, bool):
            if spec.low is None or spec.high is None:
                raise ContractFailure(f"{field} is a number without bounds (param(..., low=, "
                                      "high=))")
            expect(spec.low <= spec.default <= spec.high,
                   f"{field}: default {spec.default} outside [{spec.low}, {spec.high}]")
        if spec.integer and spec.default is not None:
            expect(isinstance(spec.default, int), f"{field} is an int field with a non-int default")


def params_refuse_out_of_bounds(case: Case) -> None:
    """A value outside a field's bounds is refused, naming the field, method and bounds, by
    the Params class and by ``unlearn`` before any work."""
    cls, name = case.cls, case.name
    bounded = [s for s in param_specs(cls.Params) if s.low is not None or s.high is not None]
    outside: list[tuple[ParamSpec, float]] = []
    for spec in bounded:
        outside += [(spec, spec.low - 1)] if spec.low is not None else []
        outside += [(spec, spec.high + 1)] if spec.high is not None else []
    for spec, value in outside:
        bounds = re.escape(f"[{spec.low}, {spec.high}]")
        refused(functools.partial(cls.Params.from_mapping, {spec.name: value}),
                rf"'{spec.name}' of method '{name}'.*{bounds}", f"Params {spec.name}={value}")
    if bounded:  # the first bounded field, above its high bound (else below its low one)
        spec = bounded[0]
        value = next(v for s, v in reversed(outside) if s is spec)
        forget = case.world.class_forget
        refused(lambda: unlearn_model(case.world.model, forget, method=name, device=case.device,
                                      params={spec.name: value}, retain=retain_for(cls, forget)),
                re.escape(f"[{spec.low}, {spec.high}]"), f"unlearn_model(params={{{spec.name!r}: "
                                                         f"{value}}})")


# --- request contracts ---------------------------------------------------------------------
def new_model_original_untouched(case: Case) -> None:
    """A new model in eval mode sharing no storage with the original, which is unchanged; the
    result names the method, seed, device and request and hashes both models."""
    world, forget = case.world, case.forget
    result, _ = case.run()
    model = model_of(result)
    expect(isinstance(model, nn.Module) and model is not world.model,
           "the result's model must be a new nn.Module, not the original")
    expect(not model.training, "the new model is left in training mode")
    shared = {p.data_ptr() for p in world.model.parameters()} & {
        p.data_ptr() for p in model.parameters()}
    expect(not shared, "the new model shares weight storage with the original")
    expect(weights_sha256(world.model) == world.original_sha == result.original_weights_sha256,
           "the original model was modified")
    expect(result.weights_sha256 == weights_sha256(model),
           "result.weights_sha256 is not the new model's hash")
    expect(result.weights_sha256 != world.original_sha,
           "the new model equals the original: the method did nothing")
    expect((result.method, result.seed, result.device) == (case.name, 0, case.device),
           f"method/seed/device recorded as {(result.method, result.seed, result.device)}")
    expect((result.forget_count, result.forget_rule) == (len(forget), forget.rule),
           "forget_count/forget_rule do not describe the request")


def same_seed_same_model(case: Case) -> None:
    """The same seed gives the same model and the same trace, whatever order the records to
    forget are listed in (a request is a set)."""
    first, _ = case.run()
    again, _ = case.once("again", case.fresh)  # a second, independent run

    def traced(result: UnlearnResult) -> list[float]:
        return [s.forget_confidence for s in result.trace]

    expect(again.weights_sha256 == first.weights_sha256 and
           weights_sha256(model_of(again)) == weights_sha256(model_of(first)),
           "two runs with seed 0 gave different models: draw every random number from "
           "context.generator or context.seed (or torch's global RNG, seeded by unlearn)")
    expect(traced(again) == traced(first), "two runs with seed 0 logged different traces")
    forget = case.forget  # unlearn hands every method the records in the table's order
    reversed_ids = dataclasses.replace(forget, ids=forget.ids[::-1])
    listed, _ = case.once("reversed", lambda: case.fresh(forget=reversed_ids))
    expect(listed.weights_sha256 == first.weights_sha256 and traced(listed) == traced(first),
           "the same records listed in reverse order gave another model or trace: a request "
           "is a set, and unlearn must pass its records to the method in the table's order")


def seed_drives_randomness(case: Case) -> None:
    """Another seed gives another model (a method that draws nothing at random lists this
    contract in its ``known_check_failures``)."""
    seed0, _ = case.run()
    seed1, _ = case.run(seed=1)
    expect(seed1.weights_sha256 != seed0.weights_sha256,
           "seeds 0 and 1 gave the same model: the method ignores the seed (if it draws nothing "
           "at random, list 'seed_drives_randomness' in its known_check_failures)")


def declared_data_access(case: Case) -> None:
    """``unlearn`` refuses data the method does not declare, and asks for data it does; the
    result records the declaration and how many records of each kind the method received."""
    cls, world, forget = case.cls, case.world, case.forget
    access = cls.data_access
    retain = world.table.retain_for(forget)
    result, _ = case.run()
    expect(result.data_access == access.value, f"result.data_access is {result.data_access!r}")
    if access is DataAccess.FORGET_ONLY:
        refused(lambda: unlearn_model(world.model, forget, method=case.name, retain=retain,
                                      device=case.device),
                "forget_only.*without retain=", "a forget_only method given retain data")
        expected = {"forget": len(forget), "retain": 0}
    else:
        refused(lambda: unlearn_model(world.model, forget, method=case.name, device=case.device),
                f"needs the retain records \\({access}\\).*retain=table.retain_for",
                f"a {access} method called without retain data")
        expected = {"forget": 0 if access is DataAccess.RETAIN_ONLY else len(forget),
                    "retain": len(retain)}
        read = result.declared_inputs.get(RETAIN_READ)
        if read is not None:  # a method that reads a sample of what it is given says so
            expect(isinstance(read, int) and 0 <= read <= len(retain),
                   f"{RETAIN_READ} {read!r} is not a count of at most {len(retain)}")
            expected["retain"] = read
    expect(result.records_used == expected, f"records_used {result.records_used} != {expected}")
    if cls.class_level_only:
        refused(lambda: unlearn_model(world.model, world.record_forget, method=case.name,
                                      device=case.device,
                                      retain=retain_for(cls, world.record_forget)),
                "whole classes", "a record-level request to a class-level-only method")


def undeclared_data_unused(case: Case) -> None:
    """The model does not depend on records the method does not declare: replacing them
    (retain and held-out records for ``forget_only``, forget and held-out records for
    ``retain_only``, held-out records for ``forget_and_retain``) gives the same model."""
    access, forget = case.cls.data_access, case.forget
    retain = case.world.table.retain_for(forget)
    readable = {DataAccess.FORGET_ONLY: set(forget.ids), DataAccess.RETAIN_ONLY: set(retain.ids),
                DataAccess.FORGET_AND_RETAIN: set(forget.ids) | set(retain.ids)}[access]
    unreadable = {DataAccess.FORGET_ONLY: "retain and held-out",
                  DataAccess.RETAIN_ONLY: "forget and held-out",
                  DataAccess.FORGET_AND_RETAIN: "held-out"}[access]

    def on_other_records() -> Run:
        other = with_other_records(case.world, readable)
        return case.fresh(forget=ForgetSet(other, forget.ids, forget.rule, forget.classes))

    moved, _ = case.once("other records", on_other_records)
    first, _ = case.run()
    if moved.weights_sha256 != first.weights_sha256:
        expect(case.fresh()[0].weights_sha256 == first.weights_sha256,
               "cannot tell: two runs with seed 0 already differ (see same_seed_same_model)")
    expect(moved.weights_sha256 == first.weights_sha256,
           f"the method declares {access.value}, yet its model changed when only the "
           f"{unreadable} records changed: it reads data it did not declare (through "
           "forget.table or retain.table?); declare the access it needs")


def forget_set_moves(case: Case) -> None:
    """Record request: the forget records' confidence drops. Class request: their accuracy."""
    result, _ = case.run()
    forget, original = case.forget, case.world.model
    if case.request == "record":
        before, after = confidence(original, forget), confidence(model_of(result), forget)
        expect(after < before, f"forget-set confidence did not drop ({before:.3f} -> {after:.3f})")
    else:
        before, after = set_accuracy(original, forget), set_accuracy(model_of(result), forget)
        expect(after < before, f"forget-class accuracy did not drop ({before:.3f} -> {after:.3f})")


def held_out_accuracy_kept(case: Case) -> None:
    """Held-out accuracy (on the classes not forgotten) stays well above chance."""
    result, _ = case.run()
    table = case.world.table
    held = accuracy_without(model_of(result), table.held_out(), case.forget.classes)
    floor = 1 / table.num_classes + USEFUL_MARGIN
    expect(held > floor, f"held-out accuracy {held:.3f} is not above chance + margin ({floor:.3f})")


def result_json_roundtrip(case: Case) -> None:
    """The result survives strict JSON (no NaN) and round-trips, the model aside."""
    result, _ = case.run()
    try:
        text = json.dumps(result.to_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractFailure(f"the result is not strict JSON: {exc}") from exc
    back = UnlearnResult.from_dict(json.loads(text))
    expect(back == result, "the result does not round-trip through to_dict/from_dict")
    expect(back.model is None, "from_dict must not carry a model")
    expect(json.loads(json.dumps(back.to_dict(), allow_nan=False)) == json.loads(text),
           "to_dict after from_dict differs")


def trace_and_progress(case: Case) -> None:
    """The run logs a trace (``context.report``) and calls progress with sane steps."""
    result, calls = case.run()
    expect(result.trace and calls, "no trace or no progress call: call context.report(...)")
    for step, total, message in calls:
        expect(isinstance(step, int) and isinstance(total, int) and isinstance(message, str),
               f"progress called with {(step, total, message)!r}")
        expect(0 <= step <= total and total >= 1 and message,
               f"progress step {step}/{total} ({message!r}) out of range or without a message")
    for logged in result.trace:
        expect(0.0 <= logged.forget_confidence <= 1.0,
               f"trace forget_confidence {logged.forget_confidence} outside [0, 1]")


Contract = Callable[[Case], None]
METHOD_CONTRACTS: tuple[Contract, ...] = (params_declared, params_refuse_out_of_bounds)
REQUEST_CONTRACTS: tuple[Contract, ...] = (
    new_model_original_untouched, same_seed_same_model, seed_drives_randomness,
    declared_data_access, undeclared_data_unused, forget_set_moves, held_out_accuracy_kept,
    result_json_roundtrip, trace_and_progress)
