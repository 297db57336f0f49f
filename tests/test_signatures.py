"""No function of the package takes more than eight parameters: past that, a frozen options
object groups them (``AuditOptions``, ``TrainingOptions``, ``RecordContext``, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench

MAX_PARAMETERS = 8
PACKAGE = Path(workbench.__file__).resolve().parent
# handled elsewhere (the synthetic method's own refactor); remove entries as they are done
HANDLED_ELSEWHERE: set[str] = {
    "unlearn/synthetic.py", "unlearn/synthetic_data.py", "unlearn/synthesis.py",
    "unlearn/calibration.py",
}
# not yet grouped (issue 18, task 3): remove each entry when its function is
NOT_YET_GROUPED = {
    "records.py:from_frame", "pipeline/batch.py:run_batch", "pipeline/write.py:write_evidence",
    "audit/checks.py:verdicts", "evidence/verify.py:verify_record", "evidence/lifecycle.py:advance",
    "widgets/run.py:run_erasure", "widgets/app.py:__init__",
}


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
        if rel in HANDLED_ELSEWHERE:
            continue
        for node, in_class in _functions(ast.parse(path.read_text())):
            n = _count(node, in_class)
            if n > MAX_PARAMETERS and f"{rel}:{node.name}" not in NOT_YET_GROUPED:
                over.append(f"{rel}:{node.name} ({n})")
    assert not over, f"more than {MAX_PARAMETERS} parameters: {over}"


def test_the_allow_lists_name_only_real_offenders() -> None:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        names |= {f"{rel}:{node.name}" for node, in_class in _functions(ast.parse(path.read_text()))
                  if _count(node, in_class) > MAX_PARAMETERS}
    assert names >= NOT_YET_GROUPED, f"already fixed: {sorted(NOT_YET_GROUPED - names)}"
