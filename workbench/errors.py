"""The workbench's exceptions, one per kind of failure, each with its CLI exit code.

The scikit-learn pattern: a bad-input error is also a ``ValueError`` (so ``except ValueError``
keeps working), and the kinds that are *not* bad input are told apart by type, never by the
text of a message.

| class                  | means                                          | exit |
|------------------------|------------------------------------------------|------|
| ``InputError``         | bad input, refused before any work             | 2    |
| ``EmptySelectionError``| a selection matched no (or every) training record | 2 |
| ``IntegrityError``     | evidence does not verify: tampered or missing  | 1    |
| ``DivergenceError``    | a method produced non-finite weights           | 3    |

``IntegrityError`` subclasses ``ValueError`` too, for one release: code that caught the
record, ledger and vault errors as ``ValueError`` still does. Test for ``IntegrityError``
first (the CLI does).

A warning about the caller's input (:func:`warn_caller`) names the first line outside the
package, wherever inside it the problem was found.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

EXIT_OK, EXIT_INTEGRITY, EXIT_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""

    exit_code = EXIT_INPUT


class InputError(WorkbenchError, ValueError):
    """Bad input (a field, file or option), refused before any work starts."""


class EmptySelectionError(InputError):
    """A selection of records to forget matched no training record, or every one."""


class IntegrityError(WorkbenchError, ValueError):
    """Evidence that does not verify: a record, ledger, vault, cache entry or sample file
    that was altered, truncated or is missing."""

    exit_code = EXIT_INTEGRITY


class DivergenceError(WorkbenchError, ArithmeticError):
    """An unlearning method produced non-finite weights (the original is untouched)."""

    exit_code = EXIT_DIVERGED


def exit_code(error: BaseException) -> int | None:
    """The CLI exit code of ``error``, or None when it is not an expected failure."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, WorkbenchError):
        return error.exit_code
    if isinstance(error, (ValueError, FileNotFoundError)):
        return EXIT_INPUT
    return None


PACKAGE_DIR = Path(__file__).resolve().parent


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn about the caller's input, attributed to the first frame outside the workbench
    package (the user's line, not the internal function that noticed); where every frame is
    inside it (the CLI), to the outermost one."""
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and _inside_package(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _inside_package(filename: str) -> bool:
    return PACKAGE_DIR in Path(filename).resolve().parents
