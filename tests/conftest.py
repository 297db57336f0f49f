"""Shared fixtures: the shipped sample models (read-only) and writable copies of them.

Every test that damages or rewrites a sample works on a copy under ``tmp_path``; the
session-wide guard below fails the run if anything under ``sample_models/`` changed.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

import workbench

# Trained models (shadow models, gold standards), ledger entries and signing keys go to a fresh
# folder for the whole run, never the user's: a stale entry there must not change a test, and
# tests must not fill it. Set before any kernel starts, so notebooks under nbval inherit it.
_CACHE = tempfile.mkdtemp(prefix="workbench-test-cache-")
os.environ["WORKBENCH_CACHE"] = _CACHE
os.environ["WORKBENCH_LEDGER"] = str(Path(_CACHE) / "ledger.sqlite")  # never the user's ledger
os.environ["WORKBENCH_KEY"] = str(Path(_CACHE) / "keys" / "test-key.pem")  # nor their key
os.environ["WORKBENCH_VAULT"] = str(Path(_CACHE) / "vault")  # nor their vault
os.environ["WORKBENCH_VAULT_KEYS"] = str(Path(_CACHE) / "vault-keys")
os.environ.pop("WORKBENCH_WITNESS", None)
# Models train in this process or local workers unless a test picks a backend itself.
os.environ.pop("WORKBENCH_EXECUTOR", None)
os.environ.pop("WORKBENCH_RAY_ADDRESS", None)
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
# Under pytest-xdist (pyproject's `-n auto`) every worker runs torch on one thread, and so do
# the kernels and command-line runs it starts: oversubscribed torch threads run many times
# slower. (torch is imported already, so the variables reach only the child processes.)
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

REPO = Path(workbench.__file__).resolve().parents[1]
SHIPPED = REPO / "sample_models"
SAMPLE_NAMES = ("clinic", "credit", "digits")
TABULAR = ("clinic", "credit")


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (files) or "<dir>" (folders), for everything under ``root``.

    Hashed with hashlib directly, not workbench.hashing, so the guard does not depend on
    the code under test.
    """
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


@pytest.fixture(scope="session", autouse=True)
def shipped_samples_unchanged():
    """Fail the session if any test added, removed or changed a file in sample_models/."""
    before = _snapshot(SHIPPED)
    assert {f"{n}/manifest.json" for n in SAMPLE_NAMES} <= set(before), \
        f"{SHIPPED} does not hold the three sample models"
    yield
    after = _snapshot(SHIPPED)
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    assert not (changed or added or removed), (
        f"tests modified the shipped sample_models/: changed={changed} added={added} "
        f"removed={removed}")


@pytest.fixture(scope="session")
def samples() -> dict[str, workbench.Sample]:
    """The three shipped samples, loaded once. Treat as read-only (deepcopy a model to edit it)."""
    return {name: workbench.load_sample(name, root=SHIPPED) for name in SAMPLE_NAMES}


@pytest.fixture
def copy_samples(tmp_path: Path) -> Callable[..., Path]:
    """``copy_samples("credit", ...)`` copies those sample folders into a fresh root, returned."""
    root = tmp_path / "samples"

    def copy(*names: str) -> Path:
        for name in names or SAMPLE_NAMES:
            shutil.copytree(SHIPPED / name, root / name)
        return root

    return copy


def write_records_gz(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(frame.to_csv(index=False, lineterminator="\n").encode())
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def rewrite_records() -> Callable[[Path, Callable[[pd.DataFrame], pd.DataFrame]], Path]:
    """``rewrite_records(folder, edit)``: apply ``edit`` to a copied sample's records and re-sign
    the manifest (so the hash check passes and the loader reaches the records themselves).
    Returns the records path."""

    def rewrite(folder: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
        assert SHIPPED not in folder.resolve().parents, "never rewrite the shipped samples"
        path = folder / "records.csv.gz"
        frame = edit(pd.read_csv(path, dtype={"record_id": str}))
        write_records_gz(frame, path)
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest["files"]["records"]["sha256"] = digest
        manifest["data_sha256"] = digest
        manifest_path.write_text(json.dumps(manifest, indent=2))
        return path

    return rewrite


@pytest.fixture
def register_for_test() -> Iterator[Callable[[type], str]]:
    """``register_for_test(cls)``: register an unlearner class for this test only; it is taken
    out of the registry afterwards (and checked gone). Returns its name."""
    from workbench.unlearn import available_methods, base, register_unlearner

    added: list[str] = []

    def add(cls: type) -> str:
        register_unlearner(cls)
        added.append(cls.name)
        return cls.name

    yield add
    for name in added:
        base._REGISTRY.pop(name, None)
    assert not set(added) & set(available_methods())


# Under pytest-xdist (pyproject: `--dist loadfile`) a file runs on one worker from start to end.
# Its scheduler hands out files in collection order (`--no-loadscope-reorder`), so the longest
# ones go first: started last, one of them would keep one core busy while the other idles.
# Measured with `--durations` on the 2-core VM; every other file keeps its place.
LONGEST_FIRST = ("test_notebooks_browser.py", "02_audit_verification.ipynb",
                 "03_teaching_forgetting.ipynb", "01_erasure_request.ipynb", "test_executor.py",
                 "test_cli.py", "test_evidence_cli.py", "test_pipeline.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable
