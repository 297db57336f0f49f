"""Helpers for tests that drive the ``workbench`` command and tamper with a ledger."""

from __future__ import annotations

import contextlib
import io
import sqlite3

from workbench.cli import main


def run_cli(*argv) -> tuple[int, str, str]:
    """``workbench ARGV`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def tamper(path, *statements) -> None:
    """Drop the ledger's append-only triggers (as anyone with the file can) and run SQL."""
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
    for statement in statements:
        conn.execute(*((statement,) if isinstance(statement, str) else statement))
    conn.commit()
    conn.close()
