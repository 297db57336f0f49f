"""A small real erasure on the clinic sample, computed once per session for evidence tests."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import workbench as wb
from workbench.audit import AuditOptions, TrainingOptions
from workbench.audit.gold import gold_standard
from workbench.evidence import RecordContext, build_record
from workbench.evidence.keys import load_key
from workbench.evidence.selection import Selection
from workbench.hashing import sha256_file
from workbench.models import save_model

KEY = load_key(Path(tempfile.mkdtemp(prefix="workbench-keys-")) / "operator.pem")
FAST = {"steps": 30, "min_steps": 5, "inversion_steps": 5}
REQUEST = {"reference": "REQ-TEST-1", "legal_basis": "GDPR Art. 17(1)(a)",
           "received": "2026-11-01", "due": "2026-12-01", "notes": "test request"}


def clinic_ids(n: int, start: int = 0) -> list[str]:
    """``n`` member ids of the clinic sample."""
    return list(wb.load_sample("clinic").records.members().ids[start:start + n])


@functools.lru_cache(maxsize=1)
def clinic_erasure():
    """(sample, forget, unlearned, gold, audit result) for 12 clinic records; ~10 s once."""
    sample = wb.load_sample("clinic")
    forget = sample.records.select(ids=clinic_ids(12))
    unlearned = wb.unlearn_model(sample.model, forget, params=FAST, device="cpu")
    cache = Path(tempfile.mkdtemp(prefix="evidence-cache-"))
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    gold = gold_standard(sample.model, forget, count=2, training=TrainingOptions(cache_dir=cache))
    result = wb.audit_model(sample.model, unlearned, records=sample.records, forget=forget,
                            gold_standard=gold, attacks=("loss", "rmia"),
                            options=AuditOptions(shadow_models=2,
                                                 config=wb.VerdictConfig(n_bootstrap=200),
                                                 training=TrainingOptions(cache_dir=cache)))
    return sample, forget, unlearned, gold, result


def unsealed_record(folder: Path):
    """An unsealed record of :func:`clinic_erasure` whose model files live in ``folder``."""
    sample, forget, unlearned, gold, result = clinic_erasure()
    after = save_model(unlearned.model, folder / "model-unlearned.safetensors")
    gold_files = [save_model(net, folder / f"gold-standard-{k}.safetensors")
                  for k, net in enumerate(gold.models)]
    context = RecordContext(request=REQUEST, model_name="clinic",
                            records_source="sample:clinic", after_file=after.name,
                            after_file_sha256=sha256_file(after),
                            gold_files=tuple((p.name, sha256_file(p)) for p in gold_files),
                            shadow_models=2, operator="tester")
    return build_record(unlearned=unlearned, audit_result=result, forget=forget,
                        selection=Selection.by_ids(forget.ids), original=sample.model,
                        context=context, gold=gold)
