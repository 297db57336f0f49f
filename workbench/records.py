"""Record tables with stable ids, and selections of records to forget or retain.

A ``RecordTable`` holds one row per record: ``record_id``, ``label`` (class index),
``member`` (was it in the model's training set?) and the raw features. Selections are
``RecordSet`` / ``ForgetSet`` objects: ids plus the rule that chose them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.card import (  # noqa: F401  (TrainRecipe, ModelCard: re-exported)
    ModelCard,
    TrainRecipe,
    UnseenProfile,
)
from workbench.deprecation import legacy_keywords
from workbench.encoders import Encoder, TabularEncoder
from workbench.errors import EmptySelectionError
from workbench.intake import (  # noqa: F401  (re-exported: the member words, Encoding)
    RESERVED_COLUMNS,
    TRUE_WORDS,
    Encoding,
    check_features,
    check_members,
    class_names,
    clean_ids,
    parse_membership,
    validate_frame,
)
from workbench.record_query import (
    checked_member_ids,
    class_indices,
    query_mask,
    refuse_duplicates,
)
from workbench.record_sets import ForgetSet, RecordSet  # noqa: F401  (re-exported)
from workbench.schema import FeatureSchema, InputSpace


class RecordTable:
    """Records with stable ids, labels, membership and raw features (pandas-backed)."""

    @legacy_keywords(moved={"reported_test_accuracy": "test_accuracy"}, options="card",
                     factory=ModelCard)
    def __init__(self, frame: pd.DataFrame, schema: FeatureSchema, encoder: Encoder, *,
                 name: str = "records", recipe: TrainRecipe | None = None,
                 card: ModelCard | None = None,
                 source_columns: dict[str, str] | None = None,
                 categorical: tuple[str, ...] = ()):
        validate_frame(frame, schema)
        # the user's own names of the id / label / member columns (queries may use them)
        self.source_columns = dict(source_columns or {})
        self.categorical = tuple(categorical)
        self._frame = frame.reset_index(drop=True)
        self._frame["record_id"] = clean_ids(self._frame["record_id"])  # as every lookup
        self._ids = tuple(self._frame["record_id"])  # the frame is never changed after this
        self.schema = schema
        self.encoder = encoder
        self.name = name
        self.recipe = recipe
        self.card = card or ModelCard()
        self._position = pd.Index(self._frame["record_id"])
        # Encode now, so NaN features, unknown categories or missing columns fail here.
        self._inputs: torch.Tensor | None = encoder.transform(self._frame)

    @property
    def reported_test_accuracy(self) -> float | None:
        """The model card's test accuracy (None: not reported)."""
        return self.card.test_accuracy

    @property
    def reported_unseen_profile(self) -> UnseenProfile | None:
        """The model card's unseen profile (None: not reported)."""
        return self.card.unseen

    @classmethod
    @legacy_keywords(moved={"features": "features", "encoder": "encoder"}, options="encoding",
                     factory=Encoding)
    def from_frame(cls, frame: pd.DataFrame, *, id_column: str, label_column: str,
                   member_column: str | None = None, categorical: Iterable[str] = (),
                   name: str = "records", recipe: TrainRecipe | None = None,
                   encoding: Encoding | None = None) -> RecordTable:
        """Build a table from a user's DataFrame, naming the id, label and member columns.

        Queries may use the user's own column names (``diagnosis == 'malignant'``: the label
        column by its class names) as well as ``record_id``, ``label`` and ``member``.
        ``recipe``: how the model was trained, kept with the records (retraining, the gold
        standard and shadow models need it).

        Ids are text without surrounding spaces. Text labels become class indices in sorted
        order. Without ``member_column`` every record counts as a training member. Without
        ``encoding.encoder``, numeric features are standardised on the member rows and text
        features (and those named in ``categorical``) one-hot encoded. ``encoding``: see
        :class:`Encoding`.

        Raises:
            ValueError: a missing column, blank or duplicate ids, missing or mixed-type
                labels, member values that are not true/false or none true, a text column
                that is mostly numbers, infinite or missing feature values (see
                :mod:`workbench.intake`).
        """
        for role, column in (("id", id_column), ("label", label_column), ("member", member_column)):
            if column is not None and column not in frame.columns:
                raise ValueError(f"the {role} column {column!r} is not in the records; "
                                 f"columns are {list(frame.columns)[:20]}")
        encoder = encoding.encoder if encoding else None
        features = list(encoding.features or ()) if encoding else []
        features = features or [c for c in frame.columns
                                if c not in (id_column, label_column, member_column)]
        ids = clean_ids(frame[id_column])
        classes, labels = class_names(frame[label_column], ids)
        member = (parse_membership(frame[member_column]) if member_column
                  else np.ones(len(frame), dtype=bool))
        check_members(member, member_column)
        raw = check_features(frame[features], ids, categorical)
        out = pd.DataFrame({"record_id": ids, "label": labels, "member": member})
        out = pd.concat([out, raw], axis=1)
        schema = encoder.schema if encoder else FeatureSchema.infer(raw, classes)
        encoder = encoder or TabularEncoder.fit(out[out["member"]], schema)
        columns = {"record_id": id_column, "label": label_column}
        if member_column:
            columns["member"] = member_column
        return cls(out, schema, encoder, name=name, recipe=recipe, source_columns=columns,
                   categorical=tuple(categorical))

    @classmethod
    def from_csv(cls, path: str | Path, *, id_column: str, label_column: str,
                 member_column: str | None = None, categorical: Iterable[str] = (),
                 recipe: TrainRecipe | None = None) -> RecordTable:
        """:meth:`from_frame` on a CSV file (ids read as text), named after the file; a bad
        value's error names the file."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"the records file {str(path)!r} does not exist")
        try:
            frame = pd.read_csv(path, dtype={id_column: str})
        except (ValueError, OSError, pd.errors.ParserError) as error:
            raise ValueError(f"the records file {path} cannot be read as CSV: {error}") from None
        try:
            return cls.from_frame(frame, id_column=id_column, label_column=label_column,
                                  member_column=member_column, categorical=categorical,
                                  name=path.stem, recipe=recipe)
        except ValueError as error:
            raise ValueError(f"records file {path}: {error}") from None

    def csv_source(self, path: str | Path, *, id_column: str | None = None,
                   label_column: str | None = None, member_column: str | None = None) -> str:
        """How evidence names a table read by :meth:`from_csv` (``workbench verify`` reads it
        back): ``csv:PATH#id=...&label=...&member=...``, then the categorical columns and the
        recipe when the table has them. Columns default to the ones it was read with."""
        names = self.source_columns
        parts = {"id": id_column or names.get("record_id", ""),
                 "label": label_column or names.get("label", ""),
                 "member": member_column or names.get("member", "")}
        if self.categorical:
            parts["categorical"] = ",".join(self.categorical)
        if self.recipe is not None:
            parts.update({k: str(v) for k, v in self.recipe.to_dict().items()})
        return f"csv:{Path(path).resolve()}#" + "&".join(f"{k}={v}" for k, v in parts.items())

    # --- reading -----------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the records: ``record_id``, ``label``, ``member`` and raw features."""
        return self._frame.copy()

    @property
    def ids(self) -> tuple[str, ...]:
        return self._ids

    @property
    def num_classes(self) -> int:
        return len(self.schema.classes)

    @property
    def input_space(self) -> InputSpace:
        return self.encoder.input_space()

    def __len__(self) -> int:
        return len(self._frame)

    def positions(self, ids: Iterable[str] | None = None) -> np.ndarray:
        """Row positions of ``ids`` (all rows when None); unknown ids raise ``ValueError``."""
        if ids is None:
            return np.arange(len(self._frame))
        ids = [str(i).strip() for i in ids]
        found = self._position.get_indexer(ids)
        if (found < 0).any():
            unknown = [i for i, p in zip(ids, found, strict=True) if p < 0]
            raise ValueError(f"{len(unknown)} record id(s) not in table {self.name!r}: "
                             f"{unknown[:10]}{' ...' if len(unknown) > 10 else ''}")
        return found

    def inputs(self, ids: Iterable[str] | None = None) -> torch.Tensor:
        """Model-ready inputs, shape ``(N, *input_shape)``, float32."""
        if self._inputs is None:
            self._inputs = self.encoder.transform(self._frame)
        return self._inputs[torch.from_numpy(self.positions(ids))]

    def labels(self, ids: Iterable[str] | None = None) -> torch.Tensor:
        """Class indices, shape ``(N,)``, int64."""
        labels = torch.from_numpy(self._frame["label"].to_numpy(dtype=np.int64, copy=True))
        return labels[torch.from_numpy(self.positions(ids))]

    # --- selecting ---------------------------------------------------------------
    def members(self) -> RecordSet:
        """Every training member."""
        return RecordSet(self, self._ids_where(self._frame["member"]), "training members")

    def held_out(self) -> RecordSet:
        """Every held-out record (never trained on)."""
        return RecordSet(self, self._ids_where(~self._frame["member"]), "held-out records")

    def retain_for(self, forget: RecordSet) -> RecordSet:
        """The training members that are not in ``forget``."""
        drop = set(forget.ids)
        ids = tuple(i for i in self.members().ids if i not in drop)
        return RecordSet(self, ids, f"training members minus {len(drop)} forgotten")

    def select(self, ids: Iterable[str] | None = None, *, query: str | None = None,
               classes: Iterable[int | str] | None = None) -> ForgetSet:
        """Choose training records to forget: by ids, by a pandas query, or whole classes.

        Exactly one of ``ids``, ``query`` or ``classes`` is given. ``classes`` takes class
        indices or names and makes a class-level request (every member of those classes).

        Raises:
            ValueError: unknown or duplicate ids, ids of held-out records, an empty
                selection, a selection of every training record, or an unknown class.
        """
        given = [x is not None for x in (ids, query, classes)]
        if sum(given) != 1:
            raise ValueError("select exactly one of ids=..., query=... or classes=...")
        ids = [ids] if isinstance(ids, str) else ids  # one id, not its characters
        classes = [classes] if isinstance(classes, str) else classes
        class_ids: Sequence[int]
        if ids is not None:
            chosen, rule, class_ids = self._select_ids(ids), "by record id", ()
        elif query is not None:
            chosen, rule, class_ids = self._select_query(query), f"query: {query}", ()
        else:
            assert classes is not None  # exactly one of the three was given (checked above)
            class_ids = class_indices(classes, self.schema.classes)
            mask = self._frame["member"] & self._frame["label"].isin(class_ids)
            chosen = self._ids_where(mask)
            names = [self.schema.classes[c] for c in class_ids]
            rule = f"every training record of class {', '.join(names)}"
        if not chosen:
            raise EmptySelectionError(f"the selection ({rule}) matched no training records; "
                                      "nothing to forget")
        if len(chosen) == int(self._frame["member"].sum()):
            raise EmptySelectionError(f"the selection ({rule}) holds every training record; "
                                      "forgetting all of them leaves no model to keep: train "
                                      "a new one instead")
        return ForgetSet(self, chosen, rule, tuple(class_ids))

    def _select_ids(self, ids: Iterable[str]) -> tuple[str, ...]:
        ids = [str(i).strip() for i in ids]
        refuse_duplicates(ids)  # before the lookup: a repeated unknown id is a duplicate
        return checked_member_ids(self._frame, ids, self.positions(ids))

    def members_where(self, query: str) -> tuple[str, ...]:
        """Ids of the training members for which the condition ``query`` holds (none, some
        or all of them: a filter, unlike :meth:`select`). A bad condition: ``InputError``."""
        return self._select_query(query)

    def _select_query(self, query: str) -> tuple[str, ...]:
        mask = query_mask(self._frame, query, self.source_columns, self.schema.classes)
        return self._ids_where(mask & self._frame["member"])

    def _ids_where(self, mask: pd.Series) -> tuple[str, ...]:
        return tuple(self._frame.loc[mask.to_numpy(dtype=bool), "record_id"])
