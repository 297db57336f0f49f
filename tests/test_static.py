"""Static checks run with the suite, so that CI (the README's test command) runs them too:
ruff on the code, and mypy on the package, which ships ``py.typed``.

Both read their settings from pyproject.toml (``[tool.ruff]``, ``[tool.mypy]``). mypy keeps
its cache in ``.mypy_cache`` (gitignored): a warm run takes a few seconds, a cold one about
half a minute on one core.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_ruff_is_clean() -> None:
    done = _run("ruff", "check", "--no-fix", "workbench", "tests", "benchmarks", timeout=300)
    assert done.returncode == 0, f"ruff check failed:\n{done.stdout}{done.stderr}"


def test_mypy_is_clean() -> None:
    done = _run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"), "workbench", timeout=900)
    assert done.returncode == 0, f"mypy failed:\n{done.stdout}{done.stderr}"


def test_the_files_scheduled_first_exist() -> None:
    """conftest.LONGEST_FIRST names files; a renamed one would silently lose its place."""
    from conftest import LONGEST_FIRST

    present = {p.name for folder in ("tests", "notebooks") for p in (ROOT / folder).iterdir()}
    assert set(LONGEST_FIRST) <= present, sorted(set(LONGEST_FIRST) - present)
