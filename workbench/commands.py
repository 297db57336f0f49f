"""The erasure subcommand of ``workbench`` (``erase``); ``verify`` and ``ledger verify`` are in
:mod:`workbench.cli_verify`.

Exit codes (mapped by type in ``workbench.cli.main``, see :mod:`workbench.errors`): 0 success;
1 something does not match (a tampered model, record or ledger); 2 bad input; 3 the method
diverged; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from workbench.audit import ATTACK_NAMES
from workbench.audit.gold import DEFAULT_GOLD_COUNT
from workbench.cli_lifecycle import _ledger_options, _user
from workbench.cli_verify import add_verify_commands
from workbench.evidence.keys import load_key
from workbench.evidence.ledger import default_ledger_path
from workbench.evidence.sources import absolute_csv_source, load_records_source
from workbench.models.user_class import load_model_file, parse_kwargs
from workbench.pipeline import (
    ErasureRequest,
    EvidenceOptions,
    Selection,
    check_out_dir,
    check_request,
    check_writable,
    cli_command,
    run_request,
    write_evidence,
)
from workbench.pipeline.batch import read_batch, read_text_csv, run_batch, summary_table
from workbench.progress import ProgressBar
from workbench.samples import load_sample
from workbench.unlearn import available_methods


def read_ids_file(path: str | Path, column: str = "record_id") -> list[str]:
    """Record ids from a CSV file's ``column`` (read as text)."""
    frame = read_text_csv(path, "ids file")
    if column not in frame.columns:
        raise ValueError(f"ids file {path} has no {column!r} column (columns: "
                         f"{list(frame.columns)[:10]}); name the id column with --id-column")
    ids = [i.strip() for i in frame[column] if i.strip()]
    if not ids:
        raise ValueError(f"ids file {path} lists no ids in column {column!r}")
    return ids


def _selection(args: argparse.Namespace) -> Selection:
    """The records to forget: --ids, --ids-file, --where or --class."""
    if args.where is not None:
        return Selection.where(args.where)
    if args.classes is not None:
        return Selection.of_classes(args.classes)
    if args.ids is not None:
        ids = [i.strip() for i in args.ids.split(",") if i.strip()]
        if not ids:
            raise ValueError("--ids lists no record ids")
        return Selection.by_ids(ids)
    return Selection.by_ids(read_ids_file(args.ids_file, args.id_column))


def _source(args: argparse.Namespace):
    """(model, table, model name, records source, before file) from --sample or --model."""
    if args.sample:
        sample = load_sample(args.sample, root=args.samples_root)
        return sample.model, sample.records, args.sample, f"sample:{args.sample}", None
    if args.package:
        folder = Path(args.package).resolve()
        table, model = load_records_source(f"folder:{folder}", model_class=args.model_class)
        return model, table, folder.name, f"folder:{folder}", None
    if not args.records:
        raise ValueError("--model needs --records: a sample name, a sample folder or "
                         "csv:PATH#id=...&label=...&member=... holding the records the model "
                         "was trained on")
    if args.records.startswith("csv:"):
        source = absolute_csv_source(args.records)
    else:
        folder = Path(args.records)
        source = (f"folder:{folder.resolve()}" if folder.is_dir() else f"sample:{args.records}")
    table, _ = load_records_source(source, samples_root=args.samples_root)
    model = load_model_file(args.model, args.model_class, parse_kwargs(args.model_kwargs))
    return model, table, Path(args.model).stem, source, str(Path(args.model).resolve())


