"""Fashion-MNIST loader, the on-demand ``fashion`` sample and the scale benchmark's checks.

Every test writes a tiny IDX dataset of its own under ``tmp_path``: the suite never needs
Debian's ``dataset-fashion-mnist`` package.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from bench_toys import load_benchmark

import workbench
from workbench.cli import main as cli_main
from workbench.records import ModelCard
from workbench.samples import fashion as fm
from workbench.samples.load import IntegrityError

scale = load_benchmark("scale")


def write_dataset(folder: Path, n_train: int = 60, n_test: int = 20, side: int = 28,
                  seed: int = 0) -> Path:
    """A tiny Fashion-MNIST look-alike: class c has pixels near 25 * c, so it is learnable."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = np.clip(labels[:, None, None] * 25 + rng.integers(0, 20, (n, side, side)),
                         0, 255).astype(np.uint8)
        fm.write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        fm.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


@pytest.fixture
def data(tmp_path) -> Path:
    return write_dataset(tmp_path / "fashion-data")


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """No dataset installed anywhere this process could look."""
    monkeypatch.delenv(fm.ENV_DIR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "not-installed")
    monkeypatch.setattr(fm, "_dpkg_dir", lambda: None)


# --- reading IDX -------------------------------------------------------------------------


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    fm.write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(fm.read_idx(tmp_path / "a.gz"), array)
    raw = tmp_path / "raw"  # an uncompressed IDX file reads too
    import gzip
    raw.write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes()))
    assert np.array_equal(fm.read_idx(raw), array)


def test_idx_refuses_other_files(tmp_path):
    (tmp_path / "text").write_text("not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        fm.read_idx(tmp_path / "text")
    fm.write_idx(tmp_path / "a.gz", np.zeros((4, 5), dtype=np.uint8))
    import gzip
    (tmp_path / "short").write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes())[:-3])
    with pytest.raises(ValueError, match="header promises 20"):
        fm.read_idx(tmp_path / "short")


# --- the record table --------------------------------------------------------------------


def test_table_ids_members_and_pixels(data):
    table = fm.fashion_table(data_dir=data)
    assert len(table) == 80 and len(table.members()) == 60 and len(table.held_out()) == 20
    assert table.ids[:2] == ("FM-00001", "FM-00002") and table.ids[-1] == "FM-00080"
    assert table.held_out().ids[0] == "FM-00061"
    assert table.schema.classes == fm.CLASSES and table.input_space.shape == (1, 28, 28)
    raw = fm.read_idx(data / fm.FILES["train_images"])
    x = table.inputs(["FM-00003"])
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert torch.allclose(x[0, 0], torch.from_numpy(raw[2].astype(np.float32)) / 255)
    labels = fm.read_idx(data / fm.FILES["test_labels"])
    assert table.labels(["FM-00070"]).item() == labels[9]


def test_smaller_tables_are_stratified_nested_and_seeded(data):
    small, large = fm.fashion_table(20, data_dir=data), fm.fashion_table(40, data_dir=data)
    assert len(small.members()) == 20 and len(small.held_out()) == 20
    assert set(small.members().ids) <= set(large.members().ids)
    counts = np.bincount(small.members().labels().numpy(), minlength=10)
    assert counts.tolist() == [2] * 10
    assert small.held_out().ids == large.held_out().ids  # the test set is always all there
    other = fm.fashion_table(20, data_dir=data, seed=1)
    assert other.members().ids != small.members().ids


def test_stratified_subset_keeps_class_shares():
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    chosen = fm.stratified_subset(labels, 10, seed=3)
    assert np.bincount(labels[chosen]).tolist() == [7, 2, 1]
    assert len(np.unique(chosen)) == 10


def test_size_larger_than_the_dataset_is_refused(data):
    with pytest.raises(ValueError, match="size 61 is not between 1 and the 60"):
        fm.fashion_table(61, data_dir=data)
    with pytest.raises(ValueError, match="size 0"):
        fm.fashion_table(0, data_dir=data)


# --- finding the data --------------------------------------------------------------------


def test_missing_data_dir_says_how_to_install(tmp_path):
    with pytest.raises(fm.DatasetMissing, match="does not exist.*apt-get install -y "
                                                "dataset-fashion-mnist"):
        fm.find_data_dir(tmp_path / "absent")
    (tmp_path / "half").mkdir()
    with pytest.raises(fm.DatasetMissing, match="lacks"):
        fm.find_data_dir(tmp_path / "half")


