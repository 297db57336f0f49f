"""How close can a data-free target come to what retraining gives each forgotten record?

    OMP_NUM_THREADS=1 python benchmarks/target_predictors.py --data benchmarks/.tuning \
        --pattern "credit-random_10-*"

The per-record test of ``synthetic_quality.py`` asks whether each forgotten record's scaled
confidence (``log p - log(1 - p)`` of its label) under the unlearned model lies inside the
95% prediction interval of 8 retrains. A data-free method must *predict* that value from
what it can see: the original model on the record and around it. This script scores
predictors of it on collected requests (``calibration_data.py``):

- **features** the method can compute: the original's scaled confidence on the record, and
  its smoothed margin (logits averaged over the card's ``smoothing_draws`` neighbours) at
  several multiples of the model card's smoothing noise;
- **data-free predictors**: the card's expected margin at the record's rank among the
  members (``UnseenProfile.expected_at``), the card's margin map (``MarginMap.predict`` of the
  record's margin, smoothed margin and two gradient norms: ``workbench.margin_features``), and
  the target ``synthetic`` fits (``_profile_targets``; from this script's own neighbour draws,
  so the same distribution as the method's target, not the same values);
- **oracle reference fits**: maps of the features fitted, by least squares, to the
  retrains' mean on every *other* request, leaving out the predicted request's records
  wherever they appear (``quality_stats.held_out_fits``): affine, and boosted trees
  (scikit-learn, seeded). They read the answer, so they say how well such a map of these
  features predicts a retrain. They are a reference, not a bound: they minimise squared
  error, not the share outside, and a method could use other information.

Prints, per sample and scenario, the share of records outside the retrains' interval for
each predictor (the original and an independent retrain for scale), and the per-record gap
closed ``(original - predictor) / (original - retrain)`` that each would reach if the
unlearned model hit its prediction exactly. Card values are margins (the label's logit less
the other's), which equal the scaled confidence on two-class models only; the script
refuses other tables.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor

from workbench.audit.sets import audit_sets
from workbench.margin_features import map_features
from workbench.metrics import true_class_margin
from workbench.neighbours import smoothed_logits
from workbench.unlearn.synthetic_data import _profile_targets

sys.path.insert(0, str(Path(__file__).parent))
from audit_calibration import load_request  # noqa: E402  (one reader of the collected data)
from quality_stats import held_out_fits, share_closed  # noqa: E402
from synthetic_quality import (  # noqa: E402
    GOLD_COUNT,
    outside_share,
    retrain_outside,
    scaled_confidence,
)

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # multiples of the card's smoothing noise
ORIGINAL, RETRAIN = "original (untouched)", "independent retrain"


def request_features(request: tuple, samples: dict, scales=SCALES) -> dict[str, np.ndarray]:
    """Per forgotten record ``(n,)`` (table order): its table ``position``, every feature and
    predictor, the retrains' mean ``gold_mean``, their scaled confidences ``gold``
    ``(K, n)`` and the untouched original's ``original``. (Stored scaled confidences are
    capped near 27.6 by the loss's 1e-12 floor; the smoothed features are not.)"""
    meta, table, forget, scores, _ = request
    if 1.0 not in scales:
        raise ValueError(f"target_predictors: scales {scales} lack 1.0, the card's own noise, "
                         "which ranks each record for the card's predictors; add 1.0")
    profile = table.reported_unseen_profile
    if table.num_classes != 2 or profile is None or profile.expected_margins is None:
        raise ValueError(f"{meta['sample']}: target_predictors needs a two-class table whose "
                         "card has an unseen profile with expected margins (card margins are "
                         "scaled confidences there); re-pack the model to measure one")
    positions = audit_sets(table, forget, class_matched=False).forget  # sorted: table order
    retrains = sorted((m for m in scores["loss"] if m.startswith("retrain_")),
                      key=lambda name: int(name.split("_")[1]))
    gold = np.stack([scaled_confidence(scores["loss"][m][positions]) for m in retrains])
    ordered = forget.in_table_order()
    x, y = ordered.inputs(), ordered.labels()
    model = samples[meta["sample"]].model.eval()
    generator = torch.Generator().manual_seed(meta["seed"])
    out = {"original": scaled_confidence(scores["loss"]["original"][positions]), "gold": gold,
           "position": np.asarray(positions), "gold_mean": gold[:GOLD_COUNT].mean(0)}
    for scale in scales:
        logits = smoothed_logits(model, x, profile.smoothing_sigma * scale, table.input_space,
                                 generator, profile.smoothing_draws)
        out[f"smoothed x{scale:g}"] = true_class_margin(logits, y).double().numpy()
    smoothed_margin = out["smoothed x1"]  # at the card's own noise: what ranks the record
    features = map_features(model, x, torch.as_tensor(y), torch.as_tensor(smoothed_margin))
    out["log weight gradient"], out["log input gradient"] = features[:, 2], features[:, 3]
    out["card expected margin"] = profile.expected_at(smoothed_margin)
    if profile.margin_map is not None:
        out["card margin map"] = profile.margin_map.predict(features, np.asarray(y))
    out["synthetic's target"] = _profile_targets(profile, smoothed_margin, features,
                                                 np.asarray(y))
    return out


