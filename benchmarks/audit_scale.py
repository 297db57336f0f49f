"""Audit cost against table size for a 1-record request (issue 16, "Scale").

A synthetic tabular task (scikit-learn's ``make_classification``, generated, no download) of N
rows, half members; an MLP trained on the members; one member forgotten (the unlearned model
is a copy of the original: the cost, not the verdict, is measured here). Prints, per N, the
wall time of ``unlearn_model(method="synthetic")``, of ``audit_model`` with its defaults and
no gold
standard, and the peak resident memory of the process (``ru_maxrss``, monotone, so run one N
per process).

    OMP_NUM_THREADS=1 python benchmarks/audit_scale.py --rows 100000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import make_classification

import workbench as wb
from workbench.models import TabularMLP
from workbench.training import train_classifier


def table_of(rows: int, seed: int) -> wb.RecordTable:
    x, y = make_classification(n_samples=rows, n_features=20, n_informative=10,
                               random_state=seed)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    frame["id"] = [f"r{i}" for i in range(rows)]
    frame["y"] = y
    frame["member"] = np.arange(rows) % 2 == 0
    return wb.RecordTable.from_frame(frame, id_column="id", label_column="y",
                                     member_column="member", name=f"synthetic-{rows}",
                                     recipe=wb.TrainRecipe(epochs=3, lr=1e-3, batch_size=256))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    table = table_of(args.rows, args.seed)
    members = table.members()
    model = train_classifier(TabularMLP(20, 2), members.inputs(), members.labels(),
                             table.recipe, seed=args.seed)
    forget = table.select(ids=[members.ids[7]])
    start = time.perf_counter()
    result = wb.unlearn_model(model, forget, method="synthetic", seed=args.seed)
    unlearn_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as cache:
        options = wb.AuditOptions(seed=args.seed, training=wb.TrainingOptions(cache_dir=cache))
        start = time.perf_counter()
        wb.audit_model(model, result, records=table, forget=forget, options=options)
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        wb.audit_model(model, result, records=table, forget=forget, options=options)
        warm_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| rows | unlearn s | audit cold s | audit warm s | peak RSS MiB |")
    print("|---|---|---|---|---|")
    print(f"| {args.rows} | {unlearn_s:.2f} | {cold_s:.1f} | {warm_s:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
