"""Stage 2 of the membership audit: signals in, membership scores out (higher = member).

Three attacks, each a pure function of arrays:

- ``loss`` (Yeom et al. 2018): the score is ``-loss``; no shadow models.
- ``rmia`` (Zarifzadeh, Liu, Shokri, ICML 2024), offline: the likelihood ratio
  ``LR(x) = Pr(x | target) / Pr(x)``, with ``Pr(x | model)`` the probability of the true
  label and ``Pr(x) = (1 + a)/2 * mean_OUT Pr(x | ref) + (1 - a)/2`` estimated from the
  shadow models that did not train on ``x``. The score is the fraction of population
  records ``z`` with ``LR(x) / LR(z) >= gamma``.
- ``lira`` (Carlini et al. 2022), offline: fit a Gaussian to the logit-scaled confidence of
  ``x`` under the OUT shadow models and score the one-sided test statistic
  ``(phi_target(x) - mu_out(x)) / sigma_out``; Carlini's score ``Phi`` of it ranks records
  identically but saturates at 1 for strong members. With few shadow models the variance
  is pooled over all records (the paper's fixed-variance variant).

Every function takes signals over the same ``N`` records (one table) and returns ``(N,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.audit.metrics import roc_auc
from workbench.audit.signals import Signals
from workbench.deprecation import legacy_keywords, renamed_attributes

ATTACK_NAMES = ("loss", "rmia", "lira")
SHADOW_ATTACKS = ("rmia", "lira")
STRONGEST_FIRST = ("lira", "rmia", "loss")  # which attack speaks for an audit: the strongest run
DEFAULT_RMIA_A = 0.5
RMIA_A_GRID = tuple(round(a, 2) for a in np.linspace(0.0, 1.0, 11))
FIXED_VARIANCE_BELOW = 32  # OUT models per record under which LiRA pools the variance


@dataclass(frozen=True, eq=False)
class ShadowSignals:
    """The shadow models' signals on the same ``N`` records as the target.

    Attributes:
        confidence: ``(K, N)`` probability of the true label under each shadow model.
        scaled_confidence: ``(K, N)`` logit-scaled confidence.
        member: ``(K, N)`` bool, True where shadow model ``k`` trained on record ``n``.
    """

    confidence: np.ndarray
    scaled_confidence: np.ndarray
    member: np.ndarray

    @classmethod
    def from_signals(cls, per_model: list[Signals], member: np.ndarray) -> ShadowSignals:
        member = np.asarray(member, dtype=bool)
        if member.shape != (len(per_model), len(per_model[0]) if per_model else 0):
            raise ValueError(f"membership mask has shape {member.shape}; expected "
                             f"({len(per_model)}, number of records)")
        return cls(np.stack([s.confidence for s in per_model]),
                   np.stack([s.scaled_confidence for s in per_model]), member)

    @property
    def count(self) -> int:
        return int(self.member.shape[0])

    def out_counts(self) -> np.ndarray:
        """How many shadow models did not train on each record, shape ``(N,)``."""
        return (~self.member).sum(axis=0)


@dataclass(frozen=True, eq=False)
class AttackOptions:
    """Settings shared by the attacks.

    Attributes:
        population: positions of the population records ``z`` that RMIA compares against
            (records the target never trained on, e.g. the held-out records).
        rmia_a: RMIA's offline scaling ``a`` in [0, 1].
        rmia_gamma: RMIA's likelihood-ratio threshold ``gamma``.
        lira_fixed_variance: pool LiRA's variance over records; None decides by the number
            of OUT models per record (pooled below ``FIXED_VARIANCE_BELOW``).
    """

    population: np.ndarray | None = None
    rmia_a: float = DEFAULT_RMIA_A
    rmia_gamma: float = 1.0
    lira_fixed_variance: bool | None = None


def _out_values(values: np.ndarray, shadow: ShadowSignals, attack: str) -> np.ndarray:
    """``values`` with IN entries masked out (as NaN), after checking each record has OUTs."""
    counts = shadow.out_counts()
    if (counts == 0).any():
        raise ValueError(f"{attack} needs every record to be OUT of at least one shadow "
                         f"model; {int((counts == 0).sum())} record(s) are IN all "
                         f"{shadow.count}: train more shadow models")
    return np.where(shadow.member, np.nan, values)


def loss_attack(target: Signals) -> np.ndarray:
    """Yeom et al.: members have lower loss. Score ``-loss``, shape ``(N,)``."""
    return -target.loss


@legacy_keywords(renamed={"reference": "shadow"})
def rmia_ratio(confidence: np.ndarray, shadow: ShadowSignals, a: float) -> np.ndarray:
    """``Pr(x | target) / Pr(x)`` with RMIA's offline estimate of ``Pr(x)``, shape ``(N,)``."""
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"RMIA's offline scaling a must lie in [0, 1], got {a}")
    out_mean = np.nanmean(_out_values(shadow.confidence, shadow, "RMIA"), axis=0)
    prior = 0.5 * (1.0 + a) * out_mean + 0.5 * (1.0 - a)
    return confidence / np.maximum(prior, 1e-300)


