"""What :func:`~workbench.audit.audit_model` checks before any work: the attacks are known,
and every model it is given (the unlearned one, the gold standard) is a model that belongs to
this request: made from ``original``, for this forget set, and able to run on the records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import nn

from workbench.audit.attacks import ATTACK_NAMES
from workbench.audit.gold import GoldStandard
from workbench.audit.sets import AuditSets
from workbench.hashing import table_sha256, weights_sha256
from workbench.models.fit import fit_to_records
from workbench.records import ForgetSet, RecordTable
from workbench.unlearn import UnlearnResult

Gold = nn.Module | UnlearnResult | GoldStandard | Sequence[nn.Module | UnlearnResult]


def check_attacks(attacks: Iterable[str]) -> tuple[str, ...]:
    attacks = (attacks,) if isinstance(attacks, str) else tuple(attacks)
    unknown = [a for a in attacks if a not in ATTACK_NAMES]
    if unknown or not attacks or len(set(attacks)) != len(attacks):
        raise ValueError(f"attacks must be distinct names from {list(ATTACK_NAMES)}; "
                         f"got {list(attacks)}")
    return attacks


def as_module(model: object, name: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"the {name} model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def model_of(given: nn.Module | UnlearnResult, original: nn.Module, forget: ForgetSet,
              name: str) -> nn.Module:
    """The model in ``given``, checking an ``UnlearnResult`` belongs to this request."""
    label = name.replace("_", " ")
    if not isinstance(given, UnlearnResult):
        return as_module(given, label)
    if given.model is None:
        raise ValueError(f"the {label} result carries no model (results read back from JSON "
                         "do not); pass the model itself")
    if name == "gold_standard" and given.method != "retrain":
        raise ValueError("gold_standard must be retrained models, unlearn_model(..., "
                         f"method='retrain'); got a {given.method!r} result")
    if given.original_weights_sha256 != weights_sha256(original):
        raise ValueError(f"the {label} result was made from another model than `original` "
                         f"(weights {given.original_weights_sha256[:12]}...)")
    if (given.forget_rule, given.forget_count) != (forget.rule, len(forget)):
        raise ValueError(f"the {label} result forgot another selection ({given.forget_count} "
                         f"records, {given.forget_rule!r}) than `forget` ({len(forget)} records, "
                         f"{forget.rule!r})")
    check_forget_ids(given.forget_ids, forget, label)
    return given.model


def gold_models_of(given: Gold | None, original: nn.Module, forget: ForgetSet,
                 sets: AuditSets) -> list[nn.Module]:
    """The gold-standard models in ``given``, checked to belong to this request."""
    if given is None:
        return []
    if isinstance(given, GoldStandard):
        if given.original_sha256 != weights_sha256(original):
            raise ValueError("the gold standard was retrained for another model than "
                             f"`original` (weights {given.original_sha256[:12]}...)")
        if (given.forget_rule, given.forget_count) != (forget.rule, len(forget)) \
                or given.table_sha256 != table_sha256(forget.table):
            raise ValueError(f"the gold standard was retrained for another request "
                             f"({given.forget_count} records, {given.forget_rule!r}) "
                             f"than `forget` ({len(forget)} records, {forget.rule!r})")
        seen = given.trained_on[:, sets.forget].any(axis=0)
        if seen.any():
            ids = [forget.table.ids[p] for p in sets.forget[seen][:5]]
            raise ValueError(f"{int(seen.sum())} forgotten record(s) are in the training set "
                             f"of a gold-standard model (e.g. {ids}): a gold standard must be "
                             "retrained without every forgotten record")
        models = list(given.models)
    elif isinstance(given, (nn.Module, UnlearnResult)):
        models = [model_of(given, original, forget, "gold_standard")]
    elif isinstance(given, Sequence) and not isinstance(given, str) and given:
        models = [model_of(m, original, forget, "gold_standard") for m in given]
    else:
        raise ValueError(f"gold_standard must be a GoldStandard, a retrained model or result, or "
                         f"a non-empty sequence of them; got {type(given).__name__}")
    shapes = [{k: tuple(v.shape) for k, v in m.state_dict().items()} for m in models]
    if any(type(m) is not type(models[0]) or s != shapes[0]
           for m, s in zip(models, shapes, strict=True)):
        raise ValueError("the gold-standard models disagree on their architecture (class or "
                         "weight shapes); an ensemble retrains one architecture with other "
                         "seeds")
    return models


def fit_models(models: dict[str, nn.Module], table: RecordTable) -> dict[str, nn.Module]:
    """Each model checked on two records and ready to run on them (a one-logit binary
    classifier as two-class logits; its weights hash is unchanged)."""
    return {name: fit_to_records(model, table, name=f"the {name.replace('_', ' ')} model")
            for name, model in models.items()}


def check_forget_ids(given: tuple[str, ...] | None, forget: ForgetSet, label: str) -> None:
    """The ids a result forgot are ``forget``'s (the rule text and count can agree while the
    records differ)."""
    if given is None:  # a result built by hand or read back from JSON: rule and count only
        return
    other, ours = set(given), set(forget.ids)
    if other != ours:
        raise ValueError(f"the {label} result forgot other records than `forget` "
                         f"({len(other - ours)} of its {len(other)} records are not in "
                         f"`forget`, e.g. {sorted(other - ours)[:5]}; {len(ours - other)} of "
                         "`forget` were not forgotten): audit the forget set it was made for")
