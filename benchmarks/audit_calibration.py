"""Benchmark: is the audit's verdict calibrated? PASS / INCONCLUSIVE / FAIL per candidate.

    OMP_NUM_THREADS=1 python benchmarks/calibration_data.py          # models and signals
    python benchmarks/audit_calibration.py --gold 8                  # the verdicts

For every random request collected by ``calibration_data.py`` (30 per sample and scenario,
request seeds 20000-20029, printed) and every candidate (an independent retrain, the
untouched original, ``synthetic`` and every other registered method), the library's own
verdict function (:func:`workbench.audit.checks.verdicts`, what ``audit_model()`` runs) judges
the erasure question three ways: against ``--gold`` retrains (the calibrated ensemble),
against one retrain, and without a gold standard (held-out non-members). Each of the nine
retrains of a request serves in turn as the independent candidate, judged against ``K`` of
the other eight. Rates are over requests (retrain rows: over requests x 9 rotations).

Targets (scenarios with at least 25 forgotten records): an independent retrain FAILed at
most 5% and INCONCLUSIVE at most 25% of the time; the untouched original FAILed at least
95% of the time.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np

from workbench import load_sample
from workbench.audit.checks import Judging, comparisons, verdicts
from workbench.audit.sets import audit_sets
from workbench.audit.verdict import COLLATERAL, ERASURE, UTILITY, VerdictConfig, group_status

MODES = ("ensemble", "one gold", "no gold")
STATUS = ("PASS", "INCONCLUSIVE", "FAIL")


def load_request(path: Path, samples: dict):
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    if meta["sample"] not in samples:
        samples[meta["sample"]] = load_sample(meta["sample"])
    table = samples[meta["sample"]].records
    if meta["scenario"] == "class":
        forget = table.select(classes=[meta["seed"] % table.num_classes])
    else:
        forget = table.select(ids=[table.ids[i] for i in data["forget"]])
    names = sorted({k.split("/", 1)[1] for k in data.files if k.startswith("loss/")})
    scores = {a: {m: data[f"{a}/{m}"] for m in names} for a in ("loss", "rmia", "lira")}
    correct = {m: data[f"correct/{m}"] for m in names}
    return meta, table, forget, scores, correct


def judge(path: Path, samples: dict, gold_count: int, config: VerdictConfig) -> dict:
    """{mode: {candidate: [(erasure, collateral, utility), ...]}} for one request."""
    meta, table, forget, scores, correct = load_request(path, samples)
    retrains = sorted(m for m in correct if m.startswith("retrain_"))
    others = [m for m in correct if not m.startswith("retrain_")]
    out: dict = {mode: collections.defaultdict(list) for mode in MODES}
    for matched in (False, True):
        sets = audit_sets(table, forget, class_matched=matched)
        resampled = comparisons(sets, config, meta["seed"])
        measured: dict = {}

        def groups(candidate, gold, sets=sets, resampled=resampled, measured=measured):
            named = {a: {**by, "unlearned": by[candidate]} for a, by in scores.items()}
            tests = verdicts(named, {**correct, "unlearned": correct[candidate]}, sets, gold,
                             config, meta["seed"], resampled,
                             judging=Judging(candidate, measured))
            return tuple(group_status(tests, g) for g in (ERASURE, COLLATERAL, UTILITY))

        for candidate in retrains + others:
            pool = [r for r in retrains if r != candidate]
            row = "retrain" if candidate in retrains else candidate
            if matched:
                out["no gold"][row].append(groups(candidate, []))
            else:
                out["ensemble"][row].append(groups(candidate, pool[:gold_count]))
                out["one gold"][row].append(groups(candidate, pool[:1]))
    return {"meta": meta, "verdicts": out}


def rates(rows: list[tuple[str, str, str]], index: int = 0) -> dict[str, float]:
    counts = collections.Counter(r[index] for r in rows)
    return {s: counts[s] / len(rows) for s in STATUS} if rows else {}


def print_tables(results: list[dict], gold_count: int) -> None:
    cells = collections.defaultdict(list)
    for r in results:
        cells[(r["meta"]["sample"], r["meta"]["scenario"])].append(r)
    for (sample, scenario), requests in sorted(cells.items()):
        n_forget = requests[0]["meta"]["forget_count"]
        seeds = [r["meta"]["seed"] for r in requests]
        print(f"\n### {sample} / {scenario}: |F| = {n_forget}, {len(requests)} requests "
              f"(seeds {min(seeds)}-{max(seeds)})\n")
        print(f"| candidate | ensemble of {gold_count}: P / I / F | one gold: P / I / F "
              "| no gold: P / I / F | collateral FAIL | utility FAIL (ensemble) |")
        print("|---|---|---|---|---|---|")
        candidates = list(requests[0]["verdicts"]["ensemble"])
        for cand in candidates:
            cols = []
            for mode in MODES:
                rows = [v for r in requests for v in r["verdicts"][mode].get(cand, [])]
                rr = rates(rows)
                cols.append(" / ".join(f"{rr[s]:.2f}" for s in STATUS) if rr else "-")
            rows = [v for r in requests for v in r["verdicts"]["ensemble"].get(cand, [])]
            cols.append(f"{rates(rows, 1).get('FAIL', float('nan')):.2f}")
            cols.append(f"{rates(rows, 2).get('FAIL', float('nan')):.2f}")
            print(f"| {cand} | " + " | ".join(cols) + " |")
        sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/.calibration"))
    parser.add_argument("--gold", type=int, default=8, help="ensemble size K (at most 8)")
    parser.add_argument("--pattern", default="*", help="glob over <sample>-<scenario>-<seed>")
    parser.add_argument("--json", type=Path, default=None, help="also write every verdict here")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(str(args.data / f"{args.pattern}.npz")))
    paths = [Path(p) for p in paths if not p.endswith(".tmp.npz")]
    config = VerdictConfig()
    print(f"# audit calibration, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{len(paths)} requests, ensemble K = {args.gold}, {config.n_bootstrap} bootstrap "
          f"replicates\n\n{config.rule}")
    samples: dict = {}
    results = [judge(p, samples, args.gold, config) for p in paths]
    print_tables(results, args.gold)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
