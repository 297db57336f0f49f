"""Head-only updates: finding a classifier's head, its cached features, and the synthetic
method's ``update`` choice (the trunk's weights are left bit for bit)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from workbench.models import build_model
from workbench.samples import load_sample
from workbench.unlearn import unlearn_model
from workbench.unlearn.heads import find_head, head_inputs, trainable_head

CNN = {"name": "cnn", "in_channels": 1, "height": 8, "width": 8, "channels": [4, 8],
       "hidden": 16, "num_classes": 3}


class Doubled(nn.Module):
    """Logits computed *after* the last Linear: no module reproduces the output alone."""

    def __init__(self):
        super().__init__()
        self.body, self.out = nn.Linear(5, 4), nn.Linear(4, 3)

    def forward(self, x):
        return 2.0 * self.out(torch.relu(self.body(x))) + 1.0


def test_find_head_picks_the_head_block_or_the_last_linear_and_checks_it():
    torch.manual_seed(0)
    cnn = build_model(CNN).eval()
    images = torch.rand(6, 1, 8, 8)
    assert find_head(cnn, images) is cnn.head
    features = head_inputs(cnn, cnn.head, images, size=4)  # two chunks
    assert features.shape == (6, 8, 2, 2)
    assert torch.allclose(cnn.head(features), cnn(images), atol=1e-6)
    assert head_inputs(cnn, cnn.head, images[:0]).shape == (0, 8, 2, 2)  # none: no crash
    mlp = build_model({"name": "mlp", "in_features": 5, "hidden": [4], "num_classes": 3})
    assert find_head(mlp, torch.randn(3, 5)) is mlp.net[-1]
    assert find_head(Doubled(), torch.randn(3, 5)) is None


def test_synthetic_head_update_leaves_the_trunk_bit_for_bit():
    digits = load_sample("digits")
    table = digits.records
    forget = table.select(ids=table.members().ids[:12])
    fast = {"steps": 20, "min_steps": 100, "proxies": 128, "update": "head"}
    result = unlearn_model(digits.model, forget, method="synthetic", params=fast, seed=3)
    assert result.declared_inputs["updated"] == "head"
    before, after = digits.model.state_dict(), result.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed)
    again = unlearn_model(digits.model, forget, method="synthetic", params=fast, seed=3)
    assert again.weights_sha256 == result.weights_sha256
    # the trace reads cached features: its last confidence is the returned model's own
    with torch.no_grad():
        probs = torch.softmax(result.model(forget.inputs()), 1)
    truth = probs.gather(1, forget.labels()[:, None]).mean()
    assert result.trace[-1].step == 20
    assert result.trace[-1].forget_confidence == pytest.approx(float(truth), abs=1e-5)
    whole = unlearn_model(digits.model, forget, method="synthetic",
                          params={**fast, "update": "auto"})
    assert whole.declared_inputs["updated"] == "all"  # 8x8 images: cheap enough for all
    assert not torch.equal(whole.model.state_dict()["features.0.weight"],
                           before["features.0.weight"])


def test_auto_update_trains_the_head_on_large_images_only():
    large = build_model({**CNN, "height": 28, "width": 28})
    assert trainable_head(large, torch.rand(2, 1, 28, 28), "auto") is large.head
    assert trainable_head(large, torch.rand(2, 1, 28, 28), "all") is None
    small = build_model(CNN)
    assert trainable_head(small, torch.rand(2, 1, 8, 8), "auto") is None
    assert trainable_head(small, torch.rand(2, 1, 8, 8), "head") is small.head


def test_update_head_on_a_model_without_one_is_a_clear_error():
    credit = load_sample("credit")
    table = credit.records
    forget = table.select(ids=table.members().ids[:5])

    class Scaled(nn.Module):  # wraps the sample: its output is 2x the last Linear's
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return 2.0 * self.inner(x)

    with pytest.raises(ValueError, match="update='all'"):
        unlearn_model(Scaled(credit.model), forget, method="synthetic",
                      params={"steps": 2, "update": "head"})
    tabular = unlearn_model(credit.model, forget, method="synthetic", params={"steps": 2})
    assert tabular.declared_inputs["updated"] == "all"  # auto: tabular trains every weight


def test_head_updates_run_with_no_proxy_near_the_forget_records():
    digits = load_sample("digits")
    forget = digits.records.select(ids=digits.records.members().ids[:6])
    for target in ("sample", "shifted"):
        result = unlearn_model(digits.model, forget, method="synthetic", seed=1,
                               params={"steps": 3, "proxies": 32, "update": "head",
                                       "local_fraction": 0.0, "target": target})
        assert result.declared_inputs["target"] == target
