"""``workbench pack``: a model file and its records (a CSV with its recipe) as one model
package folder, the layout every entry point reads (``--package`` / ``folder:PATH``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.evidence.sources import absolute_csv_source, load_records_source
from workbench.models.user_class import load_model_file, parse_kwargs
from workbench.samples.pack import pack


def cmd_pack(args: argparse.Namespace) -> int:
    if not args.records.startswith("csv:"):
        raise ValueError("--records must be csv:PATH#id=COL&label=COL&member=COL&epochs=N"
                         "&lr=X&batch_size=N (the CSV, its columns and the training recipe)")
    table, _ = load_records_source(absolute_csv_source(args.records))
    model = load_model_file(args.model, args.model_class, parse_kwargs(args.model_kwargs))
    manifest = pack(model, table, args.out, name=args.name,
                    unseen_profile=args.unseen_profile)
    print(f"packed {manifest['name']} into {args.out}: {manifest['metrics']['n_records']} "
          f"records, test accuracy {manifest['metrics']['test_accuracy']}; use --package "
          f"{args.out}" + (f" --model-class {args.model_class}" if args.model_class else ""))
    return 0


def add_pack_command(sub: argparse._SubParsersAction) -> None:
    """Register ``workbench pack``."""
    parser = sub.add_parser("pack", help="a model and its records as one model package folder")
    parser.add_argument("--model", type=Path, required=True, help="the model file "
                                                                  "(safetensors)")
    parser.add_argument("--model-class", help="your own nn.Module class, package.module:Class")
    parser.add_argument("--model-kwargs", help="its constructor arguments as a JSON object")
    parser.add_argument("--records", required=True,
                        help="csv:PATH#id=COL&label=COL&member=COL&epochs=N&lr=X&batch_size=N")
    parser.add_argument("--out", type=Path, required=True, help="a new folder")
    parser.add_argument("--name", help="the package's name (default: the CSV's name)")
    parser.add_argument("--unseen-profile", action="store_true",
                        help="also measure how sure models trained without a member are of it "
                             "(trains 10 models with the recipe) and how far the synthetic "
                             "method lowers held-out confidence (16 erasures); the synthetic "
                             "method sets its record-request targets with them")
    parser.set_defaults(run=cmd_pack)
