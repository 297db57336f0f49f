"""The intervals benchmarks/synthetic_quality.py prints next to its rates
(benchmarks/quality_stats.py): what an outsider checks before believing "P ratio 0.9"; and
the input its calibration scripts refuse before any work."""

from __future__ import annotations

import numpy as np
import pytest
from bench_toys import load_benchmark

quality = load_benchmark("quality_stats")


def test_wilson_interval_matches_the_closed_form_and_stays_in_0_1():
    low, high = quality.wilson(24, 30)
    assert low == pytest.approx(0.627, abs=1e-3) and high == pytest.approx(0.905, abs=1e-3)
    assert quality.wilson(0, 30)[0] == 0.0 and quality.wilson(30, 30)[1] == 1.0
    assert quality.wilson(0, 30)[1] > 0.05  # zero of 30 does not prove a rate of zero
    narrow, wide = quality.wilson(48, 60), quality.wilson(24, 30)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]  # more requests, a narrower interval
    assert all(np.isnan(quality.wilson(0, 0)))


def test_ratio_interval_is_seeded_paired_and_brackets_the_ratio():
    rng = np.random.default_rng(1)
    mine = list(rng.random(30) < 0.7)
    theirs = [list(rng.random(9) < 0.85) for _ in range(30)]
    point, low, high = quality.ratio_interval(mine, theirs, seed=3)
    assert (point, low, high) == quality.ratio_interval(mine, theirs, seed=3)
    assert (low, high) != quality.ratio_interval(mine, theirs, seed=4)[1:]
    assert point == pytest.approx(np.mean(mine) / np.mean([np.mean(t) for t in theirs]))
    assert low < point < high
    assert high - low > 0.2  # 30 requests cannot pin a ratio to a few points
    # requests are resampled in pairs: where the method PASSes exactly when the retrains do,
    # every resample gives a ratio of 1 (drawn independently it would spread about 0.6-1.7)
    both = [True] * 15 + [False] * 15
    assert quality.ratio_interval(both, [[b] * 9 for b in both]) == (1.0, 1.0, 1.0)
    assert quality.ratio_interval([False] * 5, [[True] * 9] * 5) == (0.0, 0.0, 0.0)


def test_a_ratio_or_gap_without_a_denominator_is_nan_not_huge():
    rare = [[k == 0] + [False] * 8 for k in range(30)]  # one retrain PASS in 270
    point, low, high = quality.ratio_interval([True] * 30, rare)
    assert point == pytest.approx(270.0) and np.isnan(low) and np.isnan(high)
    none = quality.ratio_interval([True] * 5, [[False] * 9] * 5)
    assert all(np.isnan(none))
    flat = [{"original_outside": 0.05, "outside": 0.05, "retrain_outside": [0.05]}] * 10
    assert all(np.isnan(quality.gap_closed(flat)))


def test_lost_share_counts_drops_beyond_a_point_and_ignores_float_noise():
    exactly_one = 100 * (0.738 - 0.748)  # -1.0000000000000009 in floating point
    assert quality.lost_share([exactly_one, -1.2, 0.4, 2.0]) == pytest.approx(0.25)
    assert np.isnan(quality.lost_share([]))


def test_gap_closed_is_one_at_the_retrains_zero_at_the_original():
    def rows(method):
        return [{"original_outside": 0.3 + 0.01 * k, "outside": method(k),
                 "retrain_outside": [0.05, 0.06]} for k in range(20)]

    closed, low, high = quality.gap_closed(rows(lambda k: 0.055))
    assert closed == pytest.approx(1.0) and low == pytest.approx(1.0) == high
    assert quality.gap_closed(rows(lambda k: 0.3 + 0.01 * k))[0] == pytest.approx(0.0)
    halfway, low, high = quality.gap_closed(rows(lambda k: 0.2 if k % 2 else 0.15))
    assert low < halfway < high and 0.4 < halfway < 0.8


