"""Device choice, and the SHA-256 fingerprints of files, weights and records."""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict

import numpy as np
import pytest
import torch

from workbench import resolve_device, weights_sha256
from workbench.hashing import canonical_json, record_sha256, sha256_bytes, sha256_file
from workbench.models import TabularMLP

HAS_CUDA = torch.cuda.is_available()

# --- device ----------------------------------------------------------------------------------


def test_auto_picks_cuda_only_when_present():
    assert resolve_device("auto") == torch.device("cuda" if HAS_CUDA else "cpu")
    assert resolve_device() == resolve_device("auto")


def test_auto_is_cpu_without_cuda():
    if HAS_CUDA:
        pytest.skip("CUDA is available here")
    assert resolve_device("auto").type == "cpu"


def test_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("choice", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda(choice):
    if HAS_CUDA:
        assert resolve_device(choice).type == "cuda"
    else:
        with pytest.raises(ValueError, match="CUDA is not available on this machine"):
            resolve_device(choice)


def test_cuda_index_out_of_range():
    with pytest.raises(ValueError, match="cuda:99"):
        resolve_device("cuda:99")


@pytest.mark.parametrize("choice", ["tpu", "gpu", "CPU", "", "cudafoo", "cuda:x", "mps"])
def test_unknown_device(choice):
    message = rf"unknown device {choice!r}; use 'auto', 'cpu' or 'cuda'"
    with pytest.raises(ValueError, match=message):
        resolve_device(choice)


# --- file and record hashes ----------------------------------------------------------------


def test_sha256_file_matches_hashlib_across_chunks(tmp_path):
    data = np.random.default_rng(0).bytes((1 << 20) * 2 + 123)  # more than two 1 MiB chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    assert sha256_bytes(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("name", ["clinic", "credit", "digits"])
def test_manifest_hashes_match_files(samples, name):
    sample = samples[name]
    manifest = sample.manifest
    for role in ("records", "preprocessing", "weights"):
        entry = manifest["files"][role]
        digest = hashlib.sha256((sample.path / entry["path"]).read_bytes()).hexdigest()
        assert entry["sha256"] == digest, role
        assert sha256_file(sample.path / entry["path"]) == digest
    assert manifest["data_sha256"] == manifest["files"]["records"]["sha256"]
    assert manifest["weights_sha256"] == manifest["files"]["weights"]["sha256"]
    assert manifest["weights_state_sha256"] == weights_sha256(sample.model)


def test_canonical_json_and_record_hash():
    assert canonical_json({"b": 1, "a": [np.int64(2), np.float32(0.5)]}) == '{"a":[2,0.5],"b":1}'
    assert record_sha256({"x": 1, "y": "z"}) == record_sha256({"y": "z", "x": 1})
    assert record_sha256({"x": 1}) == hashlib.sha256(b'{"x":1}').hexdigest()
    assert record_sha256({"x": 1}) != record_sha256({"x": 2})
    with pytest.raises(TypeError, match="cannot serialise object"):
        canonical_json({"x": object()})


# --- weights hash ------------------------------------------------------------------------


@pytest.fixture
def model() -> TabularMLP:
    torch.manual_seed(0)
    return TabularMLP(6, 3, hidden=(5,))


def test_weights_hash_format_is_pinned():
    """names, dtype, shape and raw bytes, in name order: changing this breaks old manifests."""
    state = {"b": torch.tensor([3], dtype=torch.int64), "a": torch.tensor([1.0, 2.0])}
    expected = hashlib.sha256()
    expected.update(b"a|torch.float32|(2,)|" + np.array([1, 2], np.float32).tobytes())
    expected.update(b"b|torch.int64|(1,)|" + np.array([3], np.int64).tobytes())
    assert weights_sha256(state) == expected.hexdigest()


def test_weights_hash_module_equals_state_dict(model):
    assert weights_sha256(model) == weights_sha256(model.state_dict())
    assert weights_sha256(model) == weights_sha256(copy.deepcopy(model))


def test_weights_hash_ignores_key_order(model):
    state = model.state_dict()
    backwards = OrderedDict(reversed(list(state.items())))
    assert list(backwards) != list(state)
    assert weights_sha256(backwards) == weights_sha256(state)


def test_weights_hash_ignores_memory_layout_and_grad():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    strided = base.T  # non-contiguous view
    assert not strided.is_contiguous()
    param = torch.nn.Parameter(strided.contiguous())
    assert weights_sha256({"w": strided}) == weights_sha256({"w": strided.contiguous()})
    assert weights_sha256({"w": strided}) == weights_sha256({"w": param})


def test_weights_hash_changes_when_one_weight_changes(model):
    before = weights_sha256(model)
    weight = model.net[0].weight
    with torch.no_grad():
        old = weight[2, 3].clone()
        weight[2, 3] = torch.nextafter(old, torch.tensor(np.inf))  # one ulp
        assert weight[2, 3] != old
    assert weights_sha256(model) != before
    with torch.no_grad():
        weight[2, 3] = old
    assert weights_sha256(model) == before


def test_weights_hash_sees_names_dtypes_and_shapes():
    t = torch.arange(6, dtype=torch.float32)
    base = weights_sha256({"w": t})
    assert weights_sha256({"v": t}) != base
    assert weights_sha256({"w": t.double()}) != base
    assert weights_sha256({"w": t.reshape(2, 3)}) != base
    assert weights_sha256({"w": t, "extra": torch.zeros(1)}) != base


def test_weights_hash_bfloat16():
    t = torch.tensor([1.0, 2.5, -3.0])
    h = weights_sha256({"w": t.bfloat16()})
    assert h == weights_sha256({"w": t.bfloat16().clone()})
    assert h != weights_sha256({"w": t})


def test_sample_weights_hash_changes_with_a_weight(samples):
    sample_model = copy.deepcopy(samples["credit"].model)
    with torch.no_grad():
        sample_model.net[-1].bias[0] += 1e-6
    assert weights_sha256(sample_model) != samples["credit"].manifest["weights_state_sha256"]
    assert weights_sha256(samples["credit"].model) == \
        samples["credit"].manifest["weights_state_sha256"]


@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
def test_weights_hash_same_on_cuda(model, samples):
    assert weights_sha256(copy.deepcopy(model).to("cuda")) == weights_sha256(model)
    on_gpu = copy.deepcopy(samples["digits"].model).to("cuda")
    assert weights_sha256(on_gpu) == samples["digits"].manifest["weights_state_sha256"]


# --- memory layout ---------------------------------------------------------------------------
class ViewingNet(torch.nn.Module):
    """A user's CNN that flattens with ``.view``: it fails on channels-last activations."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.head = torch.nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.head(self.conv(x).view(len(x), -1))


def test_channels_last_only_for_our_own_cnn():
    from workbench.device import memory_layout
    from workbench.models import SmallCNN
    images = torch.zeros(2, 1, 8, 8)
    ours = SmallCNN(1, 8, 8, 3)
    assert memory_layout(images, ours) == torch.channels_last
    assert memory_layout(images, ViewingNet()) == torch.contiguous_format
    assert memory_layout(torch.zeros(2, 5), TabularMLP(5, 2)) == torch.contiguous_format
    with pytest.raises(RuntimeError):  # why user models keep the default layout
        ViewingNet().to(memory_format=torch.channels_last)(images)


def test_predictions_and_training_leave_the_default_layout():
    from workbench.models import SmallCNN
    from workbench.records import TrainRecipe
    from workbench.training import predict_logits, train_classifier
    torch.manual_seed(0)
    model = SmallCNN(1, 8, 8, 3).eval()
    images, labels = torch.randn(16, 1, 8, 8), torch.arange(16) % 3
    with torch.no_grad():
        expected = model(images)
    assert torch.allclose(predict_logits(model, images), expected, atol=1e-5)
    assert predict_logits(ViewingNet(), images).shape == (16, 3)  # a user's model still runs
    recipe = TrainRecipe(epochs=1, lr=0.01, batch_size=8, weight_decay=0.0, optimizer="sgd")
    trained = train_classifier(model, images, labels, recipe, seed=0)
    for weights in trained.parameters():
        assert weights.is_contiguous()  # safetensors and hashing expect the default layout
