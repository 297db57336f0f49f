"""Method-specific behaviour of the published baselines (workbench/unlearn/baselines/)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from workbench.errors import DivergenceError
from workbench.hashing import weights_sha256
from workbench.metrics import set_accuracy
from workbench.samples import load_sample
from workbench.training import predict_logits
from workbench.unlearn import DataAccess, RunContext, get_unlearner, param_specs, unlearn_model
from workbench.unlearn.baselines._common import random_teacher
from workbench.unlearn.baselines.jit import perturbation_space
from workbench.unlearn.baselines.unsir import UNSIR, UNSIRParams

# The CUDA paths run where a GPU is: WORKBENCH_TEST_DEVICE=cuda pytest tests/test_unlearn.py
TEST_DEVICE = os.environ.get("WORKBENCH_TEST_DEVICE", "cpu")

torch.set_num_threads(1)

ACCESS = {"finetune": DataAccess.RETAIN_ONLY, "neggrad_plus": DataAccess.FORGET_AND_RETAIN,
          "scrub": DataAccess.FORGET_AND_RETAIN, "bad_teacher": DataAccess.FORGET_AND_RETAIN,
          "ssd": DataAccess.FORGET_AND_RETAIN, "jit": DataAccess.FORGET_ONLY,
          "unsir": DataAccess.FORGET_AND_RETAIN}


@pytest.fixture(scope="module")
def credit():
    sample = load_sample("credit")
    table = sample.records
    ids = list(table.members().ids)
    rng = np.random.default_rng(7)
    picked = list(rng.choice(ids, size=50, replace=False))
    forget_a, forget_b = table.select(ids=picked[:25]), table.select(ids=picked[25:])
    return sample.model, table, forget_a, forget_b


@pytest.fixture(scope="module")
def digits():
    sample = load_sample("digits")
    forget = sample.records.select(classes=[3])
    return sample.model, sample.records, forget


def confidence(model, forget) -> float:
    probs = F.softmax(predict_logits(model, forget.inputs()), dim=1)
    return float(probs.gather(1, forget.labels()[:, None]).mean())


def run(model, forget, method, retain=None, **params):
    return unlearn_model(model, forget, method=method, params=params, retain=retain, seed=3,
                         device=TEST_DEVICE)


@pytest.mark.parametrize("name", sorted(ACCESS))
def test_declarations_and_defaults(name):
    cls = get_unlearner(name)
    assert cls.data_access is ACCESS[name]
    assert cls.class_level_only is (name == "unsir")
    assert cls.summary
    for spec in param_specs(cls.Params):
        assert spec.help, f"{name}.{spec.name} has no help text"
        if isinstance(spec.default, int | float) and not isinstance(spec.default, bool):
            assert spec.low is not None and spec.high is not None
            assert spec.low <= spec.default <= spec.high


def test_finetune_never_looks_at_the_forget_records(credit):
    model, table, forget_a, forget_b = credit
    retain = table.retain_for(table.select(ids=forget_a.ids + forget_b.ids))
    a = run(model, forget_a, "finetune", retain)
    b = run(model, forget_b, "finetune", retain)
    assert a.weights_sha256 == b.weights_sha256 != a.original_weights_sha256
    assert a.records_used["forget"] == 0
    assert a.trace[-1].parts[0][0] == "retain_ce"


def test_neggrad_plus_lowers_forget_confidence_and_keeps_the_model_useful(credit):
    model, table, forget, _ = credit
    result = run(model, forget, "neggrad_plus", table.retain_for(forget))
    assert confidence(result.model, forget) < confidence(model, forget) - 0.1
    assert set_accuracy(result.model, table.held_out()) > 0.65
    parts = dict(result.trace[-1].parts)
    assert parts["forget_ce"] > 0 and parts["retain_ce"] >= 0


def test_neggrad_plus_ascends_on_the_forget_set(credit):
    model, table, forget_a, forget_b = credit
    retain = table.retain_for(table.select(ids=forget_a.ids + forget_b.ids))
    # alpha = 1 switches the ascent off: the forget records then make no difference
    off = [run(model, f, "neggrad_plus", retain, alpha=1.0) for f in (forget_a, forget_b)]
    assert off[0].weights_sha256 == off[1].weights_sha256
    on = run(model, forget_a, "neggrad_plus", retain)
    assert on.weights_sha256 != off[0].weights_sha256
    # alpha = 0 is pure gradient ascent: forget CE rises epoch after epoch
    ascent = run(model, forget_a, "neggrad_plus", retain, alpha=0.0, lr=0.01, epochs=3)
    forget_ce = [dict(step.parts)["forget_ce"] for step in ascent.trace]
    assert forget_ce == sorted(forget_ce) and forget_ce[-1] > 1.0
    assert confidence(ascent.model, forget_a) < 0.5


def test_scrub_max_steps_use_the_forget_set_and_lower_its_confidence(credit):
    model, table, forget_a, forget_b = credit
    retain = table.retain_for(table.select(ids=forget_a.ids + forget_b.ids))
    # without max steps SCRUB only distils on retain: the forget records make no difference
    no_max = [run(model, f, "scrub", retain, msteps=0).weights_sha256 for f in (forget_a, forget_b)]
    assert no_max[0] == no_max[1]
    a = run(model, forget_a, "scrub", retain)
    assert a.weights_sha256 != no_max[0]
    assert confidence(a.model, forget_a) < confidence(model, forget_a) - 0.05
    assert "forget_kl" in dict(a.trace[0].parts) and "forget_kl" not in dict(a.trace[-1].parts)


def test_bad_teacher_moves_forget_predictions_towards_the_random_teacher(credit):
    model, table, forget, _ = credit
    retain = table.retain_for(forget)
    result = run(model, forget, "bad_teacher", retain)
    # the run draws the incompetent teacher first from a generator seeded with the run's seed
    bad = random_teacher(model, torch.Generator().manual_seed(3))
    target = F.softmax(predict_logits(bad, forget.inputs()), dim=1)

    def kl_to_bad(m):
        log_p = F.log_softmax(predict_logits(m, forget.inputs()), dim=1)
        return float(F.kl_div(log_p, target, reduction="batchmean"))

    assert kl_to_bad(result.model) < 0.5 * kl_to_bad(model)
    same = (predict_logits(result.model, retain.inputs()).argmax(1)
            == predict_logits(model, retain.inputs()).argmax(1)).float().mean()
    assert same > 0.9  # the competent teacher holds the retain predictions
    assert run(model, forget, "bad_teacher", retain).weights_sha256 == result.weights_sha256


def test_ssd_only_dampens_selected_parameters(credit):
    model, table, forget, _ = credit
    retain = table.retain_for(forget)
    for alpha in (10.0, 1.0):
        result = run(model, forget, "ssd", retain, alpha=alpha, lam=1.0)
        old = model.state_dict()
        new = {k: v.cpu() for k, v in result.model.state_dict().items()}
        changed = 0
        for key in old:
            unchanged = torch.eq(old[key], new[key])
            changed += int((~unchanged).sum())
            # a selected weight is scaled by lam * imp_D / imp_F < lam / alpha, towards zero
            moved = ~unchanged
            assert torch.all(new[key][moved].abs() <= old[key][moved].abs() / alpha + 1e-12)
            assert torch.all(torch.sign(new[key][moved]) * torch.sign(old[key][moved]) >= 0)
        assert changed > 0
        assert dict(result.trace[-1].parts)["selected_fraction"] > 0
    untouched = run(model, forget, "ssd", retain, alpha=1e6)
    assert untouched.weights_sha256 == untouched.original_weights_sha256


def test_jit_is_forget_only(credit):
    model, table, forget, _ = credit
    with pytest.raises(ValueError, match="forget_only"):
        unlearn_model(model, forget, method="jit", retain=table.retain_for(forget))
    direct = get_unlearner("jit")()
    with pytest.raises(ValueError, match="retain"):
        direct.unlearn(model, forget, table.retain_for(forget),
                       params=direct.Params(), context=None)
    result = run(model, forget, "jit")
    assert result.records_used == {"forget": len(forget), "retain": 0}
    assert confidence(result.model, forget) < confidence(model, forget) - 0.05


def test_jit_perturbs_only_continuous_columns_within_their_bounds(credit):
    _, table, forget, _ = credit
    space = table.input_space
    mask, lower, upper = perturbation_space(forget, torch.device("cpu"))
    assert mask.shape == space.shape and int(mask.sum()) == len(space.continuous)
    onehot = [i for group in space.onehot for i in group]
    assert not mask[onehot].any() and not mask[[i for i, _ in space.discrete]].any()
    assert torch.all(torch.isfinite(lower[mask])) and torch.all(lower[mask] < upper[mask])
    x = forget.inputs()
    assert torch.all((x[:, mask] >= lower[mask] - 1e-6) & (x[:, mask] <= upper[mask] + 1e-6))


def test_unsir_refuses_record_level_requests(credit):
    model, table, forget, _ = credit
    with pytest.raises(ValueError, match="whole classes"):
        unlearn_model(model, forget, method="unsir", retain=table.retain_for(forget))
    with pytest.raises(ValueError, match="whole classes"):
        UNSIR().unlearn(model, forget, table.retain_for(forget), params=UNSIRParams(),
                        context=None)


def test_unsir_noise_raises_the_forget_class_loss(digits):
    model, table, forget = digits
    gen = torch.Generator().manual_seed(0)
    context = RunContext(torch.device("cpu"), 0, gen, forget.inputs(), forget.labels())
    params = UNSIRParams(noise_size=32)
    noise = UNSIR.learn_noise(model, 3, (1, 8, 8), params, context)
    start = torch.randn((32, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    labels = torch.full((32,), 3)
    assert F.cross_entropy(model(noise), labels) > F.cross_entropy(model(start), labels) + 1.0
    assert all(p.requires_grad for p in model.parameters())  # flags restored


def test_unsir_forgets_the_class_and_repairs_the_rest(digits):
    model, table, forget = digits
    retain = table.retain_for(forget)
    result = run(model, forget, "unsir", retain)
    assert set_accuracy(result.model, forget) <= 0.1
    assert set_accuracy(result.model, retain) >= 0.85
    held = table.held_out()
    kept = held.labels() != 3
    predicted = predict_logits(result.model, held.inputs()).argmax(1)
    assert float((predicted[kept] == held.labels()[kept]).float().mean()) >= 0.75
    phases = [s.parts[0][0] for s in result.trace if s.parts]
    assert phases[0] == "impair_ce" and phases[-1] == "repair_ce"


def test_original_model_is_untouched_and_seeds_matter(credit):
    model, table, forget, _ = credit
    before = weights_sha256(model)
    runs = {m: (run(model, forget, m, None if m == "jit" else table.retain_for(forget)),
                unlearn_model(model, forget, method=m, seed=4, device=TEST_DEVICE,
                              retain=None if m == "jit" else table.retain_for(forget)))
            for m in ("bad_teacher", "jit")}
    assert weights_sha256(model) == before
    for first, other in runs.values():
        assert first.weights_sha256 != other.weights_sha256  # the seed drives the randomness


@pytest.mark.parametrize("method", ["scrub", "neggrad_plus"])
def test_gradient_ascent_baselines_are_clipped_so_a_binary_class_request_does_not_diverge(
        method):
    sample = load_sample("clinic")
    forget = sample.records.select(classes=[1])
    retain = sample.records.retain_for(forget)
    with pytest.raises(DivergenceError, match="diverged"):  # the paper's unbounded ascent
        run(sample.model, forget, method, retain, clip=0.0)
    result = run(sample.model, forget, method, retain)  # default: the gradient norm is clipped
    assert all(torch.isfinite(t).all() for t in result.model.state_dict().values())
    assert set_accuracy(result.model, forget) < 0.05
