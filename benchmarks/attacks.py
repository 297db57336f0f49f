"""Benchmark: how strong are the audit's membership attacks, and what does a full audit cost?

    python benchmarks/attacks.py                        # the reported run
    python benchmarks/attacks.py --samples credit --references 4 8 --threads 2

Part 1 attacks each sample's original model, training members vs held-out records, with
LOSS, offline RMIA and offline LiRA (K shadow models each), and prints AUC and TPR at
1% / 0.1% FPR with 95% bootstrap intervals. Part 2 audits a random 5% forget set of the
erasure sample (seed 0): the original, the default synthetic unlearning and the retrain
gold standard, with the wall time of ``audit_model`` on a cold and on a warm shadow-model
cache.
Prints markdown tables. Reference models are cached under ``--cache-dir`` (default: a fresh
temporary folder, so the cold timing is really cold).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from workbench import load_sample
from workbench.audit import (
    AttackOptions,
    AuditOptions,
    TrainingOptions,
    attack_metrics,
    attack_scores,
    audit_model,
    record_signals,
)
from workbench.audit.attacks import FIXED_VARIANCE_BELOW, tune_rmia_a
from workbench.audit.shadow import shadow_models
from workbench.unlearn import unlearn_model

ATTACKS = ("loss", "rmia", "lira")


def fmt(value: float, ci: tuple[float, float] | None = None) -> str:
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def attack_strength(name: str, count: int, cache: Path, workers: int | None) -> list[str]:
    """Rows of table 1 for one sample and one number of shadow models."""
    sample = load_sample(name)
    table = sample.records
    start = time.perf_counter()
    refs = shadow_models(sample.model, table, count=count,
                         training=TrainingOptions(cache_dir=cache, workers=workers))
    ref_time = time.perf_counter() - start
    ref_signals = refs.signals(table)
    target = record_signals(sample.model, table)
    member = table.frame["member"].to_numpy(dtype=bool)
    tuned = tune_rmia_a(ref_signals)
    options = AttackOptions(population=np.flatnonzero(~member),
                            rmia_a=0.5 if tuned is None else tuned,
                            lira_fixed_variance=count // 2 < FIXED_VARIANCE_BELOW)
    rows = []
    for attack in ATTACKS:
        m = attack_metrics(attack_scores(attack, target, ref_signals, options), member, seed=0)
        note = {"loss": "-", "rmia": f"a={options.rmia_a}", "lira": "fixed variance"}[attack]
        rows.append(f"| {name} | {count} | {attack} | {fmt(m.auc, m.auc_ci)} | "
                    f"{fmt(m.tpr_at_1pct_fpr, m.tpr_at_1pct_fpr_ci)} | "
                    f"{fmt(m.tpr_at_01pct_fpr)} | {note} |")
    trained = "cached" if refs.from_cache else f"trained in {ref_time:.1f} s"
    rows[0] = rows[0][:-2] + f"; refs {trained} |"
    return rows


def erasure(name: str, count: int, cache: Path, workers: int | None) -> list[str]:
    """Table 2 (per attack and model) and the audit timings, for a random 5% forget set."""
    sample = load_sample(name)
    table = sample.records
    members = np.array(table.members().ids)
    picked = np.random.default_rng(0).choice(members, int(round(0.05 * len(members))),
                                             replace=False)
    forget = table.select(ids=picked)
    unlearned = unlearn_model(sample.model, forget, device="cpu")
    gold = unlearn_model(sample.model, forget, method="retrain", retain=table.retain_for(forget),
                         device="cpu")
    options = AuditOptions(shadow_models=count,
                           training=TrainingOptions(cache_dir=cache, workers=workers))
    timings = []
    for _ in ("cold", "warm"):
        start = time.perf_counter()
        result = audit_model(sample.model, unlearned, records=table, forget=forget,
                             gold_standard=gold, options=options)
        timings.append(time.perf_counter() - start)
    lines = [f"\n### Erasure audit: {name}, random 5% forget set ({len(forget)} records, "
             f"seed 0), {count} reference models\n",
             "| attack | model | AUC forget vs held-out [95% CI] | TPR@1%FPR [95% CI] |",
             "|---|---|---|---|"]
    for attack in ATTACKS:
        for model in ("original", "unlearned", "gold_standard"):
            m = result.metrics(attack, model)
            lines.append(f"| {attack} | {model} | {fmt(m.auc, m.auc_ci)} | "
                         f"{fmt(m.tpr_at_1pct_fpr, m.tpr_at_1pct_fpr_ci)} |")
    lines += ["", "| test | status | difference [95% CI] | compared to |", "|---|---|---|---|"]
    for v in result.verdicts:
        lines.append(f"| {v.test} | {v.status}{' (over-forgetting)' if v.over_forgetting else ''}"
                     f" | {v.difference:+.3f} [{v.interval[0]:+.3f}, {v.interval[1]:+.3f}] | "
                     f"{v.compared_to} |")
    lines.append(f"\nOverall: **{result.overall}**; {result.flags.n_flagged} forgotten records "
                 f"flagged by {result.flags.attack} (gold standard: "
                 f"{result.flags.n_flagged_gold_standard}, by chance: "
                 f"{result.flags.expected_by_chance:.1f}).")
    lines.append(f"\nFull audit wall time: {timings[0]:.1f} s with a cold reference cache "
                 f"(trains {count} models), {timings[1]:.1f} s warm.")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", nargs="+", default=["clinic", "credit"])
    parser.add_argument("--references", nargs="+", type=int, default=[4, 16])
    parser.add_argument("--erasure-sample", default="clinic")
    parser.add_argument("--erasure-references", type=int, default=4)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="workbench-bench-") as scratch:
        cache = args.cache_dir or Path(scratch)
        print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
              f"{args.threads} thread(s), cache {cache}\n")
        print("### Attack strength: original model, training members vs held-out\n")
        print("| sample | K refs | attack | AUC [95% CI] | TPR@1%FPR [95% CI] | TPR@0.1%FPR "
              "| notes |")
        print("|---|---|---|---|---|---|---|")
        for name in args.samples:
            for count in args.references:
                print("\n".join(attack_strength(name, count, cache, args.workers)), flush=True)
        if args.erasure_sample:
            erasure_cache = Path(tempfile.mkdtemp(dir=scratch)) if args.cache_dir is None \
                else args.cache_dir / "erasure"
            print("\n".join(erasure(args.erasure_sample, args.erasure_references, erasure_cache,
                                    args.workers)))


if __name__ == "__main__":
    main()
