"""The ``workbench`` command: listing samples, and rebuilding them into a new folder."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from pathlib import Path

import pytest

import workbench
from workbench.atomic import current_umask
from workbench.cli import main

SHIPPED = Path(workbench.__file__).resolve().parents[1] / "sample_models"
SAMPLE_NAMES = ("clinic", "credit", "digits")

# A rebuild retrains each model from its committed records with the manifest's seed. On the
# machine that built the shipped models it reproduces the metrics exactly; on another CPU, BLAS
# build or thread count the float summation order (and so the weights) may drift a little.
# Allowed drift between a rebuilt model's metrics and the shipped manifest's:
REBUILD_ACCURACY_TOL = 0.03  # train and test accuracy, absolute
REBUILD_MIA_AUC_TOL = 0.03  # loss-threshold membership AUC, absolute


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """All three samples rebuilt once, through the CLI, into a fresh folder (~5-10 s)."""
    out = tmp_path_factory.mktemp("rebuild") / "samples"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WORKBENCH_SAMPLES", raising=False)
        code, stdout, stderr = run_cli("rebuild-samples", "--out", str(out))
    assert code == 0, stderr
    return out, stdout


def shipped_manifest(name: str) -> dict:
    return json.loads((SHIPPED / name / "manifest.json").read_text())


@pytest.fixture(autouse=True)
def _no_samples_env(monkeypatch):
    monkeypatch.delenv("WORKBENCH_SAMPLES", raising=False)


# --- samples ------------------------------------------------------------------------------


def test_samples_lists_the_three_with_metrics(capsys):
    assert main(["samples"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "domain"]
    assert "loss-MIA AUC" in lines[0]
    assert len(lines) == 4
    for line, name in zip(lines[1:], SAMPLE_NAMES, strict=True):
        manifest = shipped_manifest(name)
        m = manifest["metrics"]
        assert line.split() == [name, manifest["domain"], str(m["n_records"]),
                                f"{m['train_accuracy']:.3f}", f"{m['test_accuracy']:.3f}",
                                f"{m['loss_mia_auc']:.3f}"]


def test_samples_reads_the_given_root(capsys, copy_samples):
    root = copy_samples()
    path = root / "credit" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"]["test_accuracy"] = 0.1234
    path.write_text(json.dumps(manifest))
    assert main(["samples", "--root", str(root)]) == 0
    credit_line = next(line for line in capsys.readouterr().out.splitlines()
                       if line.startswith("credit"))
    assert " 0.123 " in credit_line


def test_samples_missing_root_is_an_error_not_a_traceback(capsys, tmp_path):
    assert main(["samples", "--root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workbench: error: ")
    assert "manifest.json does not exist" in err


def test_interrupt_exits_130(capsys, monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("workbench.cli.list_samples", interrupted)
    assert main(["samples"]) == 130
    assert "interrupted" in capsys.readouterr().err


# --- rebuild-samples: refusals ------------------------------------------------------------


def test_rebuild_needs_out_or_replace(capsys):
    with pytest.raises(SystemExit) as info:
        main(["rebuild-samples"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "one of the arguments --out --replace is required" in err


def test_rebuild_out_and_replace_together(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["rebuild-samples", "--out", str(tmp_path / "x"), "--replace"])
    assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_rebuild_only_unknown_name(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["rebuild-samples", "--out", str(tmp_path / "x"), "--only", "mnist"])
    assert info.value.code == 2
    assert "invalid choice: 'mnist'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_rebuild_refuses_a_non_empty_folder(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["rebuild-samples", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out} already exists and is not an empty folder" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_rebuild_refuses_before_writing_anything(capsys, tmp_path):
    """An existing last sample must not leave the first ones half-built."""
    out = tmp_path / "out"
    (out / "digits").mkdir(parents=True)
    assert main(["rebuild-samples", "--out", str(out)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["digits"]
    assert list((out / "digits").iterdir()) == []


def test_rebuild_refuses_a_file_as_out(capsys, tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    assert main(["rebuild-samples", "--out", str(out)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert out.read_text() == "x"


@pytest.mark.parametrize("spelling", ["direct", "dotdot", "symlink"])
def test_rebuild_refuses_the_shipped_folder(capsys, tmp_path, spelling):
    target = {"direct": SHIPPED, "dotdot": SHIPPED / "clinic" / "..",
              "symlink": tmp_path / "link"}[spelling]
    if spelling == "symlink":
        target.symlink_to(SHIPPED, target_is_directory=True)
    assert main(["rebuild-samples", "--out", str(target), "--only", "credit"]) == 2
    err = capsys.readouterr().err
    assert "holds the shipped sample models; pass --replace" in err
    # the session guard in conftest also checks sample_models/ is unchanged


def test_rebuild_api_needs_a_target():
    with pytest.raises(ValueError, match=r"give an output folder \(--out DIR\)"):
        workbench.samples.rebuild_samples(None)


# --- rebuild-samples: the result ----------------------------------------------------------


def test_rebuild_writes_exactly_the_three_folders(rebuilt):
    out, stdout = rebuilt
    assert sorted(p.name for p in out.iterdir()) == list(SAMPLE_NAMES)  # no staging leftovers
    for name in SAMPLE_NAMES:
        assert sorted(p.name for p in (out / name).iterdir()) == [
            "SOURCE.md", "manifest.json", "model.safetensors", "preprocessing.json",
            "records.csv.gz"]
        line = next(line for line in stdout.splitlines() if line.startswith(f"{name}: "))
        assert json.loads(line.split(": ", 1)[1]) == json.loads(
            (out / name / "manifest.json").read_text())["metrics"]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_rebuild_reproduces_the_manifest(rebuilt, name):
    out, _ = rebuilt
    new = json.loads((out / name / "manifest.json").read_text())
    old = shipped_manifest(name)
    for key in ("name", "title", "domain", "architecture", "recipe", "seed", "features",
                "input_shape", "data_sha256", "notes"):
        assert new[key] == old[key], key
    # preprocessing is fitted without randomness: byte-identical
    assert new["files"]["preprocessing"]["sha256"] == old["files"]["preprocessing"]["sha256"]
    assert (out / name / "records.csv.gz").read_bytes() == \
        (SHIPPED / name / "records.csv.gz").read_bytes()
    for key in ("n_records", "n_members", "n_held_out"):
        assert new["metrics"][key] == old["metrics"][key]
    for key in ("train_accuracy", "test_accuracy"):
        assert new["metrics"][key] == pytest.approx(old["metrics"][key], abs=REBUILD_ACCURACY_TOL)
    assert new["metrics"]["loss_mia_auc"] == pytest.approx(old["metrics"]["loss_mia_auc"],
                                                           abs=REBUILD_MIA_AUC_TOL)
    # the unseen profile is rebuilt too (its medians within a logit of the shipped ones)
    for key in ("margins", "smoothed_margins", "expected_margins"):
        assert new["metrics"]["unseen_profile"][key][49] == pytest.approx(
            old["metrics"]["unseen_profile"][key][49], abs=1.0)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_rebuilt_sample_loads_and_verifies(rebuilt, name):
    out, _ = rebuilt
    sample = workbench.load_sample(name, root=out)
    assert sample.manifest["weights_state_sha256"] == workbench.weights_sha256(sample.model)
    assert sample.records.ids == workbench.load_sample(name, root=SHIPPED).records.ids


def test_rebuilt_files_have_normal_permissions(rebuilt):
    out, _ = rebuilt
    file_mode, dir_mode = 0o666 & ~current_umask(), 0o777 & ~current_umask()
    assert file_mode != 0o600 and dir_mode != 0o700
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (dir_mode if path.is_dir() else file_mode), path


def test_rebuild_only_one_into_an_empty_existing_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run_cli("rebuild-samples", "--out", str(out), "--only", "credit")
    assert code == 0, stderr
    assert [p.name for p in out.iterdir()] == ["credit"]
    assert stdout.startswith("credit: ")
