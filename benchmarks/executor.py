"""Benchmark: the same shadow-model batch on every executor backend.

    OMP_NUM_THREADS=1 python benchmarks/executor.py --samples clinic digits --count 16

For each sample, ``--count`` shadow models (the audit's: same masks and seeds as
``shadow_models(..., count=16)``) train in this process, in ``--workers`` local
processes and on a local Ray cluster (``ray.init(num_cpus=--workers)``). Printed per
backend: wall time, speed-up over this process, the summed training time inside the jobs,
the overhead per job (``(wall * workers - summed training) / jobs``: start-up, transfer and
idle worker time per job) and whether every weight hash equals the in-process one. Then the
cost of moving a Fashion-MNIST-sized payload (70,000 x 1 x 28 x 28 float32, random) to
workers, and the install size and import time of the ``[ray]`` extra. Nothing is cached or
written.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from workbench import load_sample
from workbench.audit.shadow import member_fraction, membership_masks, shadow_jobs
from workbench.executor import InProcess, LocalProcesses, RayCluster, TrainData, train_models
from workbench.models import build_model
from workbench.records import TrainRecipe

FASHION = {"name": "cnn", "in_channels": 1, "height": 28, "width": 28, "channels": [16, 32],
           "hidden": 128, "batchnorm": True, "num_classes": 10}


def noop(shared, job) -> int:
    """A job that only touches the payload (for the transfer measurement)."""
    return int(shared.labels[job])


def backends(workers: int) -> list:
    return [InProcess(), LocalProcesses(workers=workers), RayCluster(num_cpus=workers)]


def shadow_rows(name: str, count: int, workers: int, seed: int) -> list[str]:
    sample = load_sample(name)
    table = sample.records
    data = TrainData.from_table(sample.model, table, table.recipe)
    member = membership_masks(len(table), count, seed, member_fraction(table))
    jobs = shadow_jobs(member, seed)
    rows, reference, alone = [], None, None
    for executor in backends(workers):
        start = time.perf_counter()
        batch = train_models(data, jobs, executor=executor)
        wall = time.perf_counter() - start
        trained = sum(out.seconds for out in batch.outputs)
        used = 1 if executor.name == "inprocess" else workers
        reference = reference or batch.weights_sha256
        alone = alone or wall
        same = "yes" if batch.weights_sha256 == reference else "**no**"
        rows.append(f"| {name} | {executor.name} ({used}) | {count} | {wall:.1f} | "
                    f"{alone / wall:.2f} | "
                    f"{trained:.1f} | {(wall * used - trained) / count:.2f} | "
                    f"{len({out.worker for out in batch.outputs})} | {same} |")
        print(rows[-1], flush=True)
    return rows


def transfer(workers: int) -> list[str]:
    """Seconds to deliver a fashion-sized payload: a batch of no-op jobs with and without it."""
    images = np.random.default_rng(0).random((70_000, 1, 28, 28), dtype=np.float32)
    labels = np.zeros(70_000, dtype=np.int64)
    recipe = TrainRecipe(epochs=4, lr=1e-3, batch_size=128)
    big = TrainData(build_model(FASHION), images, labels, recipe)
    small = TrainData(build_model(FASHION), images[:10], labels[:10], recipe)
    start = time.perf_counter()
    blob = pickle.dumps(big, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.loads(blob)
    out = [f"- payload {len(blob) / 2**20:.0f} MiB; pickle dump + load in one process "
           f"{time.perf_counter() - start:.2f} s"]
    print(out[-1], flush=True)
    for executor in backends(workers)[1:]:
        seconds = {}
        for label, data in (("tiny", small), ("fashion", big)):
            start = time.perf_counter()
            executor.map(noop, data, list(range(2 * workers)))
            seconds[label] = time.perf_counter() - start
        out.append(f"- {executor.name} ({workers} workers): {2 * workers} no-op jobs "
                   f"{seconds['tiny']:.2f} s with a 10-image payload, {seconds['fashion']:.2f} s "
                   f"with the fashion-sized one (+{seconds['fashion'] - seconds['tiny']:.2f} s)")
        print(out[-1], flush=True)
    return out


def ray_extra() -> list[str]:
    """Installed size of ray and the packages it added here, and ``import ray`` time."""
    sizes = []
    for name in ("ray", "click", "msgpack", "protobuf"):
        files = importlib.metadata.distribution(name).files or []
        total = sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file())
        sizes.append(f"{name} {importlib.metadata.version(name)} {total / 2**20:.0f} MiB")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ray"], check=True)
        times.append(time.perf_counter() - start)
    base = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    base = time.perf_counter() - base
    return [f"- installed: {', '.join(sizes)}",
            f"- `import ray` in a fresh interpreter: {', '.join(f'{t:.2f}' for t in times)} s "
            f"(an empty interpreter: {base:.2f} s)"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", nargs="+", default=["clinic", "digits"])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"# executor benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.node()} ({platform.machine()}), torch {torch.__version__}, "
          f"command: {' '.join(sys.argv)}", flush=True)
    import ray

    start = time.perf_counter()
    RayCluster(num_cpus=args.workers).connect()
    print(f"- local Ray cluster start (ray.init, num_cpus={args.workers}): "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    print("\n| sample | backend (workers) | models | wall s | speed-up | training s (sum) | "
          "overhead s/job | worker processes | hashes = inprocess |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in args.samples:
        shadow_rows(name, args.count, args.workers, args.seed)
    print("\n**Moving a fashion-sized payload**", flush=True)
    transfer(args.workers)
    ray.shutdown()
    print("\n**The [ray] extra**")
    print("\n".join(ray_extra()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
