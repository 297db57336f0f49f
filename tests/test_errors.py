"""The exception hierarchy (workbench/errors.py): kinds told apart by type, mapped to exit codes."""

from __future__ import annotations

import warnings

import pytest

from workbench.audit.model_cache import CacheError
from workbench.errors import (
    PACKAGE_DIR,
    DivergenceError,
    EmptySelectionError,
    InputError,
    IntegrityError,
    exit_code,
    warn_caller,
)
from workbench.evidence import LedgerError, RecordError
from workbench.evidence.vault import VaultError
from workbench.samples.load import IntegrityError as SampleIntegrityError


@pytest.mark.parametrize("cls", [RecordError, LedgerError, VaultError, CacheError,
                                 SampleIntegrityError])
def test_every_evidence_failure_is_an_integrity_error_with_exit_1(cls):
    assert issubclass(cls, IntegrityError)
    assert issubclass(cls, ValueError)  # kept for one release: old `except ValueError` works
    assert exit_code(cls("x")) == 1


def test_exit_codes_by_kind():
    assert exit_code(InputError("x")) == 2 and isinstance(InputError("x"), ValueError)
    assert exit_code(EmptySelectionError("x")) == 2
    assert exit_code(ValueError("x")) == 2 and exit_code(FileNotFoundError("x")) == 2
    assert exit_code(DivergenceError("x")) == 3
    assert not isinstance(DivergenceError("x"), ValueError)  # never taken for bad input
    assert exit_code(KeyboardInterrupt()) == 130
    assert exit_code(RuntimeError("x")) is None  # a bug: the traceback is shown


def test_empty_and_full_selections_raise_their_own_type(samples):
    table = samples["clinic"].records
    with pytest.raises(EmptySelectionError, match="matched no training records"):
        table.select(query="age > 1000")
    with pytest.raises(EmptySelectionError, match="holds every training record"):
        table.select(query="age > -1")
    with pytest.raises(InputError, match="cannot evaluate query"):
        table.select(query="age >")
    assert len(table.members_where("age > -1")) == len(table.members())  # a filter may match all


def test_a_warning_about_input_names_the_first_line_outside_the_package():
    with pytest.warns(UserWarning, match="direct") as direct:
        warn_caller("direct")
    assert direct[0].filename == __file__
    with warnings.catch_warnings(record=True) as caught:  # through a package frame
        warnings.simplefilter("always")
        _warn_from_inside_package()
    assert caught and caught[0].filename == __file__


def _warn_from_inside_package():
    """Calls warn_caller through a function compiled as if it lived in the package."""
    inside = str(PACKAGE_DIR / "_relay.py")
    code = compile("def relay(warn):\n    warn('from inside')\n", inside, "exec")
    scope: dict = {}
    exec(code, scope)
    scope["relay"](warn_caller)
