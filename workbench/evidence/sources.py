"""Where a record's records come from, and how ``verify`` reads them back.

``sample:NAME`` (a shipped sample), ``folder:PATH`` (a sample folder) or
``csv:PATH#id=...&label=...&member=...`` (a user's CSV, read with those columns). The vault
keeps the erased rows in the source's own form, so a request still verifies after the user
deleted them from the data: :func:`load_records_source` puts them back where they were,
before any preprocessing is fitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from workbench.evidence.build import record_rows
from workbench.records import ForgetSet, RecordTable, TrainRecipe
from workbench.samples import load_sample
from workbench.samples.load import load_folder

RECIPE_KEYS = ("epochs", "lr", "batch_size", "weight_decay", "optimizer")


def parse_csv_source(source: str) -> tuple[Path, dict[str, str]]:
    """The path and the settings of a ``csv:`` source: the id / label / member columns, and
    optionally ``categorical`` and the recipe's fields."""
    path, _, spec = source.partition(":")[2].rpartition("#")
    columns = dict(part.partition("=")[::2] for part in spec.split("&"))
    allowed = {"id", "label", "member", "categorical", *RECIPE_KEYS}
    if not path or not {"id", "label", "member"} <= set(columns) or set(columns) - allowed:
        raise ValueError(f"records source {source!r} must read csv:PATH#id=...&label=..."
                         "&member=... (then optionally &categorical=A,B and the recipe's "
                         "epochs, lr, batch_size, weight_decay, optimizer)")
    return Path(path), columns


def absolute_csv_source(source: str) -> str:
    """``source`` (``csv:PATH#...``) with its path made absolute, as evidence records it."""
    path, _ = parse_csv_source(source)
    return f"csv:{path.resolve()}#{source.rpartition('#')[2]}"


def csv_recipe(columns: dict[str, str]) -> TrainRecipe | None:
    """The training recipe a ``csv:`` source carries, or None."""
    if "epochs" not in columns:
        return None
    try:
        return TrainRecipe(epochs=int(columns["epochs"]), lr=float(columns["lr"]),
                           batch_size=int(columns["batch_size"]),
                           weight_decay=float(columns.get("weight_decay", 0.0)),
                           optimizer=columns.get("optimizer", "adam"))
    except (KeyError, ValueError) as error:
        raise ValueError(f"the recipe of a csv: records source is incomplete or not a "
                         f"number ({error}); it needs epochs, lr and batch_size") from None


def _read_csv(path: Path, id_column: str) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"the records file {str(path)!r} does not exist")
    try:
        return pd.read_csv(path, dtype={id_column: str})
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValueError(f"the records file {path} cannot be read as CSV: {error}") from None


def _with_rows(frame: pd.DataFrame, id_column: str, ids: tuple[str, ...],
               positions: tuple[int, ...], rows: tuple[dict[str, Any], ...]) -> pd.DataFrame:
    """``frame`` with every row of ``ids`` it lacks put back at its position."""
    present = set(frame[id_column].astype(str).str.strip())  # ids are stripped on load
    missing = sorted((p, r) for i, p, r in zip(ids, positions, rows, strict=True)
                     if i not in present)
    if not missing:
        return frame
    records: list[dict[Any, Any]] = frame.to_dict(orient="records")  # column -> value
    for position, row in missing:
        records.insert(position, dict(row))
    return pd.DataFrame(records, columns=frame.columns)


def load_records_source(source: str, *, samples_root: Path | None = None,
                        restore: Any = None, model_class: str | None = None
                        ) -> tuple[RecordTable, nn.Module | None]:
    """The table (and the model shipped with it) a source names; with ``restore`` (a vault's
    contents) the erased rows are put back first if the data no longer holds them.
    ``model_class``: the user's own class a model package holds (imported only when named)."""
    kind, _, where = source.partition(":")
    if kind == "csv":
        path, columns = parse_csv_source(source)
        frame = _read_csv(path, columns["id"])
        if restore is not None:
            frame = _with_rows(frame, columns["id"], restore.ids, restore.positions,
                               restore.rows)
        categorical = [c for c in columns.get("categorical", "").split(",") if c]
        return RecordTable.from_frame(frame, id_column=columns["id"],
                                      label_column=columns["label"],
                                      member_column=columns["member"] or None,
                                      categorical=categorical, name=path.stem,
                                      recipe=csv_recipe(columns)), None
    if kind == "sample":
        sample = load_sample(where, root=samples_root)
    elif kind == "folder":
        sample = load_folder(Path(where), model_class=model_class)
    else:
        raise ValueError(f"unknown records source {source!r}; expected sample:NAME, "
                         "folder:PATH or csv:PATH#id=...&label=...&member=...")
    table = sample.records
    if restore is not None:  # fixed preprocessing: the table's own rows go back in place
        frame = _with_rows(table.frame, "record_id", restore.ids, restore.positions,
                           restore.rows)
        if len(frame) != len(table):
            table = RecordTable(frame, table.schema, table.encoder, name=table.name,
                                recipe=table.recipe,
                                card=table.card)
    return table, sample.model


def source_rows(source: str, forget: ForgetSet) -> tuple[tuple[int, ...],
                                                         tuple[dict[str, Any], ...]]:
    """The erased records' positions and rows in the source's own form (what the vault
    keeps to restore them)."""
    if source.startswith("csv:"):
        path, columns = parse_csv_source(source)
        frame = _read_csv(path, columns["id"])
        where = {i: k for k, i in enumerate(frame[columns["id"]].astype(str).str.strip())}
        positions = tuple(where[i] for i in forget.ids)
        rows = frame.iloc[list(positions)].astype(object).where(frame.notna(), None)
        return positions, tuple({str(k): (v.item() if hasattr(v, "item") else v)
                                 for k, v in row.items()}  # a CSV's column names: str
                                for row in rows.to_dict(orient="records"))
    table = forget.table
    return (tuple(int(p) for p in table.positions(forget.ids)), tuple(record_rows(forget)))
