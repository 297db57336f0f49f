"""Benchmark: unlearning versus retraining as the training set grows (Fashion-MNIST), CPU or GPU.

    python benchmarks/scale.py                                    # CPU, sizes 7.5k-60k
    python benchmarks/scale.py --sizes 7500 15000                 # a shorter CPU run
    python benchmarks/scale.py --device cuda --data-dir .fashion  # a GPU box without the package

For each training-set size N (members: a seeded, class-stratified subset of the 60,000
training images, nested across sizes; held out: the 10,000 test images) it trains an original
model with the ``fashion`` sample's recipe (at N = 60,000 that model *is* the ``fashion``
sample, built into ``sample_models/fashion/`` when missing), then makes two requests: a random
1% of the members, and one whole class (class = seed mod 10). For each request it runs two
gold standards (``retrain`` with the seed, ``retrain'`` with seed + 1000: their gap is the
noise floor), ``synthetic`` and the baselines (default: ``ssd`` and ``finetune``, the two
fastest of the seven over both requests at N = 7,500 on the CPU; see RESULTS.md), and
reports forget and test accuracy, the loss-threshold MIA AUC (forget vs held-out; held-out
of the same class for a class request), each one's gap to ``retrain``, the wall time and
its share of ``retrain``'s. Last, for each method and request,
the exponent b of a least-squares fit ``time = a * N**b`` (retrain: about 1).

Before any training it checks its input: the dataset (installed with ``apt-get install -y
dataset-fashion-mnist`` when missing and ``--data-dir`` is not given), the sizes (at most the
number of training images) and the device (``--device cuda`` needs CUDA). On CUDA the training
loop runs in bfloat16 autocast with channels-last weights and a fused optimizer (see
``workbench.training.train_classifier``), and one untimed pass of the smallest cell warms
the kernels up first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from workbench.audit.sets import evaluation_sets
from workbench.device import resolve_device
from workbench.metrics import loss_mia_auc, set_accuracy
from workbench.models import load_model, save_model
from workbench.records import ModelCard, RecordTable
from workbench.samples import build_sample, load_sample, samples_root
from workbench.samples import fashion as fm
from workbench.samples.build import architecture_for, train_on_table
from workbench.samples.catalog import sample_spec
from workbench.unlearn import get_unlearner, unlearn_model

SIZES = (7_500, 15_000, 30_000, 60_000)
REQUESTS = ("random_1", "class")
GOLD = ("retrain", "retrain'")
DEFAULT_BASELINES = ("ssd", "finetune")
METRICS = ("forget_acc", "test_acc", "mia_auc")


class SetupError(ValueError):
    """Bad input found before any training: missing data, a bad size, no CUDA."""


# --- setup ---------------------------------------------------------------------------------


def ensure_dataset(data_dir: Path | None, *, install: bool = True,
                   report=print) -> Path:
    """The Fashion-MNIST folder; without ``data_dir``, install the Debian package if missing.

    Raises:
        SetupError: the data is not there and cannot be installed (no apt-get, not root,
            no network), or ``data_dir`` lacks the files.
    """
    try:
        return fm.find_data_dir(data_dir)
    except fm.DatasetMissing as error:
        if data_dir is not None or not install:
            raise SetupError(str(error)) from None
        missing = str(error)
    apt = shutil.which("apt-get")
    if apt is None:
        raise SetupError(f"{missing}; apt-get is not available here to install it")
    report(f"_installing {fm.DEBIAN_PACKAGE} with apt-get (about 31 MB)_")
    tail = ""
    for command in ([apt, "install", "-y", "-q", fm.DEBIAN_PACKAGE],
                    [apt, "update", "-q"], [apt, "install", "-y", "-q", fm.DEBIAN_PACKAGE]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                                  check=False)
        except (OSError, subprocess.SubprocessError) as failure:
            raise SetupError(f"{missing}; running {' '.join(command)} failed: "
                             f"{failure}") from None
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        tail = tail[0]
        if command[1] == "install" and done.returncode == 0:
            break
    try:
        return fm.find_data_dir(None)
    except fm.DatasetMissing:
        raise SetupError(f"{missing}; `apt-get install -y {fm.DEBIAN_PACKAGE}` did not install "
                         f"it ({tail or 'no output'}): install it by hand or copy the four "
                         "files into a folder and pass --data-dir") from None


def check_sizes(sizes: list[int], available: int) -> list[int]:
    """Sorted unique sizes, each between 100 and ``available`` training images."""
    bad = [s for s in sizes if not 100 <= s <= available]
    if bad:
        raise SetupError(f"training-set size(s) {bad} are not possible: the dataset has "
                         f"{available} training images (and a size needs at least 100, so that "
                         "1% of it is a record)")
    return sorted(set(sizes))


def check_device(choice: str) -> torch.device:
    try:
        return resolve_device(choice)
    except ValueError as error:
        raise SetupError(str(error)) from None


def growth_exponent(sizes, times) -> float:
    """Exponent ``b`` of the least-squares fit ``log t = log a + b log N``; NaN without two
    distinct sizes with finite, positive times."""
    pairs = [(float(n), float(t)) for n, t in zip(sizes, times, strict=True)
             if n > 0 and math.isfinite(float(t)) and float(t) > 0]
    if len({n for n, _ in pairs}) < 2:
        return float("nan")
    x = np.log([n for n, _ in pairs])
    y = np.log([t for _, t in pairs])
    return float(np.polyfit(x, y, 1)[0])


# --- originals -----------------------------------------------------------------------------


def original_model(spec, table: RecordTable, full: bool, device: torch.device,
                   data_dir: Path, cache: Path, report=print):
    """The model trained on ``table``'s members with ``spec``'s recipe: (model, test accuracy,
    where it came from). On the whole training set with the catalog's recipe it is the
    ``fashion`` sample (built when missing); otherwise it is cached under ``cache``."""
    size = len(table.members())
    if full and spec == sample_spec("fashion"):
        try:
            sample = load_sample("fashion", data_dir=data_dir)
            recipe = {k: sample.manifest["recipe"].get(k) for k in spec.recipe.to_dict()}
            if recipe == spec.recipe.to_dict():
                return sample.model, sample.manifest["metrics"]["test_accuracy"], "sample"
            report("_the fashion sample was built with another recipe: rebuilding it_")
        except (FileNotFoundError, ValueError) as error:
            report(f"_building the fashion sample ({error})_")
        started = time.perf_counter()
        manifest = build_sample("fashion", samples_root() / "fashion",
                                samples_root() / "fashion", device=str(device),
                                data_dir=data_dir)
        report(f"\n_built sample_models/fashion in {time.perf_counter() - started:.0f} s on "
               f"{device}: {json.dumps(manifest['metrics'])}_")
        model = load_model(samples_root() / "fashion" / manifest["files"]["weights"]["path"])
        return model, manifest["metrics"]["test_accuracy"], "built"
    key = json.dumps([size, spec.seed, spec.recipe.to_dict(), spec.architecture, device.type,
                      torch.__version__])
    path = cache / f"fashion-{size}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if path.with_suffix(".safetensors").is_file():
        meta = json.loads(path.with_suffix(".json").read_text())
        return load_model(path.with_suffix(".safetensors")), meta["test_accuracy"], "cached"
    started = time.perf_counter()
    model = train_on_table(spec, table, device=str(device))
    seconds = time.perf_counter() - started
    accuracy = round(set_accuracy(model, table.held_out()), 4)
    cache.mkdir(parents=True, exist_ok=True)
    save_model(model, path.with_suffix(".safetensors"))
    path.with_suffix(".json").write_text(json.dumps({"test_accuracy": accuracy,
                                                     "train_seconds": seconds}))
    report(f"\n_trained the {size} original in {seconds:.0f} s on {device}: test acc "
           f"{accuracy}_")
    return model, accuracy, "trained"


# --- one cell ------------------------------------------------------------------------------


def forget_set(table: RecordTable, request: str, seed: int):
    if request == "class":
        return table.select(classes=[seed % table.num_classes])
    members = np.array(table.members().ids)
    count = max(1, int(round(0.01 * len(members))))
    return table.select(ids=np.random.default_rng(seed).choice(members, count, replace=False))


def measure(model, forget, attack_set, test_set) -> dict[str, float]:
    return {"forget_acc": set_accuracy(model, forget), "test_acc": set_accuracy(model, test_set),
            "mia_auc": loss_mia_auc(model, forget, attack_set)}


def run_cell(model, table, request, seed, methods, device, params) -> dict:
    forget = forget_set(table, request, seed)
    attack_set, test_set = evaluation_sets(table, forget)
    rows: dict = {"original": {**measure(model.to(device), forget, attack_set, test_set),
                               "time_s": float("nan")}}
    for method in (*GOLD, *methods):
        name = "retrain" if method == "retrain'" else method
        try:
            result = unlearn_model(model, forget, method=name, device=device,
                                   seed=seed + 1000 if method == "retrain'" else seed,
                                   retain="auto", params=params.get(name))
        except (ValueError, RuntimeError, ArithmeticError) as error:  # e.g. diverged
            print(f"_{request} {len(table.members())}: {method} failed: {error}_", flush=True)
            rows[method] = {**dict.fromkeys(METRICS, float("nan")), "time_s": float("nan")}
            continue
        rows[method] = {**measure(result.model, forget, attack_set, test_set),
                        "time_s": result.wall_time_s}
    return {"forget_size": len(forget), "rows": rows}


def print_cell(size: int, request: str, cell: dict) -> None:
    rows = cell["rows"]
    gold, floor = rows["retrain"], rows["retrain'"]
    print(f"\n### N = {size:,} / {request} (|F| = {cell['forget_size']:,})\n")
    print("| method | forget acc | test acc | MIA AUC | |Δforget| | |Δtest| | |ΔMIA| "
          "| within floor | time s | % of retrain |")
    print("|" + "---|" * 10)
    for method, r in rows.items():
        gaps = {m: abs(r[m] - gold[m]) for m in METRICS}
        inside = sum(gaps[m] <= abs(floor[m] - gold[m]) + 1e-12 for m in METRICS)
        share = 100 * r["time_s"] / gold["time_s"]
        print(f"| {method} | {r['forget_acc']:.3f} | {r['test_acc']:.3f} | {r['mia_auc']:.3f} "
              f"| {gaps['forget_acc']:.3f} | {gaps['test_acc']:.3f} | {gaps['mia_auc']:.3f} "
              f"| {inside}/3 | {r['time_s']:.2f} | {share:.1f} |")
    sys.stdout.flush()


def print_growth(cells: dict, sizes: list[int], methods: list[str],
                 requests: list[str]) -> dict:
    print("\n### Growth of wall time with N (fit time = a·N^b)\n")
    print("| method | request | " + " | ".join(f"s at {n:,}" for n in sizes) + " | b |")
    print("|" + "---|" * (len(sizes) + 3))
    exponents = {}
    for request in requests:
        for method in (*GOLD, *methods):
            times = [cells.get((n, request), {}).get("rows", {}).get(method, {}).get(
                "time_s", float("nan")) for n in sizes]
            b = growth_exponent(sizes, times)
            exponents[f"{method}/{request}"] = b
            print(f"| {method} | {request} | " + " | ".join(f"{t:.2f}" for t in times)
                  + f" | {b:.2f} |")
    return exponents


# --- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES),
                        help="training-set sizes (default 7500 15000 30000 60000)")
    parser.add_argument("--requests", nargs="+", default=list(REQUESTS), choices=REQUESTS)
    parser.add_argument("--baselines", nargs="*", default=list(DEFAULT_BASELINES),
                        help="baselines besides retrain and synthetic (default: ssd finetune)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the four Fashion-MNIST IDX .gz files (default: the "
                             "installed Debian package, installed with apt-get when missing)")
    parser.add_argument("--no-install", action="store_true",
                        help="never run apt-get; fail when the dataset is missing")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the recipe's epochs for the originals and retrains")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--cache", type=Path, default=Path(".workbench_cache/scale"),
                        help="folder for the originals of the smaller sizes")
    parser.add_argument("--params", type=json.loads, default={},
                        help='per-method overrides, e.g. \'{"synthetic": {"steps": 100}}\'')
    parser.add_argument("--no-warmup", action="store_true",
                        help="on CUDA, skip the untimed warm-up pass")
    parser.add_argument("--json", type=Path, default=None, help="also write every cell here")
    return parser


def setup(args: argparse.Namespace) -> tuple[torch.device, Path, list[int]]:
    """Every check that can fail on bad input, before any training."""
    device = check_device(args.device)
    for method in ("synthetic", "retrain", *args.baselines):
        try:
            get_unlearner(method).Params.from_mapping(args.params.get(method))
        except ValueError as error:
            raise SetupError(str(error)) from None
    if args.epochs is not None and args.epochs < 1:
        raise SetupError(f"--epochs must be at least 1, not {args.epochs}")
    data_dir = ensure_dataset(args.data_dir, install=not args.no_install)
    labels = fm.read_idx(data_dir / fm.FILES["train_labels"])
    return device, data_dir, check_sizes(args.sizes, len(labels))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device, data_dir, sizes = setup(args)
    except (SetupError, ValueError) as error:
        print(f"scale.py: error: {error}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = sample_spec("fashion")
    if args.epochs is not None:
        spec = replace(spec, recipe=replace(spec.recipe, epochs=args.epochs))
    recipe = spec.recipe
    methods = ["synthetic", *args.baselines]
    full = len(fm.read_idx(data_dir / fm.FILES["train_labels"]))
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    print(f"# scale benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.node()} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads{', ' + gpu if gpu else ''}), device {device}, "
          f"torch {torch.__version__}, seed {args.seed}, sizes {sizes}, recipe "
          f"{recipe.to_dict()}, command: {' '.join(sys.argv)}")
    cells, everything = {}, {}
    warm = device.type != "cuda" or args.no_warmup
    for size in sizes:
        table = fm.fashion_table(size, data_dir=data_dir, seed=spec.seed, recipe=recipe)
        model, accuracy, origin = original_model(spec, table, size == full, device, data_dir,
                                                 args.cache)
        table.card = ModelCard(test_accuracy=accuracy)
        print(f"\n_N = {size:,}: original ({origin}) test accuracy {accuracy:.4f}, "
              f"architecture {architecture_for(spec, table)}_")
        for request in args.requests:
            if not warm:  # CUDA: load kernels and pick algorithms before anything is timed
                run_cell(model, table, request, args.seed, methods, device, args.params)
                warm = True
            cell = run_cell(model, table, request, args.seed, methods, device, args.params)
            cells[(size, request)] = cell
            everything[f"{size}/{request}"] = cell
            print_cell(size, request, cell)
    exponents = print_growth(cells, sizes, methods, args.requests)
    if args.json:
        args.json.write_text(json.dumps({"cells": everything, "exponents": exponents},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
