"""The synthetic method's pure helpers and its defaults: losses, AUC, sharpening, sigma
calibration, the learning-rate rule and the trace cadence."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch.nn import functional as F

from workbench.card import PROFILE_LEVELS, ModelCard, UnseenProfile
from workbench.metrics import (
    MIN_EXPECTED_MEMBERS,
    _expected_margins,
    true_class_margin,
    unseen_profile,
)
from workbench.neighbours import calibrate_sigma, perturb, smoothed_logits
from workbench.records import RecordTable
from workbench.samples import load_sample
from workbench.unlearn import unlearn_model, unused_params
from workbench.unlearn.objectives import (
    logit_distance,
    mann_whitney_auc,
    sharpen_to,
    soft_cross_entropy,
    soft_predictions,
)
from workbench.unlearn.synthetic_data import (
    DRIFT_ALLOWANCE,
    RANK_SPREAD,
    overwrite_targets,
    shifted_targets,
)
from workbench.unlearn.tiny import build_tiny_world


def test_logit_distance_ignores_a_shift_and_sees_a_change():
    logits = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    assert float(logit_distance(logits + 3.0, logits)) == pytest.approx(0.0, abs=1e-10)
    changed = logits.clone()
    changed[:, 0] += 1.0
    assert float(logit_distance(changed, logits)) > 0.1
    assert float(logit_distance(changed, logits, weight=2.0)) == pytest.approx(
        2 * float(logit_distance(changed, logits)))


def test_soft_cross_entropy_equals_cross_entropy_for_one_hot_targets():
    logits = torch.randn(16, 5, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(16) % 5
    expected = F.cross_entropy(logits, labels)
    assert float(soft_cross_entropy(logits, F.one_hot(labels, 5).float())) == pytest.approx(
        float(expected), rel=1e-6)


def test_mann_whitney_auc_matches_scikit_learn_with_ties():
    generator = torch.Generator().manual_seed(2)
    positive = torch.randint(0, 6, (40,), generator=generator).float()
    negative = torch.randint(0, 5, (70,), generator=generator).float()
    labels = [1] * 40 + [0] * 70
    expected = roc_auc_score(labels, torch.cat([positive, negative]).numpy())
    assert mann_whitney_auc(positive, negative) == pytest.approx(expected, abs=1e-12)


def test_true_class_margin_is_the_label_logit_minus_the_best_other():
    logits = torch.tensor([[2.0, 0.5, 1.0], [0.0, 3.0, -1.0]])
    margin = true_class_margin(logits, torch.tensor([0, 2]))
    assert torch.allclose(margin, torch.tensor([1.0, -4.0]))  # right by 1, wrong by 4


def test_sharpen_to_reaches_the_asked_confidence_and_keeps_the_argmax():
    probs = F.softmax(torch.randn(50, 3, generator=torch.Generator().manual_seed(3)), 1)
    sharp = sharpen_to(probs, 0.9)
    assert float(sharp.max(1).values.mean()) == pytest.approx(0.9, abs=0.01)
    assert torch.equal(sharp.argmax(1), probs.argmax(1))


def test_soft_predictions_drop_the_masked_classes():
    model = torch.nn.Linear(4, 3)
    probs = soft_predictions(model, torch.randn(10, 4), masked=(1,))
    assert torch.all(probs[:, 1] == 0)
    assert torch.allclose(probs.sum(1), torch.ones(10))


@pytest.fixture(scope="module")
def credit():
    return load_sample("credit")


def test_calibrated_sigma_gives_the_reported_accuracy_on_neighbours(credit):
    table = credit.records
    forget = table.select(ids=table.members().ids[:40])
    x, y = forget.inputs(), forget.labels()
    space = table.input_space
    sigma = calibrate_sigma(credit.model, x, y, space, 0.74, seed=0)
    assert calibrate_sigma(credit.model, x, y, space, 0.74, seed=0) == sigma  # deterministic
    lower = calibrate_sigma(credit.model, x, y, space, 0.9, seed=0)
    assert lower < sigma  # a higher accuracy to reach needs closer neighbours
    fresh = perturb(x.repeat(16, 1), sigma, space, torch.Generator().manual_seed(123))
    with torch.no_grad():
        reached = (credit.model(fresh).argmax(1) == y.repeat(16)).float().mean()
    assert abs(float(reached) - 0.74) < 0.03  # on other draws too: 640 neighbours, SE 0.017


def test_synthetic_learning_rate_defaults_by_input_kind_and_logs_every_fifth_step(credit):
    table = credit.records
    forget = table.select(ids=table.members().ids[:10])
    calls = []
    fast = {"steps": 12, "min_steps": 100, "proxies": 64}
    auto = unlearn_model(credit.model, forget, method="synthetic", params=fast,
                         progress=lambda *a: calls.append(a))
    explicit = unlearn_model(credit.model, forget, method="synthetic", params={**fast, "lr": 0.03})
    other = unlearn_model(credit.model, forget, method="synthetic", params={**fast, "lr": 0.01})
    assert auto.weights_sha256 == explicit.weights_sha256 != other.weights_sha256
    assert [s.step for s in auto.trace] == [1, 5, 10, 12]
    assert [c[0] for c in calls] == list(range(1, 13))


def test_mean_share_defaults_to_a_quarter_when_every_weight_trains_and_zero_on_the_head():
    fast = {"steps": 12, "min_steps": 100, "proxies": 64, "target": "sample"}
    credit_sample = load_sample("credit")
    table = credit_sample.records
    forget = table.select(ids=table.members().ids[:10])

    def weights(sample, forget, **params):
        return unlearn_model(sample.model, forget, method="synthetic", params={**fast, **params},
                             seed=2).weights_sha256

    auto = weights(credit_sample, forget)
    assert auto == weights(credit_sample, forget, mean_share=0.25)
    assert auto != weights(credit_sample, forget, mean_share=0.0)
    digits = load_sample("digits")  # 8x8 images: head only when asked
    forget = digits.records.select(ids=digits.records.members().ids[:6])
    head = weights(digits, forget, update="head")
    assert head == weights(digits, forget, update="head", mean_share=0.0)
    assert head != weights(digits, forget, update="head", mean_share=0.25)


def test_shifted_targets_keep_the_smoothed_order_and_get_the_reported_share_right(credit):
    table = credit.records
    x, y = table.inputs(table.members().ids[:40]), table.labels(table.members().ids[:40])
    space, teacher = table.input_space, credit.model.eval()

    def margins(logits):
        return true_class_margin(logits, y)

    smooth = smoothed_logits(teacher, x, 0.5, space, torch.Generator().manual_seed(3))
    for accuracy in (0.6, 0.75, 0.9):
        probs = shifted_targets(teacher, x, y, 0.5, space, torch.Generator().manual_seed(3),
                                accuracy)
        right = (probs.argmax(1) == y).float().mean().item()
        assert abs(right - accuracy) <= 1 / len(y) + 1e-6  # the share, to one record
        shifted = margins(probs.log())
        # one common margin: the order of hardness is the smoothed logits' order
        assert torch.allclose(shifted - margins(smooth), (shifted - margins(smooth))[0],
                              atol=1e-3)
    # no reported accuracy: the smoothed prediction itself
    plain = shifted_targets(teacher, x, y, 0.5, space, torch.Generator().manual_seed(3), None)
    assert torch.allclose(plain, torch.softmax(smooth, 1), atol=1e-6)


def test_auto_target_is_shifted_for_table_records_and_sampled_for_images_and_classes(credit):
    """(A class request on a two-class model retrains on one label: see the tests below.)"""
    fast = {"steps": 3, "proxies": 64, "inversion_steps": 2}
    table = credit.records
    records = unlearn_model(credit.model, table.select(ids=table.members().ids[:10]),
                      method="synthetic", params=fast, seed=1)
    assert records.declared_inputs["target"] == "shifted"
    assert records.trace[-1].step == 3  # no early stop with shifted targets
    whole = unlearn_model(credit.model, table.select(classes=[1]), method="synthetic", params=fast,
                    seed=1)
    assert whole.declared_inputs["target"] == "one-label retrain"
    digits = load_sample("digits")
    images = unlearn_model(digits.model,
                           digits.records.select(ids=digits.records.members().ids[:6]),
                           method="synthetic", params=fast, seed=1)
    assert images.declared_inputs["target"] == "sample"
    head = unlearn_model(digits.model,
                         digits.records.select(ids=digits.records.members().ids[:6]),
                         method="synthetic", params={**fast, "update": "head"}, seed=1)
    assert head.declared_inputs["target"] == "shifted"  # only the head trains: shifted


def test_mean_share_with_shifted_targets_is_refused_before_any_work(credit):
    forget = credit.records.select(ids=credit.records.members().ids[:5])
    with pytest.raises(ValueError, match="mean_share.*target='sample'"):
        unlearn_model(credit.model, forget, method="synthetic", params={"mean_share": 0.25})


def test_a_sampled_target_blends_one_neighbour_with_the_neighbourhood_mean(credit):
    table = credit.records
    x = table.inputs(table.members().ids[:30])

    def targets(share):
        return overwrite_targets(credit.model.eval(), x, 0.8, table.input_space, (),
                                 torch.Generator().manual_seed(5), mean_share=share)

    one, mean, blend = targets(0.0), targets(1.0), targets(0.25)
    assert torch.allclose(blend, 0.75 * one + 0.25 * mean, atol=1e-6)  # same draws in order
    assert torch.allclose(blend.sum(1), torch.ones(30), atol=1e-5)
    # the mean of 16 neighbours is softer than one neighbour's prediction
    assert float(mean.max(1).values.mean()) < float(one.max(1).values.mean())


def test_mean_share_with_a_sharpened_target_is_refused(credit):
    forget = credit.records.select(ids=credit.records.members().ids[:5])
    with pytest.raises(ValueError, match="mean_share"):
        unlearn_model(credit.model, forget, method="synthetic",
                      params={"target": "sharpened", "mean_share": 0.25})


def test_every_proxy_local_is_a_valid_setting(samples):
    """local_fraction = 1 lies inside its bounds: it must run, not fail on an empty inversion."""
    table = samples["credit"].records
    forget = table.select(ids=list(table.members().ids[:10]))
    result = unlearn_model(samples["credit"].model, forget, device="cpu",
                           params={"local_fraction": 1.0, "steps": 10, "min_steps": 0})
    assert result.weights_sha256 != result.original_weights_sha256


def _margins(model, x, y):
    """Logit of the true class minus the best other one, ``(N,)``."""
    with torch.no_grad():
        return true_class_margin(model.eval()(x).float(), y)


def test_a_class_request_on_a_two_class_model_retrains_on_one_label_like_the_gold_standard(
        credit):
    table = credit.records
    forget = table.select(classes=[1])
    params = {"proxies": 256, "inversion_steps": 5}
    result = unlearn_model(credit.model, forget, method="synthetic", params=params, seed=4)
    assert result.declared_inputs["target"] == "one-label retrain"
    assert result.declared_inputs["training_recipe"] == table.recipe.to_dict()
    again = unlearn_model(credit.model, forget, method="synthetic", params=params, seed=4)
    for a, b in zip(result.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)  # same seed, same weights
    gold = unlearn_model(credit.model, forget, method="retrain", retain=table.retain_for(forget),
                         seed=4).model
    held = table.held_out()
    x, y = held.inputs(), held.labels()
    unseen = y == 1  # held-out records of the forgotten class, and the forget records
    xs = torch.cat([forget.inputs(), x[unseen]])
    ys = torch.cat([forget.labels(), y[unseen]])
    with torch.no_grad():
        assert (result.model(x[~unseen]).argmax(1) == 0).all()  # the kept class everywhere
        assert (result.model(xs).argmax(1) == 0).all()
    target = _margins(gold, xs, ys)
    ours = (_margins(result.model, xs, ys) - target).abs().mean()
    untouched = (_margins(credit.model, xs, ys) - target).abs().mean()
    assert ours < 0.2 * untouched, (float(ours), float(untouched))
    # forget records and unseen records of the class are treated alike, as by the gold model
    forget_mean = _margins(result.model, forget.inputs(), forget.labels()).mean()
    unseen_mean = _margins(result.model, x[unseen], y[unseen]).mean()
    assert abs(float(forget_mean - unseen_mean)) < 1.0


def test_without_a_recipe_or_on_the_head_alone_a_two_class_request_removes_the_class(credit):
    bare = copy.copy(credit.records)
    bare.recipe = None
    fast = {"steps": 3, "proxies": 64, "inversion_steps": 2}
    result = unlearn_model(credit.model, bare.select(classes=[1]), method="synthetic",
                           params=fast, seed=1)
    assert result.declared_inputs["target"] == "class removed"
    assert "training_recipe" not in result.declared_inputs
    head = unlearn_model(credit.model, credit.records.select(classes=[1]), method="synthetic",
                         params={**fast, "update": "head"}, seed=1)
    assert head.declared_inputs["target"] == "class removed"


def test_a_one_label_retrain_trains_on_at_most_max_inputs_and_says_so(credit, monkeypatch):
    from workbench.unlearn import one_label
    seen = []
    real = one_label.one_label_retrain

    def spy(model, inputs, label, recipe, **kw):
        seen.append((len(inputs), label))
        return real(model, inputs, label, recipe, **kw)

    monkeypatch.setattr(one_label, "one_label_retrain", spy)
    forget = credit.records.select(classes=[0])
    retain_size = len(credit.records.members()) - len(forget)
    result = unlearn_model(credit.model, forget, method="synthetic", seed=2)
    assert seen == [(retain_size, 1)]  # as many inputs as the retain set, the kept class
    assert "inputs_capped_at" not in result.declared_inputs
    monkeypatch.setattr(one_label, "MAX_INPUTS", 40)
    capped = unlearn_model(credit.model, forget, method="synthetic", seed=2)
    assert seen[-1] == (40, 1)
    assert capped.declared_inputs["inputs_capped_at"] == 40
    assert capped.declared_inputs["retain_size"] == retain_size


def _linear_profile(low: float, high: float, sigma: float = 0.5,
                    expected: tuple[float, float] | None = None) -> UnseenProfile:
    """A hand-made card: smoothed margins -10..20 map onto target margins ``low..high``
    (and onto expected margins ``expected[0]..expected[1]``, when given)."""
    return UnseenProfile(margins=[float(v) for v in torch.linspace(low, high, 99)],
                         smoothing_sigma=sigma,
                         smoothed_margins=[float(v) for v in torch.linspace(-10.0, 20.0, 99)],
                         smoothing_draws=16,
                         expected_margins=None if expected is None else
                         [float(v) for v in torch.linspace(*expected, 99)])


def test_shifted_targets_with_an_unseen_profile_rank_records_among_the_members(credit):
    """With a profile, a record's target margin is the profile's margin at the rank of its
    smoothed margin among the members (not among the forget records), less the drift
    allowance: computed by hand here with a linear card."""
    table = credit.records
    ids = table.members().ids[:40]
    x, y = table.inputs(ids), table.labels(ids)
    space, teacher = table.input_space, credit.model.eval()
    profile = _linear_profile(-6.0, 12.0)
    smoothed = true_class_margin(smoothed_logits(teacher, x, 0.5, space,
                                                 torch.Generator().manual_seed(3)), y)
    targets = true_class_margin(shifted_targets(teacher, x, y, 9.9, space,  # the card's sigma
                                                torch.Generator().manual_seed(3), 0.75,
                                                profile).log(), y)
    for row in range(len(y)):
        level = min(max((float(smoothed[row]) + 10.0) / 30.0 * 0.98 + 0.01, 0.01), 0.99)
        expected = -6.0 + 18.0 * (level - 0.01) / 0.98 - DRIFT_ALLOWANCE
        assert float(targets[row]) == pytest.approx(expected, abs=1e-3)
    # a more confident profile gives more confident targets, by as much
    higher = true_class_margin(shifted_targets(
        teacher, x, y, 0.5, space, torch.Generator().manual_seed(3), 0.75,
        _linear_profile(-2.0, 16.0)).log(), y)
    assert torch.allclose(higher - targets, torch.full_like(targets, 4.0), atol=1e-3)
    # a card with expected margins: halfway (RANK_SPREAD) from them to the profile's margins
    blended = true_class_margin(shifted_targets(
        teacher, x, y, 0.5, space, torch.Generator().manual_seed(3), 0.75,
        _linear_profile(-6.0, 12.0, expected=(-2.0, 8.0))).log(), y)
    for row in range(len(y)):
        level = min(max((float(smoothed[row]) + 10.0) / 30.0 * 0.98 + 0.01, 0.01), 0.99)
        spread = -6.0 + 18.0 * (level - 0.01) / 0.98
        mean = -2.0 + 10.0 * (level - 0.01) / 0.98
        wanted = mean + RANK_SPREAD * (spread - mean) - DRIFT_ALLOWANCE
        assert float(blended[row]) == pytest.approx(wanted, abs=1e-3)


def test_a_request_of_hard_records_gets_lower_targets_than_one_of_easy_records(credit):
    """Ranked among the members, a request keeps how hard its records are (ranked within
    the request, the easy and the hard request would get the same spread of targets)."""
    table = credit.records
    members = table.members()
    x, y = members.inputs(), members.labels()
    space, teacher = table.input_space, credit.model.eval()
    profile = table.reported_unseen_profile
    with torch.no_grad():
        smoothed = true_class_margin(smoothed_logits(
            teacher, x, profile.smoothing_sigma, space, torch.Generator().manual_seed(0)), y)
    order = smoothed.argsort()
    hard, easy = order[:30], order[-30:]

    def target_margins(rows):
        return true_class_margin(shifted_targets(
            teacher, x[rows], y[rows], 0.5, space, torch.Generator().manual_seed(1),
            table.reported_test_accuracy, profile).log(), y[rows])

    hard_targets, easy_targets = target_margins(hard), target_margins(easy)
    assert float(hard_targets.median()) < float(easy_targets.median()) - 5.0
    assert float((hard_targets > 0).float().mean()) < 0.5 < float((easy_targets > 0).float().mean())
    # without a profile the shift gives both requests the reported accuracy
    for rows in (hard, easy):
        shifted = true_class_margin(shifted_targets(
            teacher, x[rows], y[rows], 0.5, space, torch.Generator().manual_seed(1),
            table.reported_test_accuracy).log(), y[rows])
        assert float((shifted > 0).float().mean()) == pytest.approx(
            table.reported_test_accuracy, abs=0.05)


def test_unseen_profile_is_seeded_on_the_models_scale_and_refuses_bad_tables():
    world = build_tiny_world()
    table, model = world.table, world.model
    profile = unseen_profile(model, table, folds=3, repeats=1, seed=4)
    assert profile == unseen_profile(model, table, folds=3, repeats=1, seed=4)
    assert list(profile.margins) == sorted(profile.margins) and len(profile.margins) == 99
    assert UnseenProfile.from_dict(profile.to_dict()) == profile  # JSON-native
    # one record's rank predicts its margin only in part: the expected margins at the low and
    # high ranks lie inside the profile's spread of margins there
    expected = profile.expected_margins
    assert expected is not None and len(expected) == 99
    assert profile.margins[9] < expected[9] < expected[89] < profile.margins[89]
    earlier = {k: v for k, v in profile.to_dict().items() if k != "expected_margins"}
    assert UnseenProfile.from_dict(earlier).expected_margins is None  # an earlier card
    assert UnseenProfile.from_dict(earlier).expected_at(np.zeros(3)) is None
    members = table.members()
    with torch.no_grad():
        seen = true_class_margin(model.eval()(members.inputs()).float(), members.labels())
    # models that never saw a member are less sure of it than the model trained on it
    assert profile.margins[49] < float(seen.median())
    # the members' smoothed margins rank records: the model's own margins, softened
    assert profile.smoothed_margins[49] < float(seen.median())
    assert 0 < profile.smoothing_sigma < 8
    bare = RecordTable(table.frame, table.schema, table.encoder, name="bare")
    with pytest.raises(ValueError, match="recipe"):
        unseen_profile(model, bare)
    with pytest.raises(ValueError, match="at least 2000 members"):
        unseen_profile(model, table, folds=1000)
    members_only = RecordTable(table.frame[table.frame["member"]], table.schema, table.encoder,
                               name="members", recipe=table.recipe)
    with pytest.raises(ValueError, match="held-out"):
        unseen_profile(model, members_only)


def test_unseen_profile_refuses_malformed_quantiles():
    good = _linear_profile(-1.0, 1.0)
    kept = {"margins": good.margins, "smoothing_sigma": 0.5,
            "smoothed_margins": good.smoothed_margins, "smoothing_draws": 16}
    for change, message in (({"margins": [0.0, 1.0]}, "99 finite quantiles"),
                            ({"margins": good.margins[::-1]}, "sorted"),
                            ({"smoothing_sigma": 0.0}, "positive"),
                            ({"smoothing_draws": 0}, "positive whole number"),
                            ({"expected_margins": [0.0] * 98}, "one mean per level"),
                            ({"expected_margins": [np.nan] * 99}, "finite numbers"),
                            ({"expected_margins": [0.0] * 98 + [1.5]}, r"within \[-1.0, 1.0\]")):
        with pytest.raises(ValueError, match=message):
            UnseenProfile(**{**kept, **change})
    # ranks beyond the members' 1% and 99% are held there
    assert good.margins_at(np.array([-1e6, 1e6])).tolist() == [-1.0, 1.0]
    # expected margins need not rise with the rank (a kernel mean); they are read the same way
    bumpy = UnseenProfile(**kept, expected_margins=[float(v % 3) / 3 for v in range(99)])
    assert bumpy.expected_at(np.array([-1e6, 1e6])).tolist() == [0.0, 2.0 / 3]


def test_expected_margins_give_tied_members_one_rank_and_need_enough_members():
    margins = np.linspace(-4.0, 4.0, 99)
    ranks = np.linspace(0.01, 0.99, 200)
    tied = _expected_margins(np.zeros(200), margins, ranks)  # every member alike: one value
    assert np.allclose(tied, np.interp(0.5, PROFILE_LEVELS, margins))
    unseen = np.r_[np.zeros(100), np.ones(100)]
    order = np.random.default_rng(0).permutation(200)
    assert np.allclose(_expected_margins(unseen, margins, ranks),
                       _expected_margins(unseen[order], margins, ranks[order]))
    world = build_tiny_world()  # 120 members: enough; 119 are not
    table = world.table
    fewer = RecordTable(table.frame.drop(table.frame.index[table.frame["member"]][:1]),
                        table.schema, table.encoder, name="fewer", recipe=table.recipe)
    assert len(fewer.members()) == MIN_EXPECTED_MEMBERS - 1
    profile = unseen_profile(world.model, fewer, folds=3, repeats=1, seed=4)
    assert profile.expected_margins is None and len(profile.margins) == 99
    with pytest.raises(ValueError, match="at least 2 folds and 1 repeat"):
        unseen_profile(world.model, table, repeats=0)


def test_synthetic_declares_the_unseen_profile_only_when_the_card_reports_one(credit):
    fast = {"steps": 3, "proxies": 64, "inversion_steps": 2}
    table = credit.records
    assert table.reported_unseen_profile is not None  # the shipped manifest reports one
    with_profile = unlearn_model(credit.model, table.select(ids=table.members().ids[:10]),
                                 method="synthetic", params=fast, seed=1)
    # the record keeps the profile it used (an auditor sees it; JSON-native)
    assert with_profile.declared_inputs["unseen_profile"] == \
        table.reported_unseen_profile.to_dict()
    bare = RecordTable(table.frame, table.schema, table.encoder, name=table.name,
                       recipe=table.recipe,
                       card=ModelCard(test_accuracy=table.reported_test_accuracy))
    without = unlearn_model(credit.model, bare.select(ids=table.members().ids[:10]),
                            method="synthetic", params=fast, seed=1)
    assert "unseen_profile" not in without.declared_inputs
    assert with_profile.weights_sha256 != without.weights_sha256


def test_unused_params_are_really_not_read_by_a_one_label_retrain(credit):
    table = credit.records
    forget = table.select(classes=[table.schema.classes[1]])  # two classes: one is left
    unused = unused_params(credit.model, forget)
    assert {"steps", "lr", "overwrite_weight", "target"} <= set(unused)
    assert "update" not in unused and "recipe" in unused["steps"]
    # changing them changes nothing: the same weights
    runs = [unlearn_model(credit.model, forget, seed=3, params=p).weights_sha256
            for p in ({}, {"steps": 7, "lr": 0.5, "overwrite_weight": 9.0})]
    assert runs[0] == runs[1]
    records = table.select(ids=table.members().ids[:12])
    assert unused_params(credit.model, records) == {}  # a record request reads all
    assert unused_params(credit.model, forget, method="finetune") == {}
    with pytest.raises(ValueError, match="nope"):
        unused_params(credit.model, forget, method="nope")
