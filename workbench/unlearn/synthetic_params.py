"""The synthetic method's hyperparameters: defaults, bounds, and how a screen shows them."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.neighbours import SIGMA_RANGE
from workbench.unlearn.params import Params, param


@dataclass(frozen=True)
class SyntheticParams(Params):
    method = "synthetic"
    steps: int | None = param(
        None, low=1, high=20_000,
        label="Optimisation steps (at most)", unit="steps", advanced=False,
        help="maximum optimisation steps; None: 300, or 150 when only the head trains")
    optimizer: str = param(
        "sgd", choices=("sgd", "adam"),
        label="Optimiser", advanced=True,
        help="optimiser of the student")
    lr: float | None = param(None, low=1e-6, high=10.0,
                             help="learning rate of the student; None: 0.03 for tabular "
                                  "inputs, 0.01 for images")
    proxies: int = param(
        2048, low=16, high=1_000_000,
        label="Synthetic stand-in records", unit="records", advanced=False,
        help="synthetic retain proxies")
    local_fraction: float = param(
        0.25, low=0.0, high=1.0,
        label="Stand-ins near the forgotten records", unit="share, 0 to 1", advanced=True,
        help="share of proxies drawn around the forget records")
    batch_size: int = param(
        256, low=8, high=65_536,
        label="Batch size", unit="stand-ins per step", advanced=True,
        help="proxies per step")
    overwrite_weight: float | None = param(
        None, low=0.0, high=100.0,
        label="Weight of forgetting", unit="relative weight", advanced=True,
        help="weight of the forget-record overwrite loss; None: 3 with shifted targets, else 1")
    sigma: float | None = param(
        None, low=SIGMA_RANGE[0], high=SIGMA_RANGE[1],
        label="Neighbour noise", unit="standard deviations (encoded units)", advanced=True,
        help="neighbour noise; None calibrates it to the model's reported test accuracy (1.0 when "
             "there is none)")
    sigma_scale: float = param(
        1.0, low=0.1, high=10.0,
        label="Noise multiplier", unit="times the calibrated noise", advanced=True,
        help="multiplies the calibrated sigma")
    target: str = param(
        "auto", choices=("auto", "shifted", "sample", "sharpened"),
        label="Overwrite target", advanced=True,
        help="overwrite target: the neighbourhood's average logits shifted to the reported "
             "accuracy (shifted), one sampled neighbour's prediction (sample), or the "
             "neighbourhood average sharpened to the same mean confidence (sharpened); auto: "
             "shifted for record requests on tables and where only the head trains, sample "
             "where every weight of an image model trains")
    mean_share: float | None = param(
        None, low=0.0, high=1.0,
        label="Share of the average answer", unit="share, 0 to 1", advanced=True,
        help="share of the neighbourhood's mean prediction (16 neighbours) in a sampled overwrite "
             "target; None: 0.25, or 0 when only the head trains")
    stop_tolerance: float = param(
        0.0, low=0.0, high=0.5,
        label="Early-stop margin", unit="attack AUC above 0.5", advanced=True,
        help="stop once the attack AUC is at most 0.5 + this")
    mask_fraction: float = param(
        1.0, low=0.001, high=1.0,
        label="Share of weights changed", unit="share, 0 to 1", advanced=True,
        help="share of weights updated: those with the largest overwrite-loss gradient (saliency)")
    weight_anchor: float = param(
        0.0, low=0.0, high=1e6,
        label="Pull towards the original weights", unit="relative weight", advanced=True,
        help="L2 pull of the weights towards the original's")
    anchor: str = param(
        "logits", choices=("logits", "soft"),
        label="How the rest is kept", advanced=True,
        help="distil the original's logits on the proxies (mean squared error; record requests), "
             "or its soft predictions (always used for class requests, whose targets drop the "
             "class)")
    anchor_weight: float = param(
        1.0, low=0.0, high=100.0,
        label="Weight of keeping the rest", unit="relative weight", advanced=True,
        help="weight of the logit anchor")
    min_steps: int | None = param(
        None, low=0, high=20_000,
        label="Steps before an early stop", unit="steps", advanced=True,
        help="steps before stopping is considered; None: every step with shifted targets "
             "(no early stop), else 30")
    update: str = param(
        "auto", choices=("auto", "all", "head"),
        label="Weights that change", advanced=False,
        help="weights that change: all, or only the classifier head on frozen trunk features "
             "computed once (auto: the head for images of 512 pixels or more, all weights "
             "otherwise)")
    inversion_steps: int = param(
        20, low=0, high=5_000,
        label="Stand-in refinement steps", unit="steps", advanced=True,
        help="model-inversion steps that move proxies towards inputs the model assigns to a "
             "random class (0: none)")
    rank_scale: float = param(
        0.5, low=0.01, high=4.0, label="Smoothing that orders the records by hardness",
        unit="times the calibrated noise", advanced=True,
        help="noise of the neighbourhood average behind shifted targets, as a multiple of the "
             "calibrated noise (chosen on tuning requests, seeds 30000-30007); where the model "
             "card reports an unseen profile, the targets use the card's noise instead, and "
             "this one smooths the stand-ins next to the forgotten records only")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target not in ("auto", "sample") and self.mean_share:
            raise ValueError(f"synthetic: mean_share={self.mean_share} blends a sampled "
                             f"target; with target={self.target!r} leave it None or 0")
