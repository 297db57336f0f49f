"""``unlearn_model``: the one public verb that runs any registered method."""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import nn

from workbench.deprecation import renamed_attributes
from workbench.device import memory_layout, resolve_device, to_layout
from workbench.errors import DivergenceError
from workbench.hashing import weights_sha256
from workbench.models.fit import fit_to_records, unwrap
from workbench.records import ForgetSet, RecordSet
from workbench.unlearn.base import RETAIN_READ, Progress, RunContext, get_unlearner
from workbench.unlearn.params import Params
from workbench.unlearn.result import UnlearnResult


def unlearn_model(model: nn.Module, forget: ForgetSet, *, method: str = "synthetic",
                  params: Params | dict[str, Any] | None = None,
                  retain: RecordSet | Literal["auto"] | None = None,
                  device: str | torch.device = "auto", seed: int = 0,
                  progress: Progress | None = None) -> UnlearnResult:
    """Remove ``forget`` from ``model`` with ``method``; return a new model and the run's record.

    ``model`` is never modified. Methods that declare ``forget_only`` access refuse
    ``retain``; methods that need retain data refuse to run without it. A model that does not
    fit the records (no weights, another input width, other classes) is refused before any
    work (:func:`workbench.models.fit.fit_to_records`).

    Args:
        model: any classifier mapping ``(N, *input_shape)`` inputs to ``(N, C)`` logits, or a
            binary one to one logit per record (the result is again a one-output model).
        forget: the records to forget (``RecordTable.select``).
        method: a registered method name (see ``available_methods()``).
        params: the method's ``Params`` or a dict of overrides of its defaults.
        retain: retain records, for methods that use them (``table.retain_for(forget)``);
            ``"auto"`` passes them exactly when the method declares it needs them (the one
            place that dispatch happens).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        seed: seeds every random draw; the same seed on the same device gives the same model,
            whatever order ``forget`` and ``retain`` list their records in.
        progress: called as ``progress(step, total, message)``.
    """
    cls = get_unlearner(method)
    if isinstance(retain, str):
        if retain != "auto":
            raise ValueError(f"retain must be a RecordSet, None or 'auto', got {retain!r}")
        retain = forget.table.retain_for(forget) if cls.data_access.needs_retain and \
            isinstance(forget, ForgetSet) else None
    params = _coerce_params(cls.Params, params)
    _check_request(cls, model, forget, retain)
    # a request is a set: every method reads the records in the table's order, so the same
    # records give the same model whatever order they were listed in
    ordered, kept = forget.in_table_order(), None if retain is None else retain.in_table_order()
    runner = fit_to_records(model, forget.table)  # a binary logit runs as two-class logits
    target = resolve_device(device)
    before = weights_sha256(model)
    forget_inputs = ordered.inputs()
    layout = memory_layout(forget_inputs, model)
    working = to_layout(copy.deepcopy(runner), layout, target)
    context = RunContext(
        device=target, seed=seed, generator=torch.Generator().manual_seed(seed),
        forget_inputs=forget_inputs.to(target).contiguous(memory_format=layout),
        forget_labels=ordered.labels().to(target), progress=progress)
    start = time.perf_counter()
    with deterministic_cudnn(), \
            torch.random.fork_rng(devices=[target] if target.type == "cuda" else []):
        torch.manual_seed(seed)
        new_model = cls().unlearn(working, ordered, kept, params=params, context=context)
    if target.type == "cuda":
        torch.cuda.synchronize(target)
    elapsed = time.perf_counter() - start
    if weights_sha256(model) != before:  # pragma: no cover - a method bug, never user input
        raise RuntimeError(f"method {method!r} modified the original model")
    if runner is not model:  # the user's own one-output model, unwrapped
        new_model = unwrap(new_model)
    to_layout(new_model, torch.contiguous_format).eval()  # the layout callers expect
    _check_finite(new_model, method)
    return UnlearnResult(
        method=method, params=params.to_dict(), seed=seed, device=str(target),
        data_access=str(cls.data_access),
        records_used={"forget": len(forget) if cls.data_access != "retain_only" else 0,
                      "retain": _retain_read(retain, context)},
        forget_rule=forget.rule, forget_count=len(forget), forget_ids=tuple(forget.ids),
        original_weights_sha256=before, weights_sha256=weights_sha256(new_model),
        wall_time_s=round(elapsed, 4), trace=tuple(context.trace),
        declared_inputs=dict(context.declared_inputs), model=new_model)


def _retain_read(retain: RecordSet | None, context: RunContext) -> int:
    """The retain records the method read: all it was given, unless it declared fewer."""
    if retain is None:
        return 0
    read = context.declared_inputs.get(RETAIN_READ)
    return read if isinstance(read, int) else len(retain)


_PROCESS_STATE = threading.RLock()  # torch's RNG and cuDNN flags are process-wide


def unused_params(model: nn.Module, forget: ForgetSet, *, method: str = "synthetic",
                  params: Params | dict[str, Any] | None = None) -> dict[str, str]:
    """The parameters of ``method`` that this request would not read, each with the reason in
    words (an empty dict: every one is read). Cheap: nothing is trained. Unknown method or bad
    params: ``ValueError``, as :func:`unlearn_model` raises them."""
    cls = get_unlearner(method)
    runner = fit_to_records(model, forget.table)  # as unlearn_model runs it
    return cls().unused_params(runner, forget.in_table_order(),  # as the method reads it
                               _coerce_params(cls.Params, params))


@contextlib.contextmanager
def deterministic_cudnn() -> Iterator[None]:
    """Ask cuDNN for deterministic kernels during a run, so one seed gives one model on CUDA.

    The flags (and the global RNG that ``unlearn_model`` forks) belong to the whole process: a run
    holds a lock for its duration, so a run in another thread (the widgets run ``unlearn_model`` in
    one) waits instead of seeing the flags or the RNG change under it.
    """
    with _PROCESS_STATE:
        saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        try:
            yield
        finally:
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def _check_finite(model: nn.Module, method: str) -> None:
    bad = [name for name, p in model.state_dict().items()
           if p.is_floating_point() and not torch.isfinite(p).all()]
    if bad:
        raise DivergenceError(f"method {method!r} diverged: non-finite values in {bad[:3]}; "
                           "lower its learning rate. The original model is untouched.")


def _coerce_params(cls: type[Params], params: Params | dict[str, Any] | None) -> Params:
    if params is None or isinstance(params, dict):
        return cls.from_mapping(params)
    if not isinstance(params, cls):
        raise ValueError(f"params are {type(params).__name__}; method {cls.method!r} takes "
                         f"{cls.__name__} or a dict")
    return params


def _check_request(cls, model: nn.Module, forget: ForgetSet, retain: RecordSet | None) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(forget, ForgetSet) or len(forget) == 0:
        raise ValueError("forget must be a non-empty ForgetSet (use RecordTable.select)")
    if cls.class_level_only and not forget.is_class_request:
        raise ValueError(f"method {cls.name!r} forgets whole classes only; select with "
                         "table.select(classes=[...])")
    if retain is not None and not cls.data_access.needs_retain:
        raise ValueError(f"method {cls.name!r} is {cls.data_access.value}: it must not receive "
                         "retain data; call it without retain=")
    if retain is None and cls.data_access.needs_retain:
        raise ValueError(f"method {cls.name!r} needs the retain records ({cls.data_access.value}); "
                         "pass retain=table.retain_for(forget)")
    if retain is not None and retain.table is not forget.table:
        raise ValueError("retain and forget come from different record tables; build both from "
                         "one table (table.retain_for(forget))")
    if retain is not None:
        overlap = set(retain.ids) & set(forget.ids)
        if overlap:
            raise ValueError(f"{len(overlap)} record(s) are in both retain and forget: "
                             f"{sorted(overlap)[:10]}")
        if len(retain) == 0:
            raise ValueError("the retain set is empty; a method that needs retain data needs some")


__getattr__ = renamed_attributes(__name__, unlearn="unlearn_model")
