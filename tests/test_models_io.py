"""Saving and loading models (safetensors + architecture metadata), atomically."""

from __future__ import annotations

import copy
import json
import os
import stat

import pytest
import torch
from safetensors import safe_open
from torch import nn

from workbench import load_model, save_model, weights_sha256
from workbench.atomic import atomic_path, current_umask, write_json
from workbench.models import SmallCNN, TabularMLP, build_model


class Custom(nn.Module):
    """A user's own architecture: no ``spec`` attribute."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        self.register_buffer("scale", torch.tensor([2.0]))

    def forward(self, x):
        return self.body(x) * self.scale


def expected_mode() -> int:
    return 0o666 & ~current_umask()


def test_round_trip_builtin_models(tmp_path, samples):
    for name, sample in samples.items():
        path = save_model(sample.model, tmp_path / f"{name}.safetensors")
        again = load_model(path)
        assert type(again) is type(sample.model)
        assert again.spec == sample.model.spec
        assert weights_sha256(again) == weights_sha256(sample.model)
        assert not again.training
        x = sample.records.inputs()[:16]
        with torch.no_grad():
            assert torch.equal(again(x), sample.model(x))


def test_round_trip_cnn_with_batchnorm_buffers(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN(1, 8, 8, 10, batchnorm=True)
    model.train()
    model(torch.rand(4, 1, 8, 8))  # moves running stats away from their defaults
    again = load_model(save_model(model, tmp_path / "cnn.safetensors"))
    assert weights_sha256(again) == weights_sha256(model)
    assert int(again.features[1].num_batches_tracked) == 1


def test_file_records_format_and_architecture(tmp_path):
    model = TabularMLP(5, 3, hidden=(7,))
    path = save_model(model, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    assert meta["format"] == "erasure-workbench/1"
    assert build_model(json.loads(meta["architecture"])).spec == model.spec


def test_custom_module_loads_into_user_instance(tmp_path):
    torch.manual_seed(1)
    model = Custom()
    with torch.no_grad():
        model.scale.fill_(3.0)
    path = save_model(model, tmp_path / "custom.safetensors")
    target = Custom()
    assert weights_sha256(target) != weights_sha256(model)
    loaded = load_model(path, model=target)
    assert loaded is target
    assert weights_sha256(loaded) == weights_sha256(model)
    assert float(loaded.scale) == 3.0


def test_custom_module_without_instance_is_a_clear_error(tmp_path):
    path = save_model(Custom(), tmp_path / "custom.safetensors")
    with pytest.raises(ValueError, match=r"custom\.safetensors does not record its architecture; "
                                         r"pass model="):
        load_model(path)


def test_weights_that_do_not_fit(tmp_path):
    path = save_model(TabularMLP(5, 3), tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"weights in .*m\.safetensors do not fit the model"):
        load_model(path, model=TabularMLP(6, 3))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"model file .*nothing\.safetensors does not exist"):
        load_model(tmp_path / "nothing.safetensors")


@pytest.mark.parametrize("data", [b"", b"garbage" * 20, b"\x10\x00\x00\x00\x00\x00\x00\x00{}"])
def test_corrupt_file(tmp_path, data):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"model file .*bad\.safetensors is corrupt or not a "
                                         r"safetensors file"):
        load_model(path)


def test_truncated_file(tmp_path):
    path = save_model(TabularMLP(5, 3), tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="is corrupt or not a safetensors file"):
        load_model(path)


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "transformer"}, r"unknown architecture 'transformer'; known: \['cnn', 'mlp'\]"),
    ({"name": "mlp", "in_features": 3}, "does not fit 'mlp'"),
    ({"name": "mlp", "in_features": 3, "num_classes": 2, "depth": 9}, "does not fit 'mlp'"),
])
def test_build_model_bad_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        build_model(spec)


def test_build_model_from_json_spec():
    model = build_model({"name": "mlp", "in_features": 3, "num_classes": 2, "hidden": [4, 5]})
    assert [m.out_features for m in model.net if isinstance(m, nn.Linear)] == [4, 5, 2]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    model = TabularMLP(5, 3)
    path = tmp_path / "sub" / "m.safetensors"
    save_model(model, path)
    save_model(copy.deepcopy(model), path)  # overwrite in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_model(TabularMLP(5, 3), tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash_half_way(state, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr("workbench.models.io.save_file", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        save_model(TabularMLP(5, 3), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_atomic_path_removes_temp_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_saved_files_are_not_private(tmp_path):
    """mkstemp creates 0600 files; the result must get the normal umask-based mode."""
    assert expected_mode() != 0o600, "pick a umask that makes this test meaningful"
    model_path = save_model(TabularMLP(5, 3), tmp_path / "m.safetensors")
    json_path = tmp_path / "x.json"
    write_json(json_path, {"a": 1})
    for path in (model_path, json_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == expected_mode(), path


def test_saved_file_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = save_model(TabularMLP(5, 3), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_write_json(tmp_path):
    path = tmp_path / "deep" / "er" / "v.json"
    write_json(path, {"b": [1, 2], "a": "x"})
    assert path.read_text() == '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "x"\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["v.json"]


def test_load_does_not_unpickle(tmp_path):
    """A torch.save pickle under a .safetensors name must be refused, not executed."""
    path = tmp_path / "pickle.safetensors"
    torch.save(TabularMLP(5, 3).state_dict(), path)
    with pytest.raises(ValueError, match="corrupt or not a safetensors file"):
        load_model(path)


class TiedNet(nn.Module):
    """Two layers that share one weight matrix (tied weights): one tensor, two names."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.second = nn.Linear(4, 4)
        self.second.weight = self.first.weight
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.second(torch.relu(self.first(x)))))


def test_tied_weights_save_and_load_back_tied(tmp_path):
    torch.manual_seed(0)
    model = TiedNet()
    path = save_model(model, tmp_path / "tied.safetensors")
    loaded = load_model(path, model=TiedNet())
    x = torch.randn(4, 4)
    assert torch.equal(loaded(x), model(x))
    assert loaded.second.weight is loaded.first.weight  # still one parameter
