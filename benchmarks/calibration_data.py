"""Collect the per-record signals behind the audit-calibration benchmark.

    OMP_NUM_THREADS=1 python benchmarks/calibration_data.py --samples clinic \
        --scenarios random_5 --requests 30 --out benchmarks/.calibration

For every random request (seeds printed) it trains ``--retrains`` retrains with distinct
seeds through the executor (``--executor``; one serves as the independent "perfect erasure"
candidate, the rest as the gold ensemble; the report rotates them), runs every registered
method once, and saves, for the untouched original, each retrain and each method, the LOSS /
RMIA / LiRA scores and the correctness of every record of the table
(``<sample>-<scenario>-<seed>.npz``). The decision rule is applied afterwards by
``benchmarks/audit_calibration.py`` with the library's own verdict functions, so the rule
can be measured without retraining anything. An existing file is skipped, so an interrupted
run resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from workbench import load_sample
from workbench.audit.attacks import (
    DEFAULT_RMIA_A,
    FIXED_VARIANCE_BELOW,
    AttackOptions,
    attack_scores,
    tune_rmia_a,
)
from workbench.audit.gold import training_mask
from workbench.audit.options import TrainingOptions
from workbench.audit.sets import audit_sets
from workbench.audit.shadow import shadow_models
from workbench.audit.signals import record_signals
from workbench.device import resolve_device
from workbench.executor import TrainData, TrainJob, train_models
from workbench.unlearn import available_methods, get_unlearner, unlearn_model

sys.path.insert(0, str(Path(__file__).parent))
from unlearning import SCENARIOS, forget_set  # noqa: E402  (one definition of a request)

FIRST_SEED = 20_000  # request seeds 20000, 20001, ...: never used to tune any method


def retrain_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, k, 7]).generate_state(1)[0] % 2**31)


def collect(sample, scenario: str, seed: int, n_retrains: int, cache: Path,
            executor: str | None = None, methods: list[str] | None = None,
            device: str = "cpu") -> dict:
    table = sample.records
    forget = forget_set(table, scenario, seed)
    sets = audit_sets(table, forget, class_matched=True)
    refs = shadow_models(sample.model, table,
                         training=TrainingOptions(cache_dir=cache, executor=executor,
                                                  device=device))
    ref_signals = refs.signals(table)
    tuned = tune_rmia_a(ref_signals)
    options = AttackOptions(population=sets.population,
                            rmia_a=DEFAULT_RMIA_A if tuned is None else tuned,
                            lira_fixed_variance=refs.count // 2 < FIXED_VARIANCE_BELOW)
    models, times, failed = {"original": sample.model}, {}, []
    rows = training_mask(table, forget)  # each is unlearn_model(method="retrain", seed=...)
    jobs = [TrainJob(f"retrain {k}", rows, retrain_seed(seed, k), retrain_seed(seed, k))
            for k in range(n_retrains)]
    retrains = train_models(TrainData.from_table(sample.model, table, table.recipe,
                                                 device=device), jobs, executor=executor)
    for k, (model, out) in enumerate(zip(retrains.models, retrains.outputs, strict=True)):
        models[f"retrain_{k}"], times[f"retrain_{k}"] = model, out.seconds
    for method in available_methods() if methods is None else methods:
        cls = get_unlearner(method)
        if method == "retrain" or (cls.class_level_only and not forget.is_class_request):
            continue
        try:
            result = unlearn_model(sample.model, forget, method=method, seed=seed,
                                   device=device, retain="auto")
        except (ValueError, RuntimeError) as error:
            print(f"  {method} failed: {error}", flush=True)
            failed.append(method)
            continue
        models[method], times[method] = result.model, result.wall_time_s
    arrays = {"forget": sets.forget}
    for name, model in models.items():
        sig = record_signals(model, table, name=name)
        arrays[f"correct/{name}"] = sig.correct
        for attack in ("loss", "rmia", "lira"):
            arrays[f"{attack}/{name}"] = attack_scores(attack, sig, ref_signals, options)
    meta = {"sample": sample.name, "scenario": scenario, "seed": seed,
            "forget_count": len(forget), "times": times, "failed": failed,
            "rmia_a": options.rmia_a, "retrain_seeds": [retrain_seed(seed, k)
                                                        for k in range(n_retrains)]}
    return {"arrays": arrays, "meta": meta}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", nargs="+", default=["clinic", "credit", "digits"])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--retrains", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/.calibration"))
    parser.add_argument("--cache", type=Path, default=Path(".workbench_cache"))
    parser.add_argument("--executor", default=None,
                        help="inprocess, local, local:N, ray or a Ray address "
                             "(default: $WORKBENCH_EXECUTOR, else local)")
    parser.add_argument("--device", default="cpu",
                        help="where the retrains, shadow models and methods run (cpu, cuda)")
    parser.add_argument("--methods", nargs="*", default=None,
                        help="methods to run besides the retrains (default: every registered "
                             "one; none: the retrains and the original only)")
    args = parser.parse_args(argv)
    try:  # CUDA asked for where there is none, or a misspelt device: said before any work
        resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.samples:
        sample = load_sample(name)
        for scenario in args.scenarios:
            for seed in range(args.first_seed, args.first_seed + args.requests):
                path = args.out / f"{name}-{scenario}-{seed}.npz"
                if path.exists():
                    continue
                start = time.perf_counter()
                data = collect(sample, scenario, seed, args.retrains, args.cache,
                               args.executor, args.methods, args.device)
                tmp = path.with_suffix(".tmp.npz")
                np.savez_compressed(tmp, meta=json.dumps(data["meta"]), **data["arrays"])
                tmp.rename(path)
                print(f"{name} {scenario} seed {seed}: |F|={data['meta']['forget_count']} "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
