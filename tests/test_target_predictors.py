"""benchmarks/target_predictors.py: predictors of what retraining gives each forgotten record,
checked on toy requests whose answer is known (a predictor equal to the retrains' mean is
inside, the memorising original is not) and on a real sample, where the stored scores and
the recomputed features must describe the same records in the same order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_toys import load_benchmark

from workbench.margin_features import margin_gradients

predictors = load_benchmark("target_predictors")


def toy_request(rng: np.random.Generator, n: int = 60) -> dict[str, np.ndarray]:
    unseen = rng.normal(0, 3, n)  # what a model that never saw each record gives it
    gold = unseen + rng.normal(0, 1, (9, n))  # retrains: seed noise around it
    smoothed = unseen + rng.normal(0, 0.1, n)  # a feature that predicts it almost exactly
    out = {"original": unseen + 8.0, "position": rng.choice(500, n, replace=False),
           "gold": gold, "gold_mean": gold[:8].mean(0), "card expected margin": smoothed,
           "synthetic's target": smoothed - 5.0}
    out |= {f"smoothed x{s:g}": (smoothed if s == 1 else rng.normal(0, 3, n))
            for s in predictors.SCALES}
    out |= {"log weight gradient": rng.normal(0, 1, n), "log input gradient": rng.normal(0, 1, n),
            "card margin map": unseen + 3.0}
    return out


def test_cell_table_scores_the_margin_map_and_the_gradient_features():
    rng = np.random.default_rng(1)
    requests = [toy_request(rng) for _ in range(5)]
    shares = predictors.cell_table(requests)
    assert shares["card margin map (data-free)"] > 0.5  # 3 logits off, retrains' SD 1
    assert shares["oracle affine: original + smoothed x1 + gradients"] < 0.1
    for request in requests:  # now only the gradients know the answer
        steep = request["log weight gradient"] - request["log input gradient"]
        request["gold"] = 3 * steep + (request["gold"] - request["gold"].mean(0))
        request["gold_mean"] = request["gold"][:8].mean(0)
    shares = predictors.cell_table(requests)
    assert shares["oracle affine: original + smoothed x1 + gradients"] < 0.1
    assert shares["oracle affine: every feature + gradients"] < 0.1
    assert shares["oracle affine: every feature"] > 0.3


def test_cell_table_puts_a_near_exact_predictor_inside_and_the_memorising_original_outside():
    rng = np.random.default_rng(0)
    shares = predictors.cell_table([toy_request(rng) for _ in range(5)])
    assert shares[predictors.ORIGINAL] > 0.9  # 8 logits above what retrains give
    assert shares[predictors.RETRAIN] == pytest.approx(0.05, abs=0.03)
    assert shares["card expected margin (data-free)"] < 0.1
    assert shares["synthetic's target (data-free)"] > 0.5  # 5 logits off
    assert shares["oracle affine: smoothed x1"] < 0.1
    assert shares["oracle affine: smoothed x4"] > 0.3  # an unrelated feature predicts nothing
    assert shares["oracle affine: every feature"] < 0.1
    assert shares["oracle boosted trees: every feature"] < 0.2
    assert predictors.gap_closed(shares[predictors.RETRAIN], shares) == pytest.approx(1.0)
    assert np.isnan(predictors.gap_closed(0.1, {predictors.ORIGINAL: 0.05,
                                                predictors.RETRAIN: 0.05}))


def test_request_features_read_stored_scores_and_inputs_in_the_same_order():
    from workbench import load_sample
    credit = load_sample("credit")
    table, model = credit.records, credit.model.eval()
    with torch.no_grad():
        logits = model(table.inputs()).double()  # float32 losses round the confident ones to 0
    loss = torch.nn.functional.cross_entropy(logits, table.labels(), reduction="none").numpy()
    rng = np.random.default_rng(0)
    scores = {"loss": {"original": -loss} | {f"retrain_{k}": -loss * rng.uniform(0.5, 2.0)
                                               for k in range(9)}}
    members = table.members().ids
    forget = table.select(ids=[members[i] for i in (40, 3, 25, 11, 7)])  # not in table order
    features = predictors.request_features(({"sample": "credit", "seed": 0}, table, forget,
                                            scores, {}), {"credit": credit}, scales=(1e-6, 1.0))
    ordered = forget.in_table_order()
    with torch.no_grad():
        margin = model(ordered.inputs()).double()
    own = (margin[:, 1] - margin[:, 0]) * (2 * ordered.labels() - 1)  # the label's margin
    np.testing.assert_allclose(features["original"], own.numpy(), atol=1e-4)
    # the smoothed features run on the same records in the same order (no noise: the margin)
    np.testing.assert_allclose(features["smoothed x1e-06"], own.numpy(), atol=1e-3)
    assert features["gold"].shape == (9, 5) and list(features["position"]) == sorted(
        features["position"])
    # the card's margin map reads the record's margin, smoothed margin, gradient norms and label
    gradients = margin_gradients(model, ordered.inputs(), ordered.labels()).double().numpy()
    np.testing.assert_allclose(features["log weight gradient"], gradients[:, 0], atol=1e-5)
    mapped = table.reported_unseen_profile.margin_map.predict(np.column_stack(
        [features["original"], features["smoothed x1"], gradients]), ordered.labels().numpy())
    np.testing.assert_allclose(features["card margin map"], mapped, atol=1e-3)


def test_request_features_refuse_a_multiclass_table_and_scales_without_the_cards_own():
    from workbench import load_sample
    digits = load_sample("digits")
    meta = {"sample": "digits", "seed": 0}
    forget = digits.records.select(classes=[0])
    with pytest.raises(ValueError, match="two-class table"):
        predictors.request_features((meta, digits.records, forget, {}, {}),
                                    {"digits": digits})
    with pytest.raises(ValueError, match="lack 1.0"):  # before any model runs
        predictors.request_features((meta, digits.records, forget, {}, {}),
                                    {"digits": digits}, scales=(0.5, 2.0))
