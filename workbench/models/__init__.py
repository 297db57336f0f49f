"""Model architectures for the sample models, and safe save/load (safetensors, no pickles)."""

from workbench.models.architectures import SmallCNN, TabularMLP, build_model
from workbench.models.io import load_model, save_model

__all__ = ["SmallCNN", "TabularMLP", "build_model", "load_model", "save_model"]
