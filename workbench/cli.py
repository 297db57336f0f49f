"""The ``workbench`` command: headless access to the sample models, erasure and evidence."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.cli_lifecycle import add_lifecycle_commands
from workbench.cli_pack import add_pack_command
from workbench.commands import add_evidence_commands
from workbench.errors import DivergenceError, IntegrityError, exit_code
from workbench.samples import SAMPLES, list_samples, rebuild_samples
from workbench.samples.catalog import ALL_SAMPLES, EXTRA_SAMPLES


def cmd_samples(args: argparse.Namespace) -> int:
    rows = list_samples(root=args.root, include=args.include or ())
    header = (f"{'name':8} {'domain':11} {'records':>7} {'train acc':>9} {'test acc':>8} "
              f"{'loss-MIA AUC':>12}")
    print(header)
    for r in rows:
        print(f"{r['name']:8} {r['domain']:11} {r['records']:>7} {r['train_accuracy']:>9.3f} "
              f"{r['test_accuracy']:>8.3f} {r['loss_mia_auc']:>12.3f}")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    rebuild_samples(args.out, replace=args.replace, names=args.only, include=args.include,
                    data_dir=args.data_dir, device=args.device)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    samples = sub.add_parser("samples", help="list the sample models with their metrics")
    samples.add_argument("--root", type=Path, default=None, help="folder of sample models")
    samples.add_argument("--include", nargs="+", choices=sorted(EXTRA_SAMPLES),
                         help="also list these samples that are built on demand")
    samples.set_defaults(run=cmd_samples)
    rebuild = sub.add_parser("rebuild-samples",
                             help="retrain the sample models from their records and manifests")
    where = rebuild.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the rebuilt models into this new folder")
    where.add_argument("--replace", action="store_true",
                       help="overwrite the shipped sample_models/ (the only command that does)")
    rebuild.add_argument("--only", nargs="+", choices=sorted(ALL_SAMPLES),
                         help=f"rebuild only these (default: {', '.join(SAMPLES)})")
    rebuild.add_argument("--include", nargs="+", choices=sorted(EXTRA_SAMPLES),
                         help="also build these samples whose data is an installed dataset "
                              "(fashion: Debian's dataset-fashion-mnist)")
    rebuild.add_argument("--data-dir", type=Path, default=None,
                         help="folder holding Fashion-MNIST's four IDX .gz files (default: "
                              "$WORKBENCH_FASHION_DIR or the installed package)")
    rebuild.add_argument("--device", default="cpu", help="train on this device (default cpu)")
    rebuild.set_defaults(run=cmd_rebuild)
    add_evidence_commands(sub)  # erase, verify, ledger verify (workbench/commands.py)
    add_lifecycle_commands(sub)
    add_pack_command(sub)  # workbench pack (workbench/cli_pack.py)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BaseException as error:  # mapped by type: workbench/errors.py
        code = exit_code(error)
        if code is None:
            raise
        if isinstance(error, KeyboardInterrupt):
            print("workbench: interrupted; nothing was half-written", file=sys.stderr)
        elif isinstance(error, IntegrityError):  # a record or ledger that does not verify
            print(f"workbench: verification failed: {error}", file=sys.stderr)
        elif isinstance(error, DivergenceError):
            print(f"workbench: the method failed: {error}", file=sys.stderr)
        else:
            print(f"workbench: error: {error}", file=sys.stderr)
        return code

if __name__ == "__main__":
    sys.exit(main())
