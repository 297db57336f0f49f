"""Benchmark: the per-record forget score F (NeurIPS 2023 challenge) at affordable N.

    OMP_NUM_THREADS=1 python benchmarks/forget_score.py --samples credit --scenarios random_5 \
        --requests 2 --n 8 16 32 64

Both sides are drawn over training randomness: ``N`` originals trained from scratch with
different seeds, each unlearned by a method, against ``N`` retrains (both trained through
the executor, ``--executor``). The first column is the estimator's own floor: a second,
disjoint set of ``N`` retrains scored against the first (``retrain'``), which a perfect
estimator would put at 1. Then ``untouched`` (the originals themselves, not unlearned) and
every method at the largest ``N``. Request seeds are those of ``calibration_data.py``
(20000, ...).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from workbench import load_sample
from workbench.audit.epsilon import forget_score, original_models, per_example_epsilon
from workbench.audit.gold import gold_standard
from workbench.audit.options import TrainingOptions
from workbench.audit.sets import audit_sets
from workbench.audit.signals import record_signals
from workbench.unlearn import available_methods, get_unlearner, unlearn_model

sys.path.insert(0, str(Path(__file__).parent))
from calibration_data import FIRST_SEED, forget_set  # noqa: E402


def phi(models, table, positions) -> np.ndarray:
    """``(N, n)`` logit-scaled confidences of ``models`` on the rows ``positions``."""
    return np.stack([record_signals(m, table).scaled_confidence[positions] for m in models])


def score(a: np.ndarray, b: np.ndarray) -> float:
    return forget_score(per_example_epsilon(a, b), len(a))


def run(sample, scenario: str, seed: int, sizes: list[int], cache: Path,
        executor: str | None = None) -> dict[str, str]:
    table = sample.records
    forget = forget_set(table, scenario, seed)
    positions = audit_sets(table, forget).forget
    top = max(sizes)
    retrains = gold_standard(sample.model, forget, count=2 * top, seed=seed,
                             training=TrainingOptions(cache_dir=cache, executor=executor)).models
    r1, r2 = phi(retrains[:top], table, positions), phi(retrains[top:], table, positions)
    row = {f"retrain' N={n}": f"{score(r2[:n], r1[:n]):.3f}" for n in sizes}
    originals = original_models(sample.model, table, count=top, seed=seed, cache_dir=cache,
                                executor=executor)
    row["untouched"] = f"{score(phi(originals, table, positions), r1):.3f}"
    for method in available_methods():
        cls = get_unlearner(method)
        if method == "retrain" or (cls.class_level_only and not forget.is_class_request):
            continue
        try:
            models = [unlearn_model(o, forget, method=method, seed=seed + i, device="cpu",
                                    retain="auto").model
                      for i, o in enumerate(originals)]
        except (ValueError, RuntimeError) as error:
            row[method] = f"failed ({str(error)[:40]})"
            continue
        row[method] = f"{score(phi(models, table, positions), r1):.3f}"
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", nargs="+", default=["credit"])
    parser.add_argument("--scenarios", nargs="+", default=["random_5"])
    parser.add_argument("--requests", type=int, default=2)
    parser.add_argument("--n", nargs="+", type=int, default=[8, 16, 32, 64])
    parser.add_argument("--cache", type=Path, default=Path(".workbench_cache"))
    parser.add_argument("--executor", default=None,
                        help="where originals and retrains train: inprocess, local, local:N, "
                             "ray or a Ray address (default: $WORKBENCH_EXECUTOR, else local)")
    args = parser.parse_args(argv)
    print(f"# forget score F, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for name in args.samples:
        sample = load_sample(name)
        for scenario in args.scenarios:
            for seed in range(FIRST_SEED, FIRST_SEED + args.requests):
                start = time.perf_counter()
                row = run(sample, scenario, seed, sorted(args.n), args.cache, args.executor)
                if seed == FIRST_SEED:
                    print("\n| request | " + " | ".join(row) + " |")
                    print("|---" * (len(row) + 1) + "|")
                print(f"| {name}/{scenario}/{seed} | " + " | ".join(row.values())
                      + f" |  <!-- {time.perf_counter() - start:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
