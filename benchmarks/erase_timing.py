"""Benchmark: how long one full erasure takes, with an empty and with a warm model cache.

    python benchmarks/erase_timing.py                  # clinic, credit, digits; 5% requests

One request per sample (a random 5% of the training records, seed 20000; the digits class
request too), run through the pipeline exactly as ``workbench erase`` runs it (``synthetic``,
an 8-model gold standard, LOSS + RMIA + LiRA with 4 shadow models, evidence written and
appended to a scratch ledger, PDF by matplotlib). "cold": an empty cache, so the gold standard
and the shadow models are trained. "warm": the same request again with both cached (the purge
that ends a real erasure is skipped here so the second run can find them). Per stage:
unlearning, gold standard, audit (of which shadow models), evidence.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from workbench import load_sample
from workbench.pipeline import (
    ErasureRequest,
    EvidenceOptions,
    Selection,
    run_request,
    write_evidence,
)

sys.path.insert(0, str(Path(__file__).parent))
from unlearning import forget_set  # noqa: E402


def one_run(request: ErasureRequest, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    outcome = run_request(request)
    clock = time.perf_counter()
    write_evidence(outcome, out, ledger=out.parent / "ledger.sqlite",
                   options=EvidenceOptions(pdf_renderer="matplotlib"), purge=False)
    shadows = outcome.audit.shadow_models
    shadow = shadows.train_time_s if shadows else 0.0
    return {**outcome.timings_s, "of which shadow models": shadow,
            "evidence": time.perf_counter() - clock, "total": time.perf_counter() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", nargs="+", default=["clinic", "credit", "digits"])
    parser.add_argument("--scenarios", nargs="+", default=["random_5"])
    args = parser.parse_args(argv)
    print(f"# erase timing, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| request | cache | unlearn s | gold standard s | audit s | of which shadow models s "
          "| evidence s | total s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.samples:
        sample = load_sample(name)
        for scenario in args.scenarios:
            forget = forget_set(sample.records, scenario, 20_000)
            selection = (Selection.of_classes([sample.records.schema.classes[c]
                                               for c in forget.classes])
                         if forget.is_class_request else Selection.by_ids(forget.ids))
            with tempfile.TemporaryDirectory() as scratch:
                request = ErasureRequest(model=sample.model, table=sample.records,
                                         selection=selection, cache_dir=Path(scratch) / "cache",
                                         model_name=name, records_source=f"sample:{name}")
                for cache, folder in (("cold", "a"), ("warm", "b")):
                    t = one_run(request, Path(scratch) / folder)
                    print(f"| {name}/{scenario} (|F| = {len(forget)}) | {cache} | "
                          f"{t['unlearn']:.1f} | {t.get('gold standard', 0):.1f} | "
                          f"{t['audit']:.1f} | {t['of which shadow models']:.1f} | "
                          f"{t['evidence']:.1f} | {t['total']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
