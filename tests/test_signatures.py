"""No function of the package takes more than eight parameters: past that, a frozen options
object groups them (``AuditOptions``, ``TrainingOptions``, ``RecordContext``, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.audit import checks
from workbench.evidence.lifecycle import advance
from workbench.evidence.verify import verify_record
from workbench.pipeline import EvidenceOptions, Selection, write_evidence
from workbench.pipeline.batch import run_batch
from workbench.widgets import ErasureApp, RunSettings, run_erasure
from workbench.widgets import run as run_module

MAX_PARAMETERS = 8
PACKAGE = Path(workbench.__file__).resolve().parent

def _count(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> int:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if in_class and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    return len(positional) + len(args.kwonlyargs) + (args.vararg is not None)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield item, True
        elif isinstance(node, ast.Module):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield item, False


def test_no_function_takes_more_than_eight_parameters() -> None:
    over = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for node, in_class in _functions(ast.parse(path.read_text())):
            n = _count(node, in_class)
            if n > MAX_PARAMETERS:
                over.append(f"{rel}:{node.name} ({n})")
    assert not over, f"more than {MAX_PARAMETERS} parameters: {over}"



# --- the grouped functions' old keywords: a DeprecationWarning, then the same call -----------


def test_from_frame_moves_features_and_encoder_into_encoding() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "y": [0, 1, 0], "f": [1.0, 2.0, 3.0],
                          "g": [3.0, 1.0, 2.0]})
    new = workbench.RecordTable.from_frame(frame, id_column="id", label_column="y",
                                           encoding=workbench.Encoding(features=["f"]))
    with pytest.warns(DeprecationWarning, match=r"features= is now encoding\.features"):
        old = workbench.RecordTable.from_frame(frame, id_column="id", label_column="y",
                                               features=["f"])
    assert list(old.frame.columns) == list(new.frame.columns) == ["record_id", "label",
                                                                  "member", "f"]


def test_evidence_keywords_move_into_evidence_options(tmp_path) -> None:
    with pytest.warns(DeprecationWarning, match=r"window_days= is now options\.window_days"), \
            pytest.raises(ValueError, match="audit window must be 1 to 3650 days, got 0"):
        write_evidence(None, tmp_path / "out", window_days=0)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match=r"operator= is now options\.operator"):
        assert run_batch(None, [], tmp_path, operator="alice") == ([], None)  # type: ignore
    with pytest.raises(TypeError, match="unexpected keyword argument 'approver'"):
        run_batch(None, [], tmp_path, approver="bob")  # type: ignore[arg-type]
    assert EvidenceOptions().pdf_renderer == "auto"


def test_verify_and_advance_keywords_move_into_trust_and_note(tmp_path) -> None:
    with pytest.warns(DeprecationWarning, match=r"trusted_key= is now trust\.trusted_key"), \
            pytest.raises(Exception, match="missing.json"):
        verify_record(tmp_path / "missing.json", trusted_key="00")
    with pytest.warns(DeprecationWarning, match=r"reason= is now note\.reason"), \
            pytest.raises(ValueError, match="unknown step 'nope'"):
        advance(tmp_path / "ledger.sqlite", "REQ-1", "nope", key=None,  # type: ignore[arg-type]
                actor="alice", reason="because")


def test_verdicts_moves_candidate_and_measured_into_judging(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(checks, "check_specs", lambda *args: seen.append(args[-1]) or [])
    cache: dict = {}
    with pytest.warns(DeprecationWarning, match=r"measured= is now judging\.measured"):
        assert checks.verdicts({}, {}, None, [], None, 0, ("forget", None),  # type: ignore
                               candidate="retrain", measured=cache) == ()
    assert seen == [cache] and seen[0] is cache


def test_run_settings_replace_the_method_and_audit_keywords(monkeypatch) -> None:
    with pytest.warns(DeprecationWarning, match=r"reference_models= is now "
                                                r"settings\.shadow_models"):
        app = ErasureApp(None, background=False, gold_models=2, reference_models=6)
    assert app.method.settings()["gold_models"] == 2
    assert app.method.reference_models.value == 6
    requests = []
    monkeypatch.setattr(run_module, "run_request",
                        lambda request, stage: requests.append(request) or "outcome")
    with pytest.warns(DeprecationWarning, match=r"gold_standard= is now settings"):
        assert run_erasure(None, None, Selection.by_ids(["a"]),  # type: ignore[arg-type]
                           attacks=("loss", "rmia"), gold_standard=False) == "outcome"
    assert run_erasure(None, None, Selection.by_ids(["a"]),  # type: ignore[arg-type]
                       settings=RunSettings(attacks=("loss", "rmia"), gold_standard=False)) \
        == "outcome"
    old, new = ((r.method, r.attacks, r.shadow_models, r.gold_models) for r in requests)
    assert old == new == ("synthetic", ("loss", "rmia"), 4, 0)
