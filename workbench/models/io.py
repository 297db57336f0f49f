"""Save and load models as safetensors with their architecture in the file's metadata."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from workbench.atomic import atomic_path
from workbench.models.architectures import build_model

FORMAT = "erasure-workbench/1"


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Write ``model``'s weights to ``path`` (safetensors), atomically, with its architecture.

    Models without a ``spec`` attribute are saved too; loading them needs ``model=``. Tied
    weights (one tensor under two names) are written once per name and load back tied.

    Raises:
        ValueError: ``path`` is a folder or lies under a file. ``OSError`` when writing fails
            (a full disk); the old file is then kept.
    """
    state, storages = {}, set()
    for name, value in model.state_dict().items():
        tensor = value.detach().to("cpu").contiguous()
        if tensor.untyped_storage().data_ptr() in storages:  # tied weights: safetensors
            tensor = tensor.clone()  # refuses shared memory; each name gets its own copy
        storages.add(tensor.untyped_storage().data_ptr())
        state[name] = tensor
    metadata = {"format": FORMAT}
    spec = getattr(model, "spec", None)
    if spec is not None:
        metadata["architecture"] = json.dumps(spec, sort_keys=True)
    _check_target(Path(path))  # bad input, before anything is written
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return Path(path)


def _check_target(path: Path) -> None:
    """A model file's path must not be a folder, nor lie under a file."""
    if path.is_dir():
        raise ValueError(f"cannot save the model to {path}: it is a folder; name a file such as "
                         f"{path / 'model.safetensors'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"cannot save the model to {path}: {parent} is a file, not a "
                                 "folder; choose another path")
            return


def load_model(path: str | Path, *, model: nn.Module | None = None) -> nn.Module:
    """Load a model saved by :func:`save_model` (no pickle is ever unpickled).

    Args:
        path: the ``.safetensors`` file.
        model: an instance of your own architecture to load the weights into (a copy is
            not made: pass a fresh instance). Not needed for the built-in architectures.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable safetensors file, or its weights do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"model file {path} is corrupt or not a safetensors file: "
                         f"{error}") from None
    if model is None:
        if "architecture" not in metadata:
            raise ValueError(f"model file {path} does not record its architecture; "
                             "pass model=<an instance of your nn.Module>")
        model = build_model(json.loads(metadata["architecture"]))
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"weights in {path} do not fit the model: {error}") from None
    return model.eval()
