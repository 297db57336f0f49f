"""Quick model metrics: accuracy and the loss-threshold membership AUC (Yeom et al.)."""

from __future__ import annotations

import numpy as np
from torch import nn

from workbench.auc import auc
from workbench.records import RecordSet
from workbench.training import accuracy, per_record_loss


def loss_mia_auc(model: nn.Module, members: RecordSet, non_members: RecordSet) -> float:
    """ROC AUC of the score ``-loss`` for telling ``members`` from ``non_members``.

    0.5 is no membership signal; higher means members have visibly lower loss.
    """
    if len(members) == 0 or len(non_members) == 0:
        raise ValueError("a membership AUC needs at least one member and one non-member")
    member_loss = per_record_loss(model, members.inputs(), members.labels()).numpy()
    other_loss = per_record_loss(model, non_members.inputs(), non_members.labels()).numpy()
    scores = -np.concatenate([member_loss, other_loss])
    truth = np.r_[np.ones(len(member_loss), bool), np.zeros(len(other_loss), bool)]
    return auc(scores, truth)


def set_accuracy(model: nn.Module, records: RecordSet) -> float:
    """Accuracy of ``model`` on a record set."""
    return accuracy(model, records.inputs(), records.labels())
