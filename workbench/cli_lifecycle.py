"""The request-lifecycle subcommands of ``workbench``: approve, reject, deployed, answered,
close, status, ``vault sweep`` and ``key``. Each step is a signed ledger entry
(:mod:`workbench.evidence.lifecycle`)."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from workbench.evidence.keys import load_key
from workbench.evidence.ledger import default_ledger_path, default_witness_path
from workbench.evidence.lifecycle import (
    StepNote,
    advance,
    find_case,
    status_lines,
    sweep_expired,
)
from workbench.evidence.report_html import write_html


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_vault_sweep(args: argparse.Namespace) -> int:
    swept = sweep_expired(args.ledger or default_ledger_path(), key=load_key(args.key),
                          actor=_user(), now=args.now, witness=args.witness)
    print(f"shredded the vaults of {len(swept)} request(s) whose audit window ended"
          + "".join(f"\n  {h}" for h in swept))
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    key = load_key(args.key)
    print(f"key         {key.path}\npublic key  {key.public_hex}\nfingerprint {key.fingerprint}")
    return 0


def cmd_step(args: argparse.Namespace) -> int:
    """approve / reject / deployed / answered / close: one signed step on the ledger."""
    details = {"model_registry_id": getattr(args, "registry_id", None),
               "model_version": getattr(args, "model_version", None),
               "channel": getattr(args, "channel", None)}
    note = StepNote(reason=args.reason or "",
                    override=getattr(args, "override_reason", None) or "", details=details)
    case = advance(args.ledger or default_ledger_path(), args.request, args.step,
                   key=load_key(args.key), actor=args.actor, note=note, witness=args.witness)
    print("\n".join(status_lines(case)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    case = find_case(args.ledger or default_ledger_path(), args.request)
    lines = status_lines(case)
    print("\n".join(lines))
    if args.html:
        path = write_html(case.record, args.html, decisions=lines)
        print(f"report with the decisions: {path}")
    return 0


def add_lifecycle_commands(sub: argparse._SubParsersAction) -> None:
    """``approve``, ``reject``, ``deployed``, ``answered``, ``close``, ``status`` and ``key``."""
    steps = {"approve": ("approved", "approve an audited erasure (a FAIL needs "
                                     "--override-reason)"),
             "reject": ("rejected", "reject an audited erasure (needs --reason)"),
             "deployed": ("deployed", "record that the approved model is in production"),
             "answered": ("answered", "record that the data subject was answered"),
             "close": ("closed", "close an answered request")}
    for command, (step, text) in steps.items():
        parser = sub.add_parser(command, help=text)
        parser.add_argument("request", help="the request reference, or the start of its record "
                                            "hash (8+ hex digits)")
        parser.add_argument("--reason", help="why (required to reject)")
        if step == "approved":
            parser.add_argument("--override-reason", help="why a FAIL (or INCONCLUSIVE) "
                                                          "erasure is approved anyway")
        if step == "deployed":
            parser.add_argument("--registry-id", help="the model's id in your registry")
            parser.add_argument("--model-version", help="the version now in production")
        if step == "answered":
            parser.add_argument("--channel", help="how the data subject was answered")
        parser.add_argument("--actor", default=_user(), help="who takes this step")
        _ledger_options(parser)
        parser.set_defaults(run=cmd_step, step=step)
    status = sub.add_parser("status", help="a request's life: steps, signers, due date")
    status.add_argument("request", help="the request reference or the start of its record hash")
    status.add_argument("--ledger", type=Path, help="ledger file (default $WORKBENCH_LEDGER)")
    status.add_argument("--html", type=Path, help="also write the record's report with the "
                                                  "decisions since (an override in red)")
    status.set_defaults(run=cmd_status)
    vault = sub.add_parser("vault", help="the evidence vaults of open requests")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    sweep = vault_sub.add_parser("sweep", help="shred every vault whose audit window ended "
                                               "(run it daily, e.g. from cron)")
    sweep.add_argument("--now", help="the time to compare with (ISO-8601 UTC; default now)")
    _ledger_options(sweep)
    sweep.set_defaults(run=cmd_vault_sweep)
    key = sub.add_parser("key", help="show (and create on first use) your signing key")
    key.add_argument("--key", type=Path, help="key file (default $WORKBENCH_KEY or "
                                              "~/.config/erasure-workbench/key.pem)")
    key.set_defaults(run=cmd_key)


def _ledger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", type=Path, help="ledger file (default $WORKBENCH_LEDGER "
                                                    "or ~/.local/share/erasure-workbench/)")
    parser.add_argument("--key", type=Path, help="your signing key (default $WORKBENCH_KEY "
                                                 "or ~/.config/erasure-workbench/key.pem)")
    parser.add_argument("--witness", type=Path, default=default_witness_path(),
                        help="the file that keeps every ledger head (default "
                             "$WORKBENCH_WITNESS)")
