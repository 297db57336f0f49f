"""The executor: every backend trains the same weights; dead workers, Ctrl-C and unreachable
clusters never leave a partial cache entry. One local Ray cluster (2 CPUs, 127.0.0.1 only)
serves the whole module."""

from __future__ import annotations

import multiprocessing
import socket
import time

import numpy as np
import pytest
import ray
import torch
from audit_toys import toy_model, toy_table
from executor_toys import DiesOnce

from workbench.audit import TrainingOptions, model_cache, shadow_models
from workbench.audit.shadow import membership_masks, shadow_jobs
from workbench.executor import (
    ExecutorError,
    ExecutorUnavailable,
    InProcess,
    LocalProcesses,
    RayCluster,
    TrainData,
    get_executor,
    train_models,
)
from workbench.hashing import weights_sha256

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for this module, shut down after it."""
    executor = RayCluster(num_cpus=2)
    executor.connect()
    yield executor
    ray.shutdown()


@pytest.fixture(scope="module")
def toy():
    table = toy_table(120)
    return table, toy_model(table)


def entries(cache) -> list[str]:
    """Every folder under the cache's reference models, staging folders included."""
    root = cache / "reference-models"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def dies_once(table, marker) -> DiesOnce:
    return DiesOnce(table.input_space.size, table.num_classes, marker)


def test_every_backend_trains_the_same_weights(toy, cluster):
    table, model = toy
    data = TrainData.from_table(model, table, table.recipe)
    jobs = shadow_jobs(membership_masks(len(table), 4, seed=3), 3)
    seen = []
    batches = {ex.name: train_models(data, jobs, executor=ex,
                                     progress=lambda done, total, msg: seen.append(done))
               for ex in (InProcess(), LocalProcesses(workers=2), cluster)}
    hashes = {name: batch.weights_sha256 for name, batch in batches.items()}
    assert hashes["inprocess"] == hashes["local"] == hashes["ray"]
    assert len(set(hashes["inprocess"])) == 4
    assert [weights_sha256(m) for m in batches["ray"].models] == list(hashes["ray"])
    assert seen == [1, 2, 3, 4] * 3  # progress counts each batch as a whole
    assert batches["local"].executor == "local (2 processes)"
    assert {out.worker for out in batches["local"].outputs}.isdisjoint(
        {out.worker for out in batches["inprocess"].outputs})


def test_a_killed_local_worker_is_retried_and_only_whole_entries_are_cached(toy, tmp_path):
    table, _ = toy
    model = dies_once(table, tmp_path / "died")
    with pytest.raises(ExecutorError, match="worker process died 1 time"):
        shadow_models(model, table, count=2, training=TrainingOptions(
            cache_dir=tmp_path, executor=LocalProcesses(workers=2, retries=0)))
    assert (tmp_path / "died").exists() and entries(tmp_path) == []
    (tmp_path / "died").unlink()
    refs = shadow_models(model, table, count=2, training=TrainingOptions(
        cache_dir=tmp_path, executor=LocalProcesses(workers=2, retries=1)))
    assert (tmp_path / "died").exists() and entries(tmp_path) == [refs.path.name]
    # checked on load
    again = shadow_models(model, table, count=2, training=TrainingOptions(cache_dir=tmp_path))
    assert again.from_cache
    assert multiprocessing.active_children() == []


def test_ray_retries_a_task_whose_worker_died(toy, cluster, tmp_path):
    table, _ = toy
    model = dies_once(table, tmp_path / "died")
    refs = shadow_models(model, table, count=2,
                         training=TrainingOptions(cache_dir=tmp_path, executor=cluster))
    assert (tmp_path / "died").exists() and entries(tmp_path) == [refs.path.name]
    plain = shadow_models(model, table, count=2,
                          training=TrainingOptions(cache_dir=tmp_path / "b", executor="inprocess"))
    assert [weights_sha256(m) for m in refs.models] == [weights_sha256(m) for m in plain.models]


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_ctrl_c_cancels_the_batch_and_caches_nothing(toy, cluster, tmp_path, backend):
    table, model = toy
    executor = LocalProcesses(workers=2) if backend == "local" else cluster
    calls = []

    def interrupt(done, total, message):
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shadow_models(model, table, count=6, progress=interrupt,
                      training=TrainingOptions(cache_dir=tmp_path, executor=executor))
    assert calls == [1] and entries(tmp_path) == []
    deadline = time.monotonic() + 15  # ended, not left (a loaded machine reaps them slowly)
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert multiprocessing.active_children() == []


def test_an_unreachable_ray_address_fails_before_any_work(toy, tmp_path, monkeypatch):
    table, model = toy
    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(ExecutorUnavailable, match=f"cluster at {address} cannot be reached"):
        shadow_models(model, table, count=2,
                      training=TrainingOptions(cache_dir=tmp_path, executor=address))
    monkeypatch.setenv("WORKBENCH_RAY_ADDRESS", f"ray://{address}")
    with pytest.raises(ValueError, match="cannot be reached"):  # a ValueError, named
        shadow_models(model, table, count=2, training=TrainingOptions(cache_dir=tmp_path))
    assert not (tmp_path / "reference-models").exists()
    with pytest.raises(ExecutorUnavailable, match="not a Ray address"):
        get_executor("ray://nohost")


def test_one_setting_picks_the_backend(monkeypatch):
    assert get_executor() == LocalProcesses()
    assert get_executor("inprocess") == InProcess() == get_executor(workers=1)
    assert get_executor("local:3") == LocalProcesses(workers=3) == get_executor(workers=3)
    monkeypatch.setenv("WORKBENCH_EXECUTOR", "inprocess")
    assert get_executor() == InProcess()
    assert get_executor("local") == LocalProcesses()  # an argument beats the environment
    for bad in ("threads", "local:0", "local:x"):
        with pytest.raises(ExecutorUnavailable, match="executor"):
            get_executor(bad)
    plan = LocalProcesses()  # automatic: processes only for batches that repay them
    assert plan.plan(2) == 1 and plan.describe(2) == "local (this process)"


def test_a_second_writer_of_the_same_entry_is_discarded(toy, tmp_path):
    table, model = toy
    member = membership_masks(len(table), 2, seed=0)
    first = [toy_model(table, seed=s) for s in (1, 2)]
    folder, key = tmp_path / "reference-models" / "abc", {"data_sha256": "x"}
    model_cache.write_entry(folder, key, "d", member, first)
    model_cache.write_entry(folder, key, "d", member, [toy_model(table, seed=s) for s in (3, 4)])
    loaded, _ = model_cache.load_entry(folder, key, "d", member, model)
    assert [weights_sha256(m) for m in loaded] == [weights_sha256(m) for m in first]
    assert entries(tmp_path) == ["abc"]  # no staging folder left behind
    np.testing.assert_array_equal(member.sum(axis=0), 1)
