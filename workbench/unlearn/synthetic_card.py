"""How far ``synthetic`` lowers a model's margins on records it never saw: measured once by
the model's owner, with the held-out records at hand, and reported on the model card
(:attr:`workbench.card.UnseenProfile.drift_allowance`), so that an erasure, which sees only
the model and the records to forget, sets its targets that much lower.

Every erasure test compares the forgotten records with non-members *under the same model*.
Overwriting the forgotten records lowers the model's margins on unseen records too (by about
0.2 logits on the clinic sample and 0.5 on credit, on the tuning requests), so a target at the
unseen profile's margin leaves a forgotten record more member-like, relative to the moved
non-members, than a retrain leaves it. A single allowance for every model
(:data:`~workbench.unlearn.synthetic_data.DRIFT_ALLOWANCE`, 0.4) over-forgot clinic and
under-forgot credit; measured per model, it follows each one.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
from torch import nn

from workbench.card import ModelCard, UnseenProfile
from workbench.metrics import model_margins, set_accuracy
from workbench.records import RecordTable

DRIFT_REQUESTS = 16  # random member requests the allowance averages over
DRIFT_FRACTION = 0.05  # share of the members in each


def measure_drift(model: nn.Module, table: RecordTable, profile: UnseenProfile, *,
                  requests: int = DRIFT_REQUESTS, fraction: float = DRIFT_FRACTION,
                  seed: int = 0, device: str = "cpu",
                  test_accuracy: float | None = None) -> float:
    """Mean lowering (logits; positive: lowered) of the held-out records' true-class margins
    ``(H,)`` when ``synthetic`` erases ``requests`` random requests of ``fraction`` of the
    members (drawn with ``seed``) from ``model``, its targets set by ``profile`` with the
    default allowance, and ``test_accuracy`` (None: the table's reported one) as the card
    reports it. ``model`` is not modified.

    Raises:
        ValueError: no held-out records or members, ``requests`` < 1, ``fraction`` not in
            (0, 1), or a non-finite result.
    """
    from workbench.unlearn.api import unlearn_model  # (the api imports this package)

    members, held_out = table.members(), table.held_out()
    if not len(held_out) or not len(members):
        raise ValueError("measuring the drift allowance needs members and held-out records")
    if requests < 1 or not 0 < fraction < 1:
        raise ValueError(f"measuring the drift allowance needs requests >= 1 and 0 < fraction "
                         f"< 1, got {requests} and {fraction}")
    carded = copy.copy(table)  # the same records, reporting the profile being measured
    accuracy = table.reported_test_accuracy if test_accuracy is None else test_accuracy
    if accuracy is None:  # calibrate the neighbour noise as an erasure of the package would
        accuracy = round(set_accuracy(model, held_out), 4)
    carded.card = ModelCard(test_accuracy=accuracy,
                            unseen=replace(profile, drift_allowance=None))
    x, y = held_out.inputs(), held_out.labels()
    before = model_margins(model, x, y).double()
    size = max(1, round(fraction * len(members)))
    rng = np.random.default_rng(seed)
    lowered = []
    for request in range(requests):
        ids = rng.choice(np.asarray(members.ids), size, replace=False)
        forget = carded.select(ids=list(ids))
        result = unlearn_model(model, forget, method="synthetic", seed=seed + request,
                               device=device, params={"target": "shifted"})
        after = model_margins(result.require_model(), x, y).double()
        lowered.append(float((before - after).mean()))
    drift = float(np.mean(lowered))
    if not np.isfinite(drift):
        raise ValueError("measuring the drift allowance gave a non-finite mean change of the "
                         "held-out margins; the erased models' outputs are not finite")
    return round(drift, 4)


def with_drift_allowance(model: nn.Module, table: RecordTable, profile: UnseenProfile, *,
                         seed: int = 0, device: str = "cpu",
                         test_accuracy: float | None = None) -> UnseenProfile:
    """``profile`` with its drift allowance measured (:func:`measure_drift`; a negative
    measurement, the margins raised, is reported as 0). On image inputs ``profile`` is
    returned as it is: there record requests train every weight with sampled targets, which
    do not read it (a card without it reads the method's default)."""
    if len(table.input_space.shape) > 1:
        return profile
    drift = measure_drift(model, table, profile, seed=seed, device=device,
                          test_accuracy=test_accuracy)
    return replace(profile, drift_allowance=max(0.0, drift))