def cell_table(requests: list[dict[str, np.ndarray]], scales=SCALES) -> dict[str, float]:
    """``{predictor: share of records outside the retrains' 95%}`` over one cell's requests
    (each as :func:`request_features` returns it)."""
    def outside(predictions: list[np.ndarray]) -> float:
        return float(np.mean([outside_share(p, r["gold"][:GOLD_COUNT])
                              for p, r in zip(predictions, requests, strict=True)]))

    def oracle(names: list[str], regressor=None) -> float:
        features = [np.column_stack([r[n] for n in names]) for r in requests]
        return outside(held_out_fits(features, [r["gold_mean"] for r in requests], regressor,
                                     keys=[r["position"] for r in requests]))

    smoothed = [f"smoothed x{s:g}" for s in scales]
    every = ["original", *smoothed]
    shares = {ORIGINAL: outside([r["original"] for r in requests]),
              RETRAIN: float(np.mean([retrain_outside(r["gold"]) for r in requests])),
              "card expected margin (data-free)":
                  outside([r["card expected margin"] for r in requests]),
              "synthetic's target (data-free)":
                  outside([r["synthetic's target"] for r in requests])}
    if all("card margin map" in r for r in requests):
        shares["card margin map (data-free)"] = outside([r["card margin map"] for r in requests])
    shares |= {f"oracle affine: {n}": oracle([n]) for n in every}
    shares["oracle affine: original + smoothed x1"] = oracle(["original", "smoothed x1"])
    shares["oracle affine: every feature"] = oracle(every)
    gradients = ["log weight gradient", "log input gradient"]
    if all(g in r for r in requests for g in gradients):
        shares["oracle affine: original + smoothed x1 + gradients"] = oracle(
            ["original", "smoothed x1", *gradients])
        shares["oracle affine: every feature + gradients"] = oracle(every + gradients)
    shares["oracle boosted trees: every feature"] = oracle(every, partial(
        HistGradientBoostingRegressor, max_iter=200, random_state=0))
    return shares


def gap_closed(share: float, shares: dict[str, float]) -> float:
    """The per-record gap closed by a predictor with ``share`` outside
    (:func:`quality_stats.share_closed`, against the cell's original and retrain)."""
    return float(share_closed(shares[ORIGINAL], share, shares[RETRAIN]))


def print_cell(name: str, requests: list[dict], shares: dict[str, float]) -> None:
    print(f"\n#### {name}: {len(requests)} requests, "
          f"{sum(len(r['original']) for r in requests)} records\n")
    print("| predictor | records outside the retrains' 95% | per-record gap closed |")
    print("|---|---|---|")
    for predictor, share in shares.items():
        print(f"| {predictor} | {share:.3f} | {gap_closed(share, shares):.2f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("benchmarks/.tuning")])
    parser.add_argument("--pattern", default="c*-random_*", help="glob over <sample>-<scenario>-"
                        "<seed>; record requests on two-class samples")
    parser.add_argument("--min-forget", type=int, default=25)
    parser.add_argument("--json", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    paths = sorted(p for folder in args.data for p in glob.glob(str(folder / f"{args.pattern}.npz"))
                   if not p.endswith(".tmp.npz"))
    print(f"# target predictors: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, data "
          f"{' '.join(map(str, args.data))}, pattern {args.pattern}")
    samples: dict = {}
    cells: dict[str, list] = collections.defaultdict(list)
    for path in paths:
        request = load_request(Path(path), samples)
        meta = request[0]
        if meta["forget_count"] >= args.min_forget and meta["scenario"] != "class":
            cells[f"{meta['sample']} / {meta['scenario']}"].append(
                request_features(request, samples))
    tables = {name: cell_table(requests) for name, requests in sorted(cells.items())
              if len(requests) >= 2}
    for name, shares in tables.items():
        print_cell(name, cells[name], shares)
    if args.json:
        args.json.write_text(json.dumps(tables, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
