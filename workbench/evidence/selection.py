"""``Selection``: how the records to forget were chosen, as data the record keeps.

A selection is a rule (record ids, a condition on the table's columns, or whole classes),
not just its result: the evidence stores it, and ``workbench verify`` re-applies it and
checks that it still yields the recorded records. A class request stays a class request
from every entry point (its audit compares with held-out records of those classes).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.audit._json import JsonRecord
from workbench.records import ForgetSet, RecordTable

KINDS = ("ids", "query", "classes")


@dataclass(frozen=True)
class Selection(JsonRecord):
    """One rule: ``ids`` (those records), ``query`` (a condition such as ``age > 60``) or
    ``classes`` (every training record of those classes, a class-level request)."""

    kind: str
    ids: tuple[str, ...] = ()
    query: str = ""
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a selection is by one of {list(KINDS)}, got {self.kind!r}")
        given = {"ids": bool(self.ids), "query": bool(self.query.strip()),
                 "classes": bool(self.classes)}
        if not given[self.kind] or sum(given.values()) != 1:
            raise ValueError(f"a selection by {self.kind} needs its {self.kind} and nothing "
                             "else (give exactly one of ids, a condition or classes)")

    @classmethod
    def by_ids(cls, ids) -> Selection:
        ids = [ids] if isinstance(ids, str) else list(ids)
        return cls("ids", ids=tuple(str(i).strip() for i in ids))

    @classmethod
    def where(cls, query: str) -> Selection:
        return cls("query", query=str(query))

    @classmethod
    def of_classes(cls, classes) -> Selection:
        classes = [classes] if isinstance(classes, str | int) else list(classes)
        return cls("classes", classes=tuple(str(c) for c in classes))

    def apply(self, table: RecordTable) -> ForgetSet:
        """The forget set this rule selects from ``table`` (``RecordTable.select``)."""
        if self.kind == "ids":
            return table.select(ids=list(self.ids))
        if self.kind == "query":
            return table.select(query=self.query)
        names = table.schema.classes
        classes = [c if c in names else _index(c) for c in self.classes]
        return table.select(classes=classes)

    def cli_args(self) -> list[str]:
        """The ``workbench erase`` options that make this selection."""
        if self.kind == "ids":
            return ["--ids", ",".join(self.ids)]
        if self.kind == "query":
            return ["--where", self.query]
        return ["--class", *self.classes]


def _index(name: str) -> int | str:
    """A class given as a number (``"3"`` when the classes are not named ``"3"``)."""
    return int(name) if name.strip().lstrip("-").isdigit() else name


def redact_ids(command: str) -> str:
    """``command`` with the record ids after ``--ids`` replaced by how many there are: a
    report names no erased record (the sealed record keeps them for ``verify``)."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return "(command not shown: it could not be parsed to leave the record ids out)"
    for i, word in enumerate(words[:-1]):
        if word == "--ids":
            words[i + 1] = f"<{len(words[i + 1].split(','))} record ids, not shown>"
    return shlex.join(words)