def test_not_installed_anywhere(nowhere):
    with pytest.raises(fm.DatasetMissing, match="not installed.*--data-dir"):
        fm.fashion_table()


def test_environment_variable_points_at_the_data(nowhere, monkeypatch, data):
    monkeypatch.setenv(fm.ENV_DIR, str(data))
    assert fm.find_data_dir() == data


def test_dpkg_listing_is_used(monkeypatch, tmp_path, data):
    monkeypatch.delenv(fm.ENV_DIR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "not-installed")
    listing = f"/.\n{data}\n{data / fm.FILES['train_images']}\n"
    monkeypatch.setattr(fm.shutil, "which", lambda name: "/usr/bin/dpkg")
    monkeypatch.setattr(fm.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout=listing, stderr=""))
    assert fm.find_data_dir() == data


# --- the sample, built on demand ---------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_rebuild_only_fashion_loads_and_checks_the_data(tmp_path, data, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SAMPLES", raising=False)
    out = tmp_path / "built"
    code, stdout, stderr = run_cli("rebuild-samples", "--out", str(out), "--only", "fashion",
                                   "--data-dir", str(data))
    assert code == 0, stderr
    assert sorted(p.name for p in (out / "fashion").iterdir()) == [
        "SOURCE.md", "manifest.json", "model.safetensors", "preprocessing.json"]
    manifest = json.loads((out / "fashion" / "manifest.json").read_text())
    assert set(manifest["data"]["files"]) == set(fm.FILES.values())
    assert manifest["data"]["train_size"] == 60 and manifest["metrics"]["n_records"] == 80
    assert manifest["architecture"]["batchnorm"] is True
    sample = workbench.load_sample("fashion", root=out, data_dir=data)
    assert sample.records.recipe.epochs == manifest["recipe"]["epochs"]
    assert sample.records.reported_test_accuracy == manifest["metrics"]["test_accuracy"]
    code, stdout, _ = run_cli("samples", "--root", str(out), "--include", "fashion")
    assert code == 2  # the committed three are not in this folder
    # a changed data file is caught on load
    fm.write_idx(data / fm.FILES["test_labels"], np.zeros(20, dtype=np.uint8))
    with pytest.raises(IntegrityError, match="t10k-labels"):
        workbench.load_sample("fashion", root=out, data_dir=data)


def test_rebuild_include_refuses_before_training_without_data(tmp_path, nowhere, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SAMPLES", raising=False)
    out = tmp_path / "out"
    code, _, stderr = run_cli("rebuild-samples", "--out", str(out), "--include", "fashion")
    assert code == 2 and "not installed" in stderr and "apt-get install" in stderr
    assert not out.exists()  # nothing trained, nothing written


def test_unbuilt_fashion_sample_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="rebuild-samples --replace --only fashion"):
        workbench.load_sample("fashion", root=tmp_path)


# --- the scale benchmark: growth fit and bad input ---------------------------------------


def test_growth_exponent_recovers_power_laws():
    sizes = [7500, 15000, 30000, 60000]
    assert scale.growth_exponent(sizes, [2e-4 * n for n in sizes]) == pytest.approx(1.0)
    assert scale.growth_exponent(sizes, [3.0] * 4) == pytest.approx(0.0, abs=1e-12)
    assert scale.growth_exponent(sizes, [n ** 0.5 for n in sizes]) == pytest.approx(0.5)
    # failed runs (NaN) are left out; one size left is no fit
    assert scale.growth_exponent(sizes, [1.0, float("nan"), 4.0, 8.0]) == pytest.approx(1.0)
    assert math.isnan(scale.growth_exponent([7500], [1.0]))
    assert math.isnan(scale.growth_exponent(sizes, [float("nan")] * 4))


