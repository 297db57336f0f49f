"""The witness: a file, kept apart from the ledger, of every head the ledger reached.

After every append :func:`record_head` adds the new head (sequence and entry hash);
appending first checks the ledger's head is the last one the witness saw
(:func:`check_head`), and ``verify_ledger(witness=...)`` compares the chain with every head
(:func:`compare_heads`): a truncated or rewritten ledger shows even when each entry still
looks valid. One witness file per ledger (``$WORKBENCH_WITNESS``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.evidence._validate import LedgerError, utc_now
from workbench.hashing import canonical_json


def default_witness_path() -> Path | None:
    """``$WORKBENCH_WITNESS`` if set (no witness otherwise)."""
    env = os.environ.get("WORKBENCH_WITNESS")
    return Path(env) if env else None


def witness_heads(witness: Path, ledger: Path) -> list[dict[str, Any]]:
    if not witness.exists():
        return []
    try:
        lines = [json.loads(line) for line in witness.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        raise LedgerError(f"witness {witness} cannot be read: {error}") from None
    return lines  # one witness file per ledger: each line is a head that ledger reached


def record_head(witness: Path, ledger: Path, seq: int, ehash: str) -> None:
    witness.parent.mkdir(parents=True, exist_ok=True)
    line = canonical_json({"ledger": str(ledger.resolve()), "seq": seq, "entry_hash": ehash,
                           "at": utc_now()})
    with witness.open("a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def check_head(witness: Path, ledger: Path, head_seq: int, head: str | None) -> None:
    seen = witness_heads(witness, ledger)
    if seen and (seen[-1]["seq"], seen[-1]["entry_hash"]) != (head_seq, head):
        raise LedgerError(f"the witness {witness} last saw entry {seen[-1]['seq']} "
                          f"({seen[-1]['entry_hash'][:16]}...) but the ledger's head is entry "
                          f"{head_seq}: the ledger was truncated or rewritten (or the witness "
                          "belongs to another copy); nothing was appended")


def compare_heads(witness: Path, ledger: Path, by_seq: dict[int, str]
                  ) -> tuple[str | None, int]:
    """The first head the witness saw that the ledger (``by_seq``: sequence -> entry hash) no
    longer holds or holds changed, and how many heads it saw."""
    seen = witness_heads(witness, ledger)
    for w in seen:
        if w["seq"] not in by_seq:
            return (f"the witness saw entry {w['seq']}, which the ledger no longer holds: the "
                    f"ledger was truncated (its head is entry {len(by_seq)})", len(seen))
        if by_seq[w["seq"]] != w["entry_hash"]:
            return (f"entry {w['seq']} differs from the one the witness saw: the chain was "
                    "rewritten", len(seen))
    return None, len(seen)
