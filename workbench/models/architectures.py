"""Small classifiers for the sample models, built from a JSON-native spec."""

from __future__ import annotations

from typing import Any

from torch import nn


class TabularMLP(nn.Module):
    """MLP for encoded tabular records: ``(N, D)`` -> logits ``(N, C)``."""

    def __init__(self, in_features: int, num_classes: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.spec = {"name": "mlp", "in_features": in_features, "num_classes": num_classes,
                     "hidden": list(hidden)}
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head: ``(N, C_in, H, W)`` -> logits ``(N, num_classes)``."""

    def __init__(self, in_channels: int, height: int, width: int, num_classes: int,
                 channels: tuple[int, int] = (16, 32), hidden: int = 64, batchnorm: bool = False):
        super().__init__()
        self.spec = {"name": "cnn", "in_channels": in_channels, "height": height, "width": width,
                     "num_classes": num_classes, "channels": list(channels), "hidden": hidden,
                     "batchnorm": batchnorm}
        c1, c2 = channels

        def block(cin: int, cout: int) -> list[nn.Module]:
            norm: list[nn.Module] = [nn.BatchNorm2d(cout)] if batchnorm else []
            return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(in_channels, c1), *block(c1, c2))
        flat = c2 * (height // 4) * (width // 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(),
                                  nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


ARCHITECTURES: dict[str, type[nn.Module]] = {"mlp": TabularMLP, "cnn": SmallCNN}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Build a freshly initialised model from its spec, e.g. ``{"name": "mlp", ...}``."""
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    for key in ("hidden", "channels"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    try:
        return ARCHITECTURES[name](**kwargs)
    except TypeError as error:
        raise ValueError(f"architecture spec {spec} does not fit {name!r}: {error}") from None