def test_below_every_gold_model_is_calibrated_on_exchangeable_models():
    assert quality.below_every([-2.0, 0.5, -0.4], [[-1.0, 0.0], [0.0, 1.0], [-0.4, 0.0]]) == \
        pytest.approx(1 / 3)  # only the first lies below both; a tie is not below
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(3000, 9))  # 9 models of a request, none special
    share = quality.retrain_below_every(draws.tolist())
    assert share == pytest.approx(1 / 9, abs=0.01)
    method = quality.below_every(list(draws[:, 0]), draws[:, 1:].tolist())
    assert method == pytest.approx(1 / 9, abs=0.02)
    worse = quality.below_every(list(draws[:, 0] - 1.0), draws[:, 1:].tolist())
    assert worse > 0.3  # a method that costs a point more is caught


def test_held_out_fits_recover_an_affine_law_without_seeing_the_request_they_predict():
    rng = np.random.default_rng(0)
    features = [rng.normal(size=(20, 2)) for _ in range(4)]
    targets = [f @ [2.0, -1.0] + 3.0 for f in features]
    for fitted, target in zip(quality.held_out_fits(features, targets), targets, strict=True):
        np.testing.assert_allclose(fitted, target, atol=1e-9)
    # the left-out request's own targets never enter its fit: an outlier request is not fitted
    targets[0] = targets[0] + 100.0
    fitted = quality.held_out_fits(features, targets)
    np.testing.assert_allclose(fitted[0], targets[0] - 100.0, atol=1e-9)
    with pytest.raises(ValueError, match="two requests"):
        quality.held_out_fits(features[:1], targets[:1])


def test_held_out_fits_take_a_nonlinear_regressor_that_an_affine_map_cannot_match():
    from sklearn.tree import DecisionTreeRegressor
    rng = np.random.default_rng(1)
    features = [rng.uniform(-2, 2, size=(200, 1)) for _ in range(3)]
    targets = [f[:, 0] ** 2 for f in features]  # no affine map fits a parabola
    tree = quality.held_out_fits(features, targets, lambda: DecisionTreeRegressor(max_depth=6))
    line = quality.held_out_fits(features, targets)
    error = [np.abs(f - t).mean() for fits in (tree, line) for f, t in zip(fits, targets,
                                                                          strict=True)]
    assert max(error[:3]) < 0.1 < min(error[3:])


def test_held_out_fits_leave_out_a_record_wherever_it_appears():
    from sklearn.tree import DecisionTreeRegressor
    rng = np.random.default_rng(2)
    answers = rng.normal(size=50)  # one answer per record, unrelated to its feature
    keys = [rng.choice(50, 30, replace=False) for _ in range(6)]
    features = [k[:, None].astype(float) for k in keys]  # the record's name as its feature
    targets = [answers[k] for k in keys]
    tree = lambda: DecisionTreeRegressor()  # noqa: E731  (memorises every record it saw)
    recalled = quality.held_out_fits(features, targets, tree)
    blind = quality.held_out_fits(features, targets, tree, keys=keys)
    error = [np.abs(np.concatenate(f) - np.concatenate(targets)).mean()
             for f in (recalled, blind)]
    assert error[0] < 0.05 < 0.5 < error[1]  # recall from other requests, gone when keyed
    with pytest.raises(ValueError, match="shares every record"):
        quality.held_out_fits([features[0], features[0]], [targets[0], targets[0]], tree,
                              keys=[keys[0], keys[0]])


@pytest.mark.parametrize("device", ["gpu", "cuda:99"])
def test_the_calibration_benchmarks_refuse_a_device_before_any_work(tmp_path, capsys, device):
    """An unknown device, or CUDA where there is none or not that many, is said at once:
    no output folder made, no sample loaded, no request read."""
    out = tmp_path / "collected"
    collect = load_benchmark("calibration_data")
    with pytest.raises(SystemExit) as exited:
        collect.main(["--samples", "no-such-sample", "--device", device, "--out", str(out)])
    assert exited.value.code == 2 and not out.exists()
    assert f"device {device!r}" in capsys.readouterr().err
    judge = load_benchmark("synthetic_quality")
    with pytest.raises(SystemExit) as exited:
        judge.main(["--data", str(tmp_path / "absent"), "--device", device])
    assert exited.value.code == 2 and f"device {device!r}" in capsys.readouterr().err
