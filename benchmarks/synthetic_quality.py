"""How often an unlearning method's erasure PASSes the calibrated audit, next to a retrain's.

    OMP_NUM_THREADS=1 python benchmarks/synthetic_quality.py --data benchmarks/.calibration \
        --pattern "c*-random_5-*" --method synthetic --params '{"steps": 300}'

Reads the requests that ``benchmarks/calibration_data.py`` collected (the untouched original,
9 retrains with their per-record attack scores), runs ``--method`` (with ``--params``) on each
request's original, scores it exactly as that script scores its candidates, and judges it
with the library's verdict functions against an ensemble of 8 of the retrains; the ninth,
and in turn every retrain against the 8 others, gives an independent retrain's rates. Prints,
per sample and scenario: PASS / INCONCLUSIVE / FAIL of the erasure verdict for the method and
for an independent retrain, their ratio, which erasure tests failed and in which direction,
the test-accuracy change against the original (mean and worst request) and the run time.
Tune on requests collected with other seeds than the ones you report (``--first-seed``).

Several ``--data`` folders are pooled. Each rate comes with a 95% interval (Wilson for P,
bootstrap over requests for the P ratio and the per-record gap closed:
``quality_stats.py``), and each row says how many held-out records flipped between right and
wrong, which sets how widely the test-accuracy change spreads. ``--json`` keeps every row;
``--tables`` prints the table again from such files (pooled), running nothing.
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
from scipy import stats

from workbench.audit.attacks import FIXED_VARIANCE_BELOW, AttackOptions, attack_scores
from workbench.audit.checks import Judging, comparisons, verdicts
from workbench.audit.options import TrainingOptions
from workbench.audit.sets import audit_sets
from workbench.audit.shadow import shadow_models
from workbench.audit.signals import record_signals
from workbench.audit.verdict import ERASURE, FAIL, VerdictConfig, group_status
from workbench.device import resolve_device
from workbench.unlearn import unlearn_model

sys.path.insert(0, str(Path(__file__).parent))
from audit_calibration import load_request  # noqa: E402  (one reader of the collected data)
from quality_stats import (  # noqa: E402
    below_every,
    gap_closed,
    lost_share,
    ratio_interval,
    retrain_below_every,
    wilson,
)

ATTACKS = ("loss", "rmia", "lira")
GOLD_COUNT = 8
ERASURE_TESTS = ("mia_forget_loss", "mia_forget_rmia", "mia_forget_lira", "forget_accuracy")


def score_candidate(sample, table, forget, model, meta: dict,
                    cache: Path) -> tuple[dict, np.ndarray]:
    """Per-record attack scores ``{attack: (N,)}`` and correctness ``(N,)`` of ``model``, with
    the shadow models and options the collected request was scored with."""
    refs = shadow_models(sample.model, table, training=TrainingOptions(cache_dir=cache))
    sets = audit_sets(table, forget, class_matched=True)
    options = AttackOptions(population=sets.population, rmia_a=meta["rmia_a"],
                            lira_fixed_variance=refs.count // 2 < FIXED_VARIANCE_BELOW)
    sig = record_signals(model, table, name="candidate")
    ref_signals = refs.signals(table)
    return ({a: attack_scores(a, sig, ref_signals, options) for a in ATTACKS},
            np.asarray(sig.correct))


def candidate_scores(request: tuple, samples: dict, method: str, params: dict, cache: Path,
                     stored: bool, device: str = "cpu") -> tuple[dict, np.ndarray, float] | None:
    """``(scores by attack, correctness, seconds)`` of ``method`` on one request (as
    ``load_request`` returns it): run now on the request's original, or (``stored``) as
    calibration_data.py saved it (None: absent)."""
    meta, table, forget, scores, correct = request
    if stored:
        if method not in correct:
            return None
        return ({a: scores[a][method] for a in ATTACKS}, correct[method],
                meta["times"].get(method, float("nan")))
    sample = samples[meta["sample"]]
    result = unlearn_model(sample.model, forget, method=method, seed=meta["seed"], device=device,
                           retain="auto", params=params or None)
    cand_scores, cand_correct = score_candidate(sample, table, forget, result.model, meta, cache)
    return cand_scores, cand_correct, result.wall_time_s


def judge_request(request: tuple, candidates: dict[str, tuple],
                  config: VerdictConfig) -> list[dict]:
    """One row per candidate (name -> ``candidate_scores``) judged on one request (as
    ``load_request`` returns it; its score tables gain the candidates)."""
    meta, table, forget, scores, correct = request
    for name, (cand_scores, cand_correct, _) in candidates.items():
        for attack in ATTACKS:
            scores[attack][f"candidate {name}"] = cand_scores[attack]
        correct[f"candidate {name}"] = cand_correct
    sets = audit_sets(table, forget, class_matched=False)
    resampled = comparisons(sets, config, meta["seed"])
    measured: dict = {}
    retrains = sorted(m for m in correct if m.startswith("retrain_"))

    def judge(candidate: str, gold: list[str]) -> tuple[str, list[str], dict[str, float]]:
        named = {a: {**by, "unlearned": by[candidate]} for a, by in scores.items()}
        tests = verdicts(named, {**correct, "unlearned": correct[candidate]}, sets, gold,
                         config, meta["seed"], resampled,
                         judging=Judging(candidate=candidate, measured=measured))
        erasure = [v for v in tests if v.group == ERASURE]
        failed = [f"{v.test}{'-' if v.difference < 0 else '+'}" for v in erasure
                  if v.status == FAIL]
        return group_status(tests, ERASURE), failed, {v.test: band_share(v) for v in erasure}

    retrain_status = [judge(r, [g for g in retrains if g != r][:GOLD_COUNT])[0]
                      for r in retrains]
    phi = {name: scaled_confidence(by[sets.forget]) for name, by in scores["loss"].items()}

    def per_record(candidate: str, gold: list[str]) -> float:
        return outside_share(phi[candidate], np.stack([phi[g] for g in gold]))

    test_rows = sets.test

    def change(name: str) -> float:
        return float(100 * (correct[name][test_rows].mean()
                            - correct["original"][test_rows].mean()))

    def flipped(name: str) -> int:  # test records right under one model, wrong under the other
        return int((correct[name][test_rows] != correct["original"][test_rows]).sum())

    common = {"sample": meta["sample"], "scenario": meta["scenario"], "seed": meta["seed"],
              "forget_count": meta["forget_count"], "retrain_status": retrain_status,
              "retrain_test_change": [change(r) for r in retrains],
              "test_count": len(test_rows), "retrain_flipped": [flipped(r) for r in retrains],
              "retrain_outside": retrain_outside(np.stack([phi[r] for r in retrains])),
              "original_outside": per_record("original", retrains[:GOLD_COUNT]),
              "retrain_forget_acc": float(np.mean([correct[r][sets.forget].mean()
                                                   for r in retrains]))}
    rows = []
    for name, (_, _, seconds) in candidates.items():
        status, failed, shares = judge(f"candidate {name}", retrains[:GOLD_COUNT])
        rows.append({**common, "method": name, "status": status, "failed": failed,
                     "band_share": shares, "test_change": change(f"candidate {name}"),
                     "flipped": flipped(f"candidate {name}"),
                     "seconds": seconds,
                     "outside": per_record(f"candidate {name}", retrains[:GOLD_COUNT]),
                     "forget_acc": float(correct[f"candidate {name}"][sets.forget].mean())})
    return rows


def band_share(verdict) -> float:
    """The difference from the gold standard as a share of the band on its side (signed: +1
    is the upper edge, -1 the lower edge)."""
    low, high = verdict.allowed
    edge = high if verdict.difference >= 0 else (None if low is None else -low)
    return float(verdict.difference / edge) if edge else float("nan")


def scaled_confidence(loss_scores: np.ndarray) -> np.ndarray:
    """``log p - log(1 - p)`` of the true label from LOSS scores (``-loss``, ``p = e^-loss``)."""
    loss = np.maximum(-loss_scores, 1e-12)
    return -loss - np.log(-np.expm1(-loss))


def outside_share(candidate: np.ndarray, gold: np.ndarray) -> float:
    """Per-record test: the share of records whose scaled confidence under ``candidate``
    ``(n,)`` lies outside the 95% prediction interval of the ``K`` gold models ``(K, n)``
    (per record: mean +- t(K-1) x SD x sqrt(1 + 1/K)). An independent retrain lands outside
    on about 5%, by construction; a model that still remembers the records, on many more."""
    k = len(gold)
    half = stats.t.ppf(0.975, k - 1) * gold.std(0, ddof=1) * np.sqrt(1 + 1 / k)
    return float(np.mean(np.abs(candidate - gold.mean(0)) > half))


def retrain_outside(gold: np.ndarray) -> list[float]:
    """:func:`outside_share` of each of the ``K`` retrains ``(K, n)`` against the first
    ``GOLD_COUNT`` of the others: what an independent retrain scores (about 5%)."""
    return [outside_share(gold[k], np.delete(gold, k, 0)[:GOLD_COUNT]) for k in range(len(gold))]


def rate(statuses: list[str], status: str) -> float:
    return sum(s == status for s in statuses) / len(statuses) if statuses else float("nan")


def print_table(rows: list[dict]) -> None:
    """One line per sample, scenario and method. P comes with its Wilson 95% interval, the P
    ratio and the per-record gap closed with bootstrap 95% intervals over requests (seed 0);
    *flipped*: test records whose correctness differs from the original's (mean per request),
    which sets how widely the test-accuracy change spreads (about sqrt(flipped) / test
    records); *below every gold model*: requests whose test change is worse than each of the 8
    gold models' (an independent retrain against the other 8: about 1/9)."""
    cells = collections.defaultdict(list)
    for row in rows:
        cells[(row["sample"], row["scenario"], row["method"])].append(row)
    print("\n| sample / scenario | \\|F\\| | requests | method: P [95%] / I / F "
          "| retrain: P / I / F | P ratio [95%] | failed tests (count) "
          "| mean share of the band (loss, rmia, lira, acc) "
          "| forget acc (retrain) | records outside the retrains' 95% (retrain) "
          "| per-record gap closed [95%] "
          "| test change mean / worst (points; retrain) | > 1 pt lost (retrain) "
          "| below every gold model (retrain) | test records flipped (retrain) "
          "| seconds mean / max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (sample, scenario, method), group in sorted(cells.items()):
        mine = [r["status"] for r in group]
        theirs = [s for r in group for s in r["retrain_status"]]
        failed = collections.Counter(t for r in group for t in r["failed"])
        low, high = wilson(sum(s == "PASS" for s in mine), len(mine))
        ratio, r_low, r_high = ratio_interval([s == "PASS" for s in mine],
                                              [[s == "PASS" for s in r["retrain_status"]]
                                               for r in group])
        closed, closed_low, closed_high = gap_closed(group)
        changes = [r["test_change"] for r in group]
        per_request = [r["retrain_test_change"] for r in group]
        theirs_change = [d for changes_of in per_request for d in changes_of]
        seconds = [r["seconds"] for r in group]
        print(f"| {sample} / {scenario} | {group[0]['forget_count']} | {len(group)} | "
              f"{method}: {rate(mine, 'PASS'):.2f} [{low:.2f}, {high:.2f}] / "
              + " / ".join(f"{rate(mine, s):.2f}" for s in ("INCONCLUSIVE", "FAIL"))
              + " | " + " / ".join(f"{rate(theirs, s):.2f}"
                                   for s in ("PASS", "INCONCLUSIVE", "FAIL"))
              + f" | {ratio:.2f} [{r_low:.2f}, {r_high:.2f}] | "
              + (", ".join(f"{t} {n}" for t, n in failed.most_common()) or "-") + " | "
              + ", ".join(f"{np.nanmean([r['band_share'].get(t, np.nan) for r in group]):+.2f}"
                          for t in ERASURE_TESTS)
              + f" | {np.mean([r['forget_acc'] for r in group]):.3f} "
              f"({np.mean([r['retrain_forget_acc'] for r in group]):.3f})"
              f" | {np.mean([r['outside'] for r in group]):.3f} "
              f"({np.mean([o for r in group for o in r['retrain_outside']]):.3f})"
              f" | {closed:.2f} [{closed_low:.2f}, {closed_high:.2f}]"
              f" | {np.mean(changes):+.2f} / {min(changes):+.2f} "
              f"({np.mean(theirs_change):+.2f} / {min(theirs_change):+.2f})"
              f" | {lost_share(changes):.2f} ({lost_share(theirs_change):.2f})"
              f" | {below_every(changes, [g[:GOLD_COUNT] for g in per_request]):.2f}"
              f" ({retrain_below_every(per_request):.2f})"
              f" | {np.mean([r.get('flipped', np.nan) for r in group]):.1f} "
              f"({np.mean([f for r in group for f in r.get('retrain_flipped', [np.nan])]):.1f})"
              f" of {group[0].get('test_count', '?')}"
              f" | {np.mean(seconds):.2f} / {max(seconds):.2f} |")
    sys.stdout.flush()


def duplicates(keys) -> list:
    """The keys that occur more than once, in order of first repeat."""
    counts = collections.Counter(keys)
    return [key for key, n in counts.items() if n > 1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("benchmarks/.calibration")],
                        help="folders of collected requests; several are pooled")
    parser.add_argument("--pattern", default="*", help="glob over <sample>-<scenario>-<seed>")
    parser.add_argument("--method", default="synthetic", help="the method run now")
    parser.add_argument("--params", type=json.loads, default={}, help="its params, JSON")
    parser.add_argument("--stored", nargs="*", default=[],
                        help="methods judged from the scores the data files saved for them "
                             "(each as it was when they were collected; 'original': the "
                             "untouched model); --method none runs nothing now")
    parser.add_argument("--min-forget", type=int, default=25,
                        help="skip requests with fewer forgotten records (never PASS)")
    parser.add_argument("--cache", type=Path, default=Path(".workbench_cache"))
    parser.add_argument("--device", default="cpu", help="where --method runs (cpu, cuda)")
    parser.add_argument("--json", type=Path, default=None, help="also write every row here")
    parser.add_argument("--tables", type=Path, nargs="+", default=None,
                        help="print the table of rows written before with --json (pooled), "
                             "and run nothing")
    args = parser.parse_args(argv)
    try:  # CUDA asked for where there is none, or a misspelt device: said before any work
        resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    if args.tables:
        rows = [row for path in args.tables for row in json.loads(path.read_text())]
        twice = duplicates((r["sample"], r["scenario"], r["seed"], r["method"]) for r in rows)
        if twice:
            parser.error(f"{len(twice)} row(s) appear twice in --tables, e.g. {twice[0]}: "
                         "pooling a request twice narrows every interval; pass each file once")
        print_table(rows)
        return 0
    paths = [Path(p) for folder in args.data
             for p in sorted(glob.glob(str(folder / f"{args.pattern}.npz")))
             if not p.endswith(".tmp.npz")]
    twice = duplicates(path.stem for path in paths)
    if twice:
        parser.error(f"request {twice[0]} is in more than one --data folder: pooling it twice "
                     "narrows every interval; give each request once")
    label = args.method + (f" {json.dumps(args.params)}" if args.params else "")
    print(f"# {label}, stored {args.stored}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f", data {' '.join(map(str, args.data))}, pattern {args.pattern}")
    config, samples, rows = VerdictConfig(), {}, []
    for path in paths:
        meta = json.loads(str(np.load(path)["meta"]))
        if meta["forget_count"] < args.min_forget:
            continue
        request = load_request(path, samples)
        candidates = {}
        if args.method != "none":
            candidates[label] = candidate_scores(request, samples, args.method, args.params,
                                                 args.cache, stored=False, device=args.device)
        for method in args.stored:
            found = candidate_scores(request, samples, method, {}, args.cache, stored=True)
            if found is not None:
                candidates[f"{method} (stored)"] = found
        for row in judge_request(request, candidates, config):
            rows.append(row)
            print(f"{path.stem} {row['method']}: {row['status']} {' '.join(row['failed'])} band "
                  + " ".join(f"{row['band_share'].get(t, np.nan):+.2f}" for t in ERASURE_TESTS)
                  + f" test {row['test_change']:+.2f} {row['seconds']:.2f} s", flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
