"""The ``verify`` and ``ledger verify`` subcommands of ``workbench``.

``verify`` checks a record's seal, signature, files, records and ledger entry, then re-runs its
tests; ``ledger verify`` walks the chain. Exit 1 when something does not match, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from workbench.evidence.ledger import (
    default_ledger_path,
    default_witness_path,
    find_entry,
    verify_ledger,
)
from workbench.evidence.record import load_record
from workbench.evidence.verify import Trust, verify_record


def _verify_ledger_path(args: argparse.Namespace) -> tuple[Path | None, str]:
    """The ledger to check and, when none, why: ``--ledger``; else the default ledger when
    the record is on it (a record written to another ledger is not a tamper case: it is
    then not checked, and the output says so); ``--no-ledger``: none."""
    if args.ledger:
        return args.ledger, ""
    if args.no_ledger:
        return None, "--no-ledger"
    default = default_ledger_path()
    if not default.exists():
        return None, f"no ledger given and none at {default}"
    if find_entry(default, load_record(args.record).sealed_sha256()) is None:
        return None, f"the record is not on the default ledger {default}"
    return default, ""


def cmd_verify(args: argparse.Namespace) -> int:
    ledger, why_not = _verify_ledger_path(args)
    trust = Trust(trusted_key=args.trusted_key, allow_unsigned=args.allow_unsigned,
                  witness=args.witness)
    report = verify_record(args.record, model_before=args.model_before,
                           model_after=args.model_after, ledger=ledger,
                           cache_dir=args.cache_dir, samples_root=args.samples_root,
                           model_class=args.model_class, trust=trust)
    for name, ok, detail in report.checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    failed = [name for name, ok, _ in report.checks if not ok]
    if failed:
        print(f"workbench: verification failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    unchecked = "" if ledger else (
        f"; its ledger entry {report.record.integrity.ledger_sequence} was NOT checked "
        f"({why_not}: pass --ledger with the ledger it was written to)")
    print(f"verified: {args.record} reproduces within tolerance "
          f"{report.record.tests.reproduce_tolerance}{unchecked}")
    return 0


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    path = args.ledger or default_ledger_path()
    report = verify_ledger(path, witness=args.witness)
    signers = ", ".join(report.signers) or "none"
    if not report.ok:
        print(f"workbench: ledger {path}: {report.problem} ({report.entries} entries before it "
              "are intact)", file=sys.stderr)
        return 1
    witnessed = (f"; matches the witness ({report.witnessed} heads)" if args.witness else
                 "; no witness given: a truncated or wholly rewritten ledger is caught only "
                 "with --witness")
    print(f"ledger {path}: {report.entries} entries, chain intact, signatures valid; head "
          f"{report.head_sha256}; signed by key(s) {signers}{witnessed}")
    return 0


def add_verify_commands(sub: argparse._SubParsersAction,
                        common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``verify`` and ``ledger verify``; ``common`` adds the shared options."""
    verify = sub.add_parser("verify", help="recompute a record's hashes and re-run its tests")
    verify.add_argument("record", type=Path, help="the record.json to verify")
    verify.add_argument("--model-before", type=Path, help="the original model file")
    verify.add_argument("--model-after", type=Path, help="the unlearned model file")
    verify.add_argument("--trusted-key", "--public-key", dest="trusted_key",
                        help="the signer you trust: Ed25519 public key (hex) or fingerprint")
    verify.add_argument("--allow-unsigned", action="store_true",
                        help="check an unsigned record anyway (it says so)")
    verify.add_argument("--witness", type=Path, default=default_witness_path(),
                        help="with --ledger: also compare the chain with this witness")
    verify.add_argument("--model-class", help="the record's own nn.Module class "
                                              "(package.module:Class), imported to load its "
                                              "model files")
    verify.add_argument("--no-ledger", action="store_true",
                        help="do not check the record against the default ledger "
                             "($WORKBENCH_LEDGER), which is checked when it exists")
    common(verify)
    verify.set_defaults(run=cmd_verify)

    ledger = sub.add_parser("ledger", help="the hash-chained ledger of records")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    check = ledger_sub.add_parser("verify", help="walk the chain; report the first broken link")
    check.add_argument("ledger", type=Path, nargs="?", help="ledger file (default "
                                                            "$WORKBENCH_LEDGER or ~/.local/...)")
    check.add_argument("--witness", type=Path, default=default_witness_path(),
                       help="the witness file of its heads (default $WORKBENCH_WITNESS)")
    check.set_defaults(run=cmd_ledger_verify)