def cmd_erase(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    rows = read_batch(args.batch) if args.batch else None  # a bad file: refused before work
    selection = rows[0].selection if rows else _selection(args)
    model, table, name, source, before_file = _source(args)
    request = ErasureRequest(
        model=model, table=table, selection=selection, method=args.method, params=args.params,
        gold_models=args.gold_models if args.reference == "retrain" else 0,
        attacks=tuple(args.attacks), shadow_models=args.shadow_models, seed=args.seed,
        device=args.device, cache_dir=args.cache_dir, model_name=name, records_source=source,
        before_file=before_file, escalate=tuple(args.escalate or ()),
        ticket={"reference": args.request_ref or "", "legal_basis": args.legal_basis,
                "received": args.received, "due": args.due, "notes": args.notes or "",
                "exceptions": args.exceptions, "identity_check": args.identity_check,
                "recipients": args.recipients, "processing_activity": args.processing_activity,
                "model_registry_id": args.registry_id, "model_version": args.model_version})
    if rows is not None:
        return _erase_batch(args, request, rows, start)
    check_request(request)  # bad input: refused before any work or any file
    check_out_dir(Path(args.out), force=args.force)
    check_writable(args.ledger or default_ledger_path(), "ledger")
    if args.witness:
        check_writable(args.witness, "witness")
    key = load_key(args.key)  # created on first use; a bad key: refused before any work
    outcome = run_request(request, lambda label: ProgressBar(label, quiet=args.quiet))
    ProgressBar.end_line()
    options = EvidenceOptions(operator=args.operator, approver=args.approver,
                              command=cli_command(request, args.out), key=key,
                              witness=args.witness, pdf_renderer=args.pdf_renderer,
                              figures=args.figures)
    written = write_evidence(outcome, args.out, ledger=args.ledger, options=options,
                             force=args.force)
    record = written.record
    audited = record.tests.audit
    if len(outcome.attempts) > 1:
        print("attempts: " + " -> ".join(f"{a.method} {a.erasure}" for a in outcome.attempts))
    print(f"erasure: {audited.erasure}  collateral: {audited.collateral}  utility: "
          f"{audited.utility}  (tests passed {len(record.tests.passed)}, failed "
          f"{len(record.tests.failed)}, inconclusive {len(record.tests.inconclusive)})")
    for role, path in written.files.items():
        print(f"{role:7} {path}")
    if written.superseded is not None:
        print(f"earlier evidence moved aside to {written.superseded} (it stays on the ledger)")
    print(f"ledger  {args.ledger or default_ledger_path()} entry "
          f"{record.integrity.ledger_sequence} ({record.integrity.record_sha256}), signed by "
          f"key {key.fingerprint}")
    if written.purged is not None:
        print(f"cache   deleted {len(written.purged.deleted)} cached model set(s) trained on the "
              f"erased records, kept {len(written.purged.kept)}")
    print(f"pdf renderer: {written.pdf_renderer}; {time.perf_counter() - start:.1f}s")
    print(f"next: {outcome.next_step}")
    return 0


def _erase_batch(args: argparse.Namespace, base: ErasureRequest, rows: list, start: float) -> int:
    """``erase --batch``: one request per row into ``--out/<request_id>/``, then a summary."""
    overall = ProgressBar(f"batch ({len(rows)} requests)", quiet=args.quiet)

    def row_done(k: int, total: int, result) -> None:
        overall(k, total, f"{result.request_id}: {result.erasure or 'bad input'}")

    options = EvidenceOptions(operator=args.operator, key=load_key(args.key),
                              witness=args.witness, pdf_renderer=args.pdf_renderer,
                              command=cli_command(base, args.out, ["--batch", str(args.batch)]))
    results, purged = run_batch(base, rows, args.out, ledger=args.ledger, options=options,
                                on_row=row_done,
                                stage=lambda label: ProgressBar(label, quiet=args.quiet))
    ProgressBar.end_line()
    print(summary_table(results))
    failed = [r for r in results if r.error]
    if purged is not None:
        print(f"cache: deleted {len(purged.deleted)} cached model set(s) trained on the erased "
              "records")
    print(f"{len(results) - len(failed)} of {len(results)} requests erased and on the ledger "
          f"{args.ledger or default_ledger_path()}; {time.perf_counter() - start:.1f}s")
    for r in failed:
        print(f"workbench: request {r.request_id} not run: {r.error}", file=sys.stderr)
    return 2 if failed else 0


def add_evidence_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``erase``, ``verify`` and ``ledger`` on the ``workbench`` parser."""
    erase = sub.add_parser("erase", help="erase records, write model + record + reports, "
                                         "append to the ledger")
    src = erase.add_mutually_exclusive_group(required=True)
    src.add_argument("--sample", help="a sample model by name (clinic, credit, digits)")
    src.add_argument("--model", type=Path, help="a model file (safetensors); needs --records")
    src.add_argument("--package", type=Path, help="a model package folder (`workbench pack`): "
                                                  "model, records and recipe together")
    erase.add_argument("--model-class", help="with --model: your own nn.Module class, "
                                             "package.module:Class (recorded; verify needs it)")
    erase.add_argument("--model-kwargs", help="with --model-class: its constructor arguments "
                                              "as a JSON object")
    erase.add_argument("--records", help="with --model: a sample name, a sample folder, or your "
                                         "CSV as csv:PATH#id=COL&label=COL&member=COL (then "
                                         "optionally &categorical=A,B&epochs=N&lr=X"
                                         "&batch_size=N: the training recipe)")
    ids = erase.add_mutually_exclusive_group(required=True)
    ids.add_argument("--ids", help="comma-separated record ids to erase")
    ids.add_argument("--ids-file", type=Path, help="CSV file with an id column")
    ids.add_argument("--where", help="a condition on the records' columns, e.g. "
                                     "\"age > 60 and label == 1\" (training records only)")
    ids.add_argument("--class", dest="classes", nargs="+", metavar="CLASS",
                     help="every training record of these classes (a class-level request)")
    ids.add_argument("--batch", type=Path, help="a CSV of requests (request_id and one of "
                                                "ids / where / class per row); --out is then "
                                                "the folder that gets one folder per request")
    erase.add_argument("--id-column", default="record_id", help="id column of --ids-file")
    erase.add_argument("--method", default="synthetic", choices=available_methods())
    erase.add_argument("--escalate", nargs="+", choices=available_methods(), metavar="METHOD",
                       help="methods to try in turn while the erasure verdict FAILs, e.g. "
                            "neggrad_plus retrain (every attempt is recorded)")
    erase.add_argument("--params", type=_json_object, default=None,
                       help='method parameters as JSON, e.g. \'{"steps": 100}\'')
    erase.add_argument("--reference", default="retrain", choices=("retrain", "none"),
                       help="build the gold standard by retraining (default) or not")
    erase.add_argument("--gold-models", type=int, default=DEFAULT_GOLD_COUNT,
                       help=f"retrained models in the gold standard (default "
                            f"{DEFAULT_GOLD_COUNT}; their spread calibrates every verdict)")
    erase.add_argument("--attacks", nargs="+", default=list(ATTACK_NAMES),
                       choices=ATTACK_NAMES)
    erase.add_argument("--shadow-models", "--reference-models", type=int, default=4,
                       dest="shadow_models",
                       help="shadow models K for RMIA / LiRA (even; default 4; "
                            "--reference-models is its old name)")
    erase.add_argument("--seed", type=int, default=0)
    erase.add_argument("--device", default="auto")
    erase.add_argument("--out", type=Path, required=True, help="folder for the outputs")
    erase.add_argument("--force", action="store_true",
                       help="--out holds a record: move it aside to OUT.superseded-TIME (never "
                            "deleted) once the new one is on the ledger")
    erase.add_argument("--request-ref", help="the request's ticket reference")
    erase.add_argument("--legal-basis", default="GDPR Art. 17(1)", help="e.g. GDPR Art. "
                                                                        "17(1)(a)")
    erase.add_argument("--received", help="date received (ISO-8601, UTC)")
    erase.add_argument("--due", help="date due (ISO-8601, UTC)")
    erase.add_argument("--notes", help="free text for the record")
    erase.add_argument("--operator", default=_user(), help="who runs the erasure")
    erase.add_argument("--approver", help="who is to approve it (decision starts 'pending')")
    erase.add_argument("--exceptions", help="GDPR Art. 17(3) exceptions considered")
    erase.add_argument("--identity-check", help="how the requester's identity was checked "
                                                "(Art. 12(6))")
    erase.add_argument("--recipients", help="recipients notified (Art. 17(2), 19)")
    erase.add_argument("--processing-activity", help="the processing activity (Art. 30)")
    erase.add_argument("--registry-id", help="the production model's registry id")
    erase.add_argument("--model-version", help="the production model's version")
    erase.add_argument("--pdf-renderer", default="auto", choices=("auto", "chromium",
                                                                  "matplotlib"))
    erase.add_argument("--figures", default="svg", choices=("svg", "plotly"),
                       help="report figures: static SVG (default) or interactive plotly")
    _common(erase)
    erase.add_argument("--quiet", action="store_true", help="no progress bars")
    erase.set_defaults(run=cmd_erase)

    add_verify_commands(sub, _common)  # verify, ledger verify (workbench/cli_verify.py)


def _common(parser: argparse.ArgumentParser) -> None:
    if parser.prog.endswith("erase"):
        _ledger_options(parser)
    else:
        parser.add_argument("--ledger", type=Path, help="check the record's entry on this "
                                                        "ledger (default: $WORKBENCH_LEDGER "
                                                        "or ~/.local/..., when it exists)")
    parser.add_argument("--cache-dir", type=Path, help="model cache (shadow models and gold "
                                                       "standards)")
    parser.add_argument("--samples-root", type=Path, help="folder of sample models")


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object of parameter names and values")
    return value
