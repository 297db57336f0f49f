"""Write an erasure's evidence where a crash can neither lose nor half-write it.

Every file of a run goes first into a hidden staging folder beside the output
(``.NAME.staging-XXXX``, with a ``staging.json`` marker naming the run's process, vault and
ledger). The ledger entry is committed with the record in staging; only then is the folder
published: an earlier evidence folder at the output is moved aside (``NAME.superseded-TIME``,
never deleted) and the staging folder is renamed into place. So at any crash point:

- before the commit: the output is untouched and the staged record is on no ledger. The next
  run into the same output finds the staging folder, deletes it and shreds its vault
  (``recover_staged``): no sealed record claims a ledger entry it never got.
- after the commit: the staged record is on the ledger; the next run publishes it first
  (into the output if free, else ``NAME.recovered-TIME``). A superseded folder is never lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.evidence.ledger import find_entry
from workbench.evidence.record import load_record
from workbench.evidence.vault import shred_vault

MARKER = "staging.json"
RECORD = "record.json"


@dataclass(frozen=True)
class Recovered:
    """What ``recover_staged`` did with one staging folder: ``published`` or ``removed``."""

    staging: Path
    action: str
    target: Path | None = None


def staging_folders(out: Path) -> list[Path]:
    """The staging folders of earlier runs into ``out``."""
    return sorted(out.parent.glob(f".{out.name}.staging-*")) if out.parent.exists() else []


def new_staging(out: Path, *, vault_id: str, ledger: Path) -> Path:
    """Create the hidden staging folder of one run, with its marker."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    marker = {"pid": os.getpid(), "vault_id": vault_id, "ledger": str(Path(ledger).resolve()),
              "out": str(out.resolve())}
    (folder / MARKER).write_text(json.dumps(marker) + "\n")
    return folder


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _aside(out: Path, kind: str) -> Path:
    return out.with_name(f"{out.name}.{kind}-{_stamp()}")


def move_aside(out: Path) -> Path | None:
    """Move an evidence folder at ``out`` to ``NAME.superseded-TIME``; drop an empty one."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
        return None
    if not out.exists():
        return None
    aside = _aside(out, "superseded")
    os.rename(out, aside)
    return aside


def publish(staging: Path, out: Path) -> Path | None:
    """Move an earlier folder at ``out`` aside (returned), then rename ``staging`` to ``out``.

    Only evidence is ever moved aside: a folder holding other files is refused before any
    work (:func:`~workbench.pipeline.write.check_out_dir`).
    """
    aside = move_aside(out)
    os.rename(staging, out)
    (out / MARKER).unlink()
    return aside


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_staged(out: Path) -> list[Recovered]:
    """Finish or undo the staged runs into ``out`` whose process has ended."""
    done = []
    for staging in staging_folders(out):
        try:
            marker = json.loads((staging / MARKER).read_text())
        except (OSError, ValueError):
            marker = {}
        if _alive(int(marker.get("pid", 0))):
            continue  # another run writing into the same output right now
        committed = False
        if (staging / RECORD).is_file() and marker.get("ledger") \
                and Path(marker["ledger"]).exists():
            with contextlib.suppress(ValueError, OSError):
                sealed = load_record(staging / RECORD).sealed_sha256()  # RecordError: a ValueError
                committed = find_entry(Path(marker["ledger"]), sealed) is not None
        if committed:
            target = out if not out.exists() else _aside(out, "recovered")
            os.rename(staging, target)
            (target / MARKER).unlink()
            done.append(Recovered(staging, "published", target))
            continue
        if marker.get("vault_id"):
            shred_vault(marker["vault_id"])  # the erased rows of a run that never committed
        shutil.rmtree(staging)
        done.append(Recovered(staging, "removed"))
    return done
