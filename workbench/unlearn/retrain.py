"""``retrain``: the gold standard. Train from scratch on the retain set with the model's recipe."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from workbench.records import ForgetSet, RecordSet, TrainRecipe
from workbench.training import reinitialise, train_classifier
from workbench.unlearn.base import DataAccess, RunContext, Unlearner, register_unlearner
from workbench.unlearn.params import Params, param


@dataclass(frozen=True)
class RetrainParams(Params):
    """Leave a field at None to take it from the model's own training recipe."""

    method = "retrain"
    epochs: int | None = param(None, low=1, high=10_000, help="training epochs (None: recipe)")
    lr: float | None = param(None, low=1e-6, high=10.0, help="learning rate (None: recipe)")
    batch_size: int | None = param(None, low=1, high=65_536, help="batch size (None: recipe)")
    weight_decay: float | None = param(None, low=0.0, high=1.0, help="weight decay (None: recipe)")


@register_unlearner
class Retrain(Unlearner[RetrainParams]):
    """Re-initialise every layer and train on the retain records only."""

    name = "retrain"
    data_access = DataAccess.RETAIN_ONLY
    Params = RetrainParams
    summary = "Gold standard: retrain from scratch on the retain set with the model's recipe."

    def unlearn(self, model: nn.Module, forget: ForgetSet, retain: RecordSet | None, *,
                params: RetrainParams, context: RunContext) -> nn.Module:
        retain = self.require_retain(retain)
        recipe = resolve_recipe(retain.table.recipe, params)
        fresh = reinitialise(model, context.seed).to(context.device)

        def progress(epoch: int, total: int, message: str) -> None:
            if epoch % max(1, total // 20) == 0 or epoch == total:
                context.report(epoch, total, fresh, float("nan"), f"retrain {message}")

        return train_classifier(fresh, retain.inputs(), retain.labels(), recipe,
                                seed=context.seed, device=context.device, progress=progress)


def resolve_recipe(recipe: TrainRecipe | None, params: RetrainParams) -> TrainRecipe:
    """The table's recipe with any parameter that is set overriding it."""
    overrides = {k: v for k, v in params.to_dict().items() if v is not None}
    if recipe is None:
        missing = [k for k in ("epochs", "lr", "batch_size") if k not in overrides]
        if missing:
            raise ValueError(f"the records carry no training recipe, so retrain needs {missing} "
                             "in params (e.g. params={'epochs': 50, 'lr': 1e-3, 'batch_size': 32})")
        return TrainRecipe(**overrides)
    return dataclasses.replace(recipe, **overrides)
