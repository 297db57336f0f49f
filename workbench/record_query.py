"""How a request picks records out of a table's frame: by ids, by a condition, by class.

Pure functions of the frame (``record_id``, ``label``, ``member`` and the raw features), so
that :meth:`workbench.records.RecordTable.select` stays short; each refuses a bad request
with what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from workbench.errors import InputError


def refuse_duplicates(ids: list[str]) -> None:
    """Raises ``ValueError`` naming the ids that ``ids`` holds more than once."""
    seen, dupes = set(), []
    for i in ids:
        (dupes.append(i) if i in seen else seen.add(i))
    if dupes:
        raise ValueError(f"duplicate record id(s) in the selection: {sorted(set(dupes))[:10]}")


def checked_member_ids(frame: pd.DataFrame, ids: list[str], positions: np.ndarray
                       ) -> tuple[str, ...]:
    """``ids`` (at rows ``positions``, distinct) when they are all training members.

    Raises:
        ValueError: an id of a record that was never a member.
    """
    not_members = [i for i, p in zip(ids, positions, strict=True)
                   if not frame["member"].iat[p]]
    if not_members:
        raise ValueError(f"{len(not_members)} record(s) were never training members, so the "
                         f"model holds nothing of them to forget: {not_members[:10]}")
    return tuple(ids)


def query_mask(frame: pd.DataFrame, query: str, source_columns: Mapping[str, str | None],
               classes: Sequence[str]) -> pd.Series:
    """Where the condition ``query`` holds, one boolean per row. The condition may use the
    user's own column names (``source_columns``: ours -> theirs) and, under the user's label
    column, class names. A bad condition: ``InputError``."""
    try:
        mask = _query_frame(frame, source_columns, classes).eval(query)
    except Exception as error:  # pandas raises many types for a bad expression
        raise InputError(f"cannot evaluate query {query!r}: {error}") from None
    # DataFrame.query would treat a non-boolean result as row labels: refuse it instead.
    if not (isinstance(mask, pd.Series) and pd.api.types.is_bool_dtype(mask)
            and len(mask) == len(frame)):
        raise InputError(f"query {query!r} must be a condition that is true or false for "
                         "each record, e.g. \"age > 60 and label == 1\"")
    return mask


def _query_frame(frame: pd.DataFrame, source_columns: Mapping[str, str | None],
                 classes: Sequence[str]) -> pd.DataFrame:
    aliases = {user: ours for ours, user in source_columns.items()
               if user and user not in frame.columns}
    if not aliases:
        return frame
    extra = {}
    for user, ours in aliases.items():
        column = frame[ours]
        extra[user] = column.map(dict(enumerate(classes))) if ours == "label" else column
    return frame.assign(**extra)


def class_indices(chosen: Iterable[int | str], classes: Sequence[str]) -> list[int]:
    """Sorted distinct class indices of ``chosen`` (indices or names of ``classes``).

    Raises:
        ValueError: a class that does not exist, with the classes that do.
    """
    out = []
    for c in chosen:
        if isinstance(c, str) and c in classes:
            out.append(list(classes).index(c))
        elif isinstance(c, int | np.integer) and 0 <= int(c) < len(classes):
            out.append(int(c))
        else:
            raise ValueError(f"class {c!r} does not exist; classes are "
                             f"{list(enumerate(classes))}")
    return sorted(set(out))
