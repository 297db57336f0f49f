"""Names: no public verb shadows a module, and every old name still works, with a warning.

``workbench.audit`` and ``workbench.unlearn`` are packages (their verbs are ``audit_model``
and ``unlearn_model``); ``workbench.audit.signals`` and ``workbench.widgets.app`` are modules
(``record_signals``, ``erasure_app``). Calling a module by its old verb name warns and runs.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest
from audit_toys import forget_ids, toy_model, toy_table

import workbench
from workbench.audit import audit_model, record_signals
from workbench.unlearn import unlearn_model
from workbench.widgets import erasure_app

MODULES = sorted(m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench."))


def test_the_walk_finds_every_package() -> None:
    assert {"workbench.audit.metrics", "workbench.audit.signals", "workbench.unlearn.api",
            "workbench.widgets.app", "workbench.evidence.verify"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports_by_its_dotted_name(name: str) -> None:
    module = importlib.import_module(name)
    parent, _, leaf = name.rpartition(".")
    assert isinstance(module, types.ModuleType) and module.__name__ == name
    # `import a.b.c as M` binds getattr(a.b, "c"): the module, never a function of that name
    assert getattr(importlib.import_module(parent), leaf) is module
    namespace: dict[str, object] = {}
    exec(f"import {name} as M", namespace)
    assert namespace["M"] is module


def test_package_attributes_resolve() -> None:
    import workbench.audit.metrics as metrics

    assert metrics.attack_metrics is workbench.audit.attack_metrics
    assert workbench.audit.attack_scores is workbench.audit.attacks.attack_scores
    assert workbench.audit_model is audit_model and workbench.unlearn_model is unlearn_model
    assert workbench.audit.record_signals is record_signals


@pytest.fixture(scope="module")
def request_():
    table = toy_table(120, seed=3)
    return table, toy_model(table, seed=3), table.select(ids=forget_ids(table, 30, seed=3))


def _same(a, b) -> bool:
    a, b = a.to_dict(), b.to_dict()
    a.pop("wall_time_s"), b.pop("wall_time_s")
    return a == b


def test_old_verbs_warn_and_return_the_same_result(request_) -> None:
    table, model, forget = request_
    fast = {"steps": 3, "proxies": 64, "min_steps": 0}
    new = unlearn_model(model, forget, params=fast, device="cpu")
    with pytest.warns(DeprecationWarning, match=r"workbench\.unlearn_model"):
        old = workbench.unlearn(model, forget, params=fast, device="cpu")
    assert old.weights_sha256 == new.weights_sha256
    kwargs = {"records": table, "forget": forget, "attacks": ("loss",)}
    audited = audit_model(model, new, **kwargs)
    with pytest.warns(DeprecationWarning, match=r"workbench\.audit_model"):
        assert _same(workbench.audit(model, new, **kwargs), audited)
    with pytest.warns(DeprecationWarning, match="record_signals"):
        signals = workbench.audit.signals(model, table)
    assert (signals.loss == record_signals(model, table).loss).all()


@pytest.mark.parametrize(("module", "old", "new"), [
    ("workbench.audit", "audit", "audit_model"),
    ("workbench.audit.api", "audit", "audit_model"),
    ("workbench.unlearn", "unlearn", "unlearn_model"),
    ("workbench.unlearn.api", "unlearn", "unlearn_model"),
    ("workbench.audit.signals", "signals", "record_signals"),
    ("workbench.widgets.app", "app", "erasure_app"),
])
def test_old_attribute_names_warn_and_are_the_new_objects(module: str, old: str,
                                                          new: str) -> None:
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{module}.{old} is deprecated"):
        got = getattr(mod, old)
    assert got is getattr(mod, new)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mod.nope  # noqa: B018


def test_from_imports_of_old_names_warn() -> None:
    with pytest.warns(DeprecationWarning):
        from workbench.unlearn import unlearn
    assert unlearn is unlearn_model
    with pytest.warns(DeprecationWarning):
        from workbench.audit.signals import signals
    assert signals is record_signals


def test_the_app_module_is_callable_with_a_warning(monkeypatch) -> None:
    import workbench.widgets.app as app_module

    built = []
    monkeypatch.setattr(app_module, "ErasureApp", lambda *a, **k: built.append((a, k)))
    with pytest.warns(DeprecationWarning, match="erasure_app"):
        workbench.widgets.app("clinic", seed=1)
    assert built == [(("clinic",), {"seed": 1})]
    assert erasure_app.__module__ == "workbench.widgets.app"


def test_old_keywords_warn_map_onto_the_options_and_unknown_ones_still_fail(request_,
                                                                             tmp_path) -> None:
    table, model, forget = request_
    new = audit_model(model, model, records=table, forget=forget, attacks=("loss",),
                      options=workbench.AuditOptions(seed=2))
    with pytest.warns(DeprecationWarning, match=r"seed= is now options\.seed"):
        old = audit_model(model, model, records=table, forget=forget, attacks=("loss",), seed=2)
    assert _same(old, new)
    with pytest.raises(TypeError, match="unexpected keyword argument 'sead'"):
        audit_model(model, model, records=table, forget=forget, sead=2)
    with pytest.warns(DeprecationWarning, match=r"cache_dir= is now training\.cache_dir"):
        shadows = workbench.audit.shadow_models(model, table, count=2, cache_dir=tmp_path)
    assert shadows.path.parent.parent == tmp_path
    with pytest.raises(TypeError, match="got both 'reference'"):
        audit_model(model, model, records=table, forget=forget, reference=model,
                    gold_standard=model)


def test_renamed_record_fields_keep_their_json_keys(request_) -> None:
    table, model, forget = request_
    result = audit_model(model, model, records=table, forget=forget, attacks=("loss", "rmia"),
                         options=workbench.AuditOptions(shadow_models=2))
    data = result.to_dict()
    assert "reference" in data and "shadow_models" not in data  # the signed schema is unchanged
    again = type(result).from_dict(data)
    assert again.shadow_models == result.shadow_models
    with pytest.warns(DeprecationWarning, match="AuditResult.shadow_models"):
        assert result.reference == result.shadow_models
    with pytest.warns(DeprecationWarning):
        import workbench.audit.reference as old_module

        assert old_module.reference_models is workbench.audit.shadow_models