@pytest.fixture
def no_training(monkeypatch):
    """Fail loudly if the benchmark gets as far as training anything."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started despite bad input")
    monkeypatch.setattr(scale, "original_model", refuse)
    monkeypatch.setattr(scale, "run_cell", refuse)


def test_scale_refuses_a_size_larger_than_the_dataset(tmp_path, capsys, no_training):
    data = write_dataset(tmp_path / "data", n_train=200)
    assert scale.main(["--data-dir", str(data), "--sizes", "100", "201"]) == 2
    error = capsys.readouterr().err
    assert "size(s) [201] are not possible" in error and "has 200 training images" in error


def test_scale_refuses_a_missing_data_dir(tmp_path, capsys, no_training):
    assert scale.main(["--data-dir", str(tmp_path / "absent")]) == 2
    assert "apt-get install -y dataset-fashion-mnist" in capsys.readouterr().err


def test_scale_without_install_refuses(nowhere, capsys, no_training):
    assert scale.main(["--no-install"]) == 2
    assert "not installed" in capsys.readouterr().err


def test_scale_cannot_install_without_apt(nowhere, monkeypatch, capsys, no_training):
    monkeypatch.setattr(scale.shutil, "which", lambda name: None)
    assert scale.main([]) == 2
    assert "apt-get is not available" in capsys.readouterr().err


def test_scale_reports_a_failed_install(nowhere, monkeypatch, capsys, no_training):
    calls = []

    def failing(command, **kwargs):
        calls.append(command[1:])
        return subprocess.CompletedProcess(command, 100, stdout="",
                                           stderr="E: Unable to locate package")
    monkeypatch.setattr(scale.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(scale.subprocess, "run", failing)
    assert scale.main([]) == 2
    error = capsys.readouterr().err
    assert "did not install it (E: Unable to locate package)" in error and "--data-dir" in error
    assert [c[0] for c in calls] == ["install", "update", "install"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_scale_refuses_cuda_without_cuda(data, capsys, no_training):
    assert scale.main(["--device", "cuda", "--data-dir", str(data)]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_scale_refuses_an_unknown_baseline_or_parameter(data, capsys, no_training):
    assert scale.main(["--data-dir", str(data), "--baselines", "nope"]) == 2
    assert "unknown unlearning method 'nope'" in capsys.readouterr().err
    assert scale.main(["--data-dir", str(data), "--params", '{"synthetic": {"stepz": 3}}']) == 2
    assert "stepz" in capsys.readouterr().err


@pytest.mark.slow
def test_scale_runs_end_to_end_on_a_tiny_dataset(tmp_path, monkeypatch, capsys):
    data = write_dataset(tmp_path / "data", n_train=200, n_test=40)
    monkeypatch.setenv("WORKBENCH_SAMPLES", str(tmp_path / "samples"))
    fast = {"synthetic": {"steps": 6, "min_steps": 0, "proxies": 64, "inversion_steps": 2}}
    out = tmp_path / "cells.json"
    assert scale.main(["--data-dir", str(data), "--sizes", "100", "200", "--epochs", "1",
                       "--baselines", "ssd", "--cache", str(tmp_path / "cache"),
                       "--params", json.dumps(fast), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "### N = 200 / class" in printed and "| synthetic | random_1 |" in printed
    result = json.loads(out.read_text())
    assert set(result["cells"]) == {"100/random_1", "100/class", "200/random_1", "200/class"}
    assert result["cells"]["200/random_1"]["forget_size"] == 2
    assert set(result["exponents"]) >= {"retrain/random_1", "synthetic/class", "ssd/class"}
    # --epochs differs from the recipe: the 200 original is cached, never the sample folder
    assert not (tmp_path / "samples" / "fashion").exists()


class FlatHeadCNN(torch.nn.Module):
    """Not a workbench model: its head ``fc`` reads flat features ``(N, 8)``."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5, stride=4), torch.nn.ReLU(),
                                        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.body(x))


def test_head_path_on_flat_features_takes_the_image_learning_rate(data):
    torch.manual_seed(0)
    model = FlatHeadCNN().eval()
    table = fm.fashion_table(data_dir=data, card=ModelCard(test_accuracy=0.5))
    forget = table.select(ids=table.members().ids[:6])
    fast = {"steps": 10, "min_steps": 100, "proxies": 64, "inversion_steps": 2}

    def run(**extra):
        return workbench.unlearn_model(model, forget, method="synthetic", params={**fast, **extra})

    auto = run()
    assert auto.declared_inputs["updated"] == "head"  # 28x28 images: the head alone
    assert auto.weights_sha256 == run(lr=0.01).weights_sha256 != run(lr=0.03).weights_sha256
