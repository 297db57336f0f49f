"""Fashion-MNIST as a record table: read the IDX files that Debian's ``dataset-fashion-mnist``
installs (or any folder holding the same four files), with numpy only.

Records: ``FM-00001`` ... ``FM-60000`` are the training images in file order, ``FM-60001`` ...
``FM-70000`` the test images. A table of training-set size ``N`` holds ``N`` training images
as members (a seeded, class-stratified subset; the subsets are nested, so every image of the
7,500 table is also in the 15,000 one) plus the 10,000 test images as held-out records. The
training images left out of a smaller table are not in it at all: they are neither members
nor the held-out set that test accuracy and membership attacks are measured on.

The data is too big to commit (about 31 MB); nothing is downloaded at run time.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.encoders import ImageEncoder
from workbench.hashing import sha256_file
from workbench.records import ModelCard, RecordTable, TrainRecipe
from workbench.schema import FeatureSchema, FeatureSpec

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DIR = "WORKBENCH_FASHION_DIR"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")
PIXEL_SCALE = 255.0
ID_PREFIX = "FM-"
_IDX_DTYPES = {0x08: np.uint8}


class DatasetMissing(FileNotFoundError):
    """The Fashion-MNIST files are not where they were looked for."""


def install_hint() -> str:
    return (f"install Debian's package (`apt-get install -y {DEBIAN_PACKAGE}`, about 31 MB, "
            f"MIT licence), or point --data-dir / ${ENV_DIR} at a folder holding "
            f"{', '.join(FILES.values())}")


def _missing(folder: Path) -> list[str]:
    return [name for name in FILES.values() if not (folder / name).is_file()]


def _dpkg_dir() -> Path | None:
    """The folder where dpkg says the package put its images, if it is installed."""
    if shutil.which("dpkg") is None:
        return None
    try:
        listing = subprocess.run(["dpkg", "-L", DEBIAN_PACKAGE], capture_output=True, text=True,
                                 timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.stdout.splitlines():
        if line.endswith(FILES["train_images"]):
            return Path(line).parent
    return None


def find_data_dir(data_dir: str | Path | None = None) -> Path:
    """The folder holding the four Fashion-MNIST IDX files.

    Looks at ``data_dir`` when given (and nowhere else), otherwise ``$WORKBENCH_FASHION_DIR``,
    then where ``dpkg -L dataset-fashion-mnist`` says the files are, then
    ``/usr/share/datasets/fashion-mnist``.

    Raises:
        DatasetMissing: no such folder, or one of the four files is missing.
    """
    if data_dir is not None:
        folder = Path(data_dir)
        missing = _missing(folder)
        if missing:
            where = "does not exist" if not folder.is_dir() else f"lacks {missing}"
            raise DatasetMissing(f"Fashion-MNIST data folder {folder} {where}; "
                                 f"{install_hint()}")
        return folder
    candidates = [Path(os.environ[ENV_DIR])] if os.environ.get(ENV_DIR) else []
    candidates += [d for d in (_dpkg_dir(), DEBIAN_DIR) if d is not None]
    for folder in candidates:
        if not _missing(folder):
            return folder
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise DatasetMissing(f"Fashion-MNIST is not installed (looked in {looked}); {install_hint()}")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) of unsigned bytes into an array of its shape.

    Raises:
        ValueError: not an IDX file of unsigned bytes, or shorter than its header says.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} cannot be read: {error}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path} has a truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape))
    if len(raw) - header != count:
        raise ValueError(f"{path} holds {len(raw) - header} bytes of data; its header "
                         f"promises {count} for shape {shape}")
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (the inverse of :func:`read_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb", compresslevel=6) as handle:
        handle.write(header + array.tobytes())


def load_arrays(data_dir: str | Path | None = None):
    """``(train_images, train_labels, test_images, test_labels)`` as uint8 arrays.

    Images are ``(N, H, W)``; labels ``(N,)`` class indices 0-9.
    """
    folder = find_data_dir(data_dir)
    arrays = {role: read_idx(folder / name) for role, name in FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images {images.shape} and labels "
                             f"{labels.shape} do not match")
        if len(labels) and labels.max() >= len(CLASSES):
            raise ValueError(f"{folder}: {split} labels go up to {labels.max()}; "
                             f"Fashion-MNIST has {len(CLASSES)} classes")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise ValueError(f"{folder}: train and test images differ in size")
    return (arrays["train_images"], arrays["train_labels"], arrays["test_images"],
            arrays["test_labels"])


def data_hashes(data_dir: str | Path | None = None) -> dict[str, str]:
    """SHA-256 of each of the four files, by file name."""
    folder = find_data_dir(data_dir)
    return {name: sha256_file(folder / name) for name in FILES.values()}


def stratified_subset(labels: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of ``size`` records, each class in proportion to its share.

    Nested: for one seed, the subset of a smaller ``size`` lies inside that of a larger one
    (each class's records are taken in one seeded order; counts by largest remainder).
    """
    n = len(labels)
    if not 1 <= size <= n:
        raise ValueError(f"training-set size {size} is not between 1 and the {n} training "
                         "images the dataset has")
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / n
    take = np.floor(exact).astype(int)
    order = np.argsort(-(exact - take), kind="stable")
    take[order[:size - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k]
              for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen))


def pixel_names(height: int, width: int) -> list[str]:
    digits = len(str(height * width - 1))
    return [f"px{i:0{digits}d}" for i in range(height * width)]


def fashion_encoder(height: int = 28, width: int = 28) -> ImageEncoder:
    """Pixels 0-255 scaled to [0, 1], shaped ``(1, height, width)``."""
    specs = tuple(FeatureSpec(n, "pixel", 0.0, PIXEL_SCALE) for n in pixel_names(height, width))
    return ImageEncoder(FeatureSchema(specs, CLASSES), (1, height, width), PIXEL_SCALE)


def fashion_table(size: int | None = None, *, data_dir: str | Path | None = None, seed: int = 0,
                  name: str = "fashion", recipe: TrainRecipe | None = None,
                  card: ModelCard | None = None) -> RecordTable:
    """A record table of ``size`` training members (all of them when None) plus the test set;
    ``card``: what the model's owner reported (:class:`workbench.records.ModelCard`).

    Raises:
        DatasetMissing: the files are not installed (see :func:`find_data_dir`).
        ValueError: ``size`` outside 1 .. number of training images, or malformed files.
    """
    train_x, train_y, test_x, test_y = load_arrays(data_dir)
    keep = stratified_subset(train_y, len(train_y) if size is None else int(size), seed)
    height, width = train_x.shape[1:]
    ids = np.concatenate([keep, len(train_y) + np.arange(len(test_y))]) + 1
    digits = max(5, len(str(len(train_y) + len(test_y))))
    pixels = np.concatenate([train_x[keep], test_x]).reshape(len(ids), -1)
    encoder = fashion_encoder(height, width)
    reserved = pd.DataFrame({
        "record_id": [f"{ID_PREFIX}{i:0{digits}d}" for i in ids],
        "label": np.concatenate([train_y[keep], test_y]).astype(np.int64),
        "member": np.arange(len(ids)) < len(keep),
    })
    frame = pd.concat([reserved, pd.DataFrame(pixels, columns=encoder.schema.names)], axis=1)
    return RecordTable(frame, encoder.schema, encoder, name=name, recipe=recipe,
                       card=card)