@legacy_keywords(renamed={"reference": "shadow"})
def rmia_attack(target: Signals, shadow: ShadowSignals, *, population: np.ndarray,
                a: float = DEFAULT_RMIA_A, gamma: float = 1.0) -> np.ndarray:
    """Offline RMIA score ``Pr_z[LR(x) / LR(z) >= gamma]`` per record, shape ``(N,)``.

    Args:
        population: positions of the population records ``z`` among the ``N`` records.
    """
    population = np.asarray(population, dtype=np.int64)
    if population.size == 0:
        raise ValueError("RMIA needs population records z to compare against; none given")
    if gamma <= 0:
        raise ValueError(f"RMIA's gamma must be positive, got {gamma}")
    ratio = rmia_ratio(target.confidence, shadow, a)
    population_ratio = np.sort(ratio[population])
    wins = np.searchsorted(population_ratio, ratio / gamma, side="right")
    return wins / population_ratio.size


@legacy_keywords(renamed={"reference": "shadow"})
def tune_rmia_a(shadow: ShadowSignals,
                grid: tuple[float, ...] = RMIA_A_GRID) -> float | None:
    """Choose RMIA's ``a`` on the shadow models alone (no target data).

    Each shadow model in turn plays the target, the others its shadow models; ``a`` is
    the grid value with the best mean AUC at telling that model's IN from OUT records.
    Returns None when no shadow model can play the target (fewer than 3 models).
    """
    if shadow.count < 3:
        return None
    mean_auc = np.zeros(len(grid))
    trials = 0
    for k in range(shadow.count):
        rest = ShadowSignals(np.delete(shadow.confidence, k, axis=0),
                             np.delete(shadow.scaled_confidence, k, axis=0),
                             np.delete(shadow.member, k, axis=0))
        usable = rest.out_counts() > 0
        is_in = shadow.member[k, usable]
        if is_in.all() or not is_in.any():
            continue
        part = ShadowSignals(rest.confidence[:, usable], rest.scaled_confidence[:, usable],
                             rest.member[:, usable])
        for i, a in enumerate(grid):
            mean_auc[i] += roc_auc(rmia_ratio(shadow.confidence[k, usable], part, a), is_in)
        trials += 1
    return float(grid[int(np.argmax(mean_auc))]) if trials else None


@legacy_keywords(renamed={"reference": "shadow"})
def lira_attack(target: Signals, shadow: ShadowSignals, *,
                fixed_variance: bool | None = None) -> np.ndarray:
    """Offline LiRA test statistic ``(phi(x) - mu_out(x)) / sigma_out``, shape ``(N,)``.

    Args:
        fixed_variance: one variance pooled over every record's OUT values (within-record
            deviations); None pools when records have fewer than ``FIXED_VARIANCE_BELOW``
            OUT models. Otherwise each record gets its own OUT variance.
    """
    out = _out_values(shadow.scaled_confidence, shadow, "LiRA")
    counts = shadow.out_counts()
    if counts.min() < 2:
        raise ValueError(f"LiRA needs at least 2 OUT shadow models per record to estimate "
                         f"a spread; with {shadow.count} shadow models some records "
                         "have fewer: use 4 or more")
    mean = np.nanmean(out, axis=0)
    squares = np.nansum((out - mean) ** 2, axis=0)
    if fixed_variance is None:
        fixed_variance = bool(counts.min() < FIXED_VARIANCE_BELOW)
    if fixed_variance:
        spread = np.full_like(mean, np.sqrt(squares.sum() / (counts - 1).sum()))
    else:
        spread = np.sqrt(squares / (counts - 1))
    return (target.scaled_confidence - mean) / np.maximum(spread, 1e-6)


def _loss(target: Signals, shadow: ShadowSignals | None,
          options: AttackOptions) -> np.ndarray:
    return loss_attack(target)


def _rmia(target: Signals, shadow: ShadowSignals | None,
          options: AttackOptions) -> np.ndarray:
    if options.population is None:
        raise ValueError("RMIA needs AttackOptions.population (positions of records z)")
    return rmia_attack(target, _needs(shadow, "rmia"), population=options.population,
                       a=options.rmia_a, gamma=options.rmia_gamma)


def _lira(target: Signals, shadow: ShadowSignals | None,
          options: AttackOptions) -> np.ndarray:
    return lira_attack(target, _needs(shadow, "lira"),
                       fixed_variance=options.lira_fixed_variance)


def _needs(shadow: ShadowSignals | None, attack: str) -> ShadowSignals:
    if shadow is None:
        raise ValueError(f"attack {attack!r} needs shadow models")
    if shadow.member.shape[1] == 0:
        raise ValueError(f"attack {attack!r}: the shadow signals cover no records")
    return shadow


ATTACKS: dict[str, Callable[[Signals, ShadowSignals | None, AttackOptions], np.ndarray]] = {
    "loss": _loss, "rmia": _rmia, "lira": _lira}


@legacy_keywords(renamed={"reference": "shadow"})
def attack_scores(name: str, target: Signals, shadow: ShadowSignals | None = None,
                  options: AttackOptions | None = None) -> np.ndarray:
    """Scores of attack ``name`` (``loss``, ``rmia`` or ``lira``) on every record, ``(N,)``."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; available: {list(ATTACKS)}")
    if shadow is not None and shadow.member.shape[1] != len(target):
        raise ValueError(f"shadow signals cover {shadow.member.shape[1]} records, the "
                         f"target's {len(target)}: they must be the same records")
    return ATTACKS[name](target, shadow, options or AttackOptions())


__getattr__ = renamed_attributes(__name__, ReferenceSignals="ShadowSignals",
                                 REFERENCE_ATTACKS="SHADOW_ATTACKS")
