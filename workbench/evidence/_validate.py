"""Field checks shared by the audit record's dataclasses."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workbench.errors import IntegrityError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class RecordError(IntegrityError):
    """A record is unreadable, invalid, or does not match its own hash."""


class LedgerError(IntegrityError):
    """The ledger or its witness is unreadable, or its chain is broken."""


def utc_now() -> str:
    """Now as UTC ISO-8601 with seconds, e.g. ``2026-11-26T17:05:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_sha256(value: str | None, where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not _HEX64.match(value):
        raise RecordError(f"{where} must be a 64-digit lowercase hex SHA-256, got {value!r}")


def check_utc(value: str | None, where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{where} must be an ISO-8601 date or time, got {value!r}") from None
    offset = parsed.utcoffset()
    if "T" in str(value) and offset is None or (
            offset is not None and offset.total_seconds() != 0):
        raise RecordError(f"{where} must be in UTC (ending in Z or +00:00), got {value!r}")


def one_month_after(date: str) -> str:
    """The same day one calendar month later (the month's last day when it is shorter), as
    a UTC date: GDPR Art. 12(3)'s default time to answer."""
    import calendar
    import datetime as dt

    day = dt.date.fromisoformat(str(date)[:10])
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last)).isoformat()
