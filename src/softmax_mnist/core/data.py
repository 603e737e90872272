"""Find, read, split and preprocess MNIST-format data (fetching it: download.py).

The data directory is the ``data_dir`` given, else ``$MNIST_DATA_DIR``, else a per-user
cache folder. Files may be gzip-compressed (``.gz``) or not, and named with a hyphen or a
dot before ``idx`` (``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softmax_mnist.core.idx import available_memory, read_idx
from softmax_mnist.core.transforms import apply_transform, check_transform
from softmax_mnist.errors import ConfigError, DataError, advice, command, is_whole

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NUM_CLASSES = 10  # the digits 0 .. 9
NUM_FEATURES = 784  # 28 x 28 pixels, one feature each
# a label file holds at most a million labels of up to 8 bytes (images: idx.MAX_BYTES)
MAX_LABEL_BYTES = 1_000_000 * 8
PREPROCESS_MODES = ("course", "unit", "standardize")


def default_data_dir() -> Path:
    """$MNIST_DATA_DIR, else $XDG_CACHE_HOME/softmax-mnist/mnist (~/.cache/... by default)."""
    if os.environ.get("MNIST_DATA_DIR"):
        return Path(os.environ["MNIST_DATA_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "softmax-mnist" / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir) if data_dir else default_data_dir()


def file_names(name: str) -> tuple[str, ...]:
    """The names ``find_file`` accepts for ``name``, in the order it tries them.

    ``train-images-idx3-ubyte`` -> its .gz, itself, then the dotted ``train-images.idx3-ubyte``
    (Kaggle's copies and the files as Windows tools extract them) and its .gz.
    """
    dotted = name.replace("-idx", ".idx")
    names = (f"{name}.gz", name, dotted, f"{dotted}.gz")
    return tuple(dict.fromkeys(names))  # a name without "-idx" has no dotted form


def find_file(data_dir: Path, name: str) -> Path:
    """The path of ``name`` in ``data_dir`` under one of ``file_names(name)``, or a DataError
    that lists the names looked for and says how to get the file."""
    if not data_dir.is_dir():
        raise DataError(
            f"data directory {data_dir} does not exist; run `{command('download', '--data-dir', data_dir)}` "
            f"or set {advice('data_dir')} (or MNIST_DATA_DIR) to the folder of the MNIST files"
        )
    names = file_names(name)
    for candidate in names:
        if (data_dir / candidate).is_file():
            return data_dir / candidate
    raise DataError(
        f"{name} not found in {data_dir} (looked for {', '.join(names)}); "
        f"run `{command('download', '--data-dir', data_dir)}`"
    )


def load_raw(data_dir: str | os.PathLike | None, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``kind`` 'train' or 't10k', checked."""
    data_dir = resolve_data_dir(data_dir)
    key = "train" if kind == "train" else "test"
    img_path = find_file(data_dir, FILES[f"{key}_images"])
    lab_path = find_file(data_dir, FILES[f"{key}_labels"])
    # cap what is read by what the run can hold: images become float32 features (4 bytes a
    # value), labels int64; a header asking for more than the memory available is refused
    images = read_idx(img_path, memory_limit=available_memory(), copy_itemsize=4)
    labels = read_idx(lab_path, MAX_LABEL_BYTES, memory_limit=available_memory(), copy_itemsize=8)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{img_path}: expected uint8 images of shape (N, rows, cols), "
            f"got {images.dtype} {images.shape}; download it again"
        )
    if labels.ndim != 1:
        raise DataError(f"{lab_path}: expected labels of shape (N,), got {labels.shape}")
    if labels.dtype.kind not in "iu":  # NaN, inf or 2.5 is no class; a float file is no label file
        raise DataError(f"{lab_path}: labels are stored as {labels.dtype}, not as whole numbers "
                        "(MNIST labels are unsigned bytes 0..9); use the label file of the data "
                        "set, or download it again")
    if len(images) != len(labels):
        raise DataError(
            f"{img_path.name} has {len(images):,} images but {lab_path.name} has "
            f"{len(labels):,} labels; the two files must come from the same set"
        )
    bad = (labels < 0) | (labels >= NUM_CLASSES)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{lab_path}: label {int(labels[i])} at index {i} is outside 0..{NUM_CLASSES - 1}; "
            "the file is corrupt, download it again"
        )
    return images, labels.astype(np.int64)


# ---- preprocessing -------------------------------------------------------------------------


def preprocess(images: np.ndarray, mode: str = "course", stats: dict | None = None) -> np.ndarray:
    """uint8 images (N, ...) -> float32 (N, D).

    course:      x / 255, minus each image's own mean (what the course does)
    unit:        x / 255
    standardize: (x / 255 - mean) / std, with the scalars in ``stats`` (from the train split)
    """
    if mode not in PREPROCESS_MODES:
        raise ConfigError(f"unknown preprocessing {mode!r}; choose one of {PREPROCESS_MODES}")
    x = images.reshape(len(images), -1).astype(np.float32)
    x *= np.float32(1 / 255)
    if mode == "course":
        x -= x.mean(axis=1, keepdims=True)
    elif mode == "standardize":
        if stats is None:
            raise ConfigError("standardize needs the train split's mean and std (stats=...)")
        x -= np.float32(stats["mean"])
        x /= np.float32(stats["std"])
    return x


def fit_stats(images: np.ndarray) -> dict:
    """Mean and std of x / 255 over all pixels of ``images`` (the train split), as floats."""
    # exact integer sums instead of a float64 copy of the images (345 MB for MNIST's train split)
    n = images.size
    total = int(images.sum(dtype=np.int64))
    squares = int(np.einsum("i,i->", images.reshape(-1), images.reshape(-1), dtype=np.int64))
    mean = total / n
    var = max(squares / n - mean * mean, 0.0)
    return {"mean": mean / 255, "std": math.sqrt(var) / 255}


@dataclass
class Splits:
    """Preprocessed float32 features (N, NUM_FEATURES) and int64 labels for train, val and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocess: str
    stats: dict | None = None
    transform: dict | None = None  # the image transform applied before preprocessing


VAL_SIZE = 5000  # the course's split: the last 5,000 training images validate


def split_at(n: int, val_size: int = VAL_SIZE) -> int:
    """Where the training file splits: images [0, cut) train, [cut, n) validate. The one
    place of the train/validation split (load_splits, the course's Dataset, evaluate)."""
    if not is_whole(val_size) and not isinstance(val_size, np.integer) or not 0 <= val_size < n:
        raise ConfigError(f"validation size must be a whole number in 0..{n - 1}, got {val_size!r}")
    return n - int(val_size)


def load_splits(
    data_dir: str | os.PathLike | None = None,
    val_size: int = VAL_SIZE,
    preprocess_mode: str = "course",
    transform: dict | None = None,
    progress=None,
) -> Splits:
    """The course's split: first 60000 - val_size training images train, the rest validate.

    ``transform`` (see transforms.py), when given, maps every image before preprocessing.
    """
    transform = check_transform(transform)
    images, labels = load_raw(data_dir, "train")
    test_images, test_labels = load_raw(data_dir, "t10k")  # read both first: shapes must agree
    if not len(images) or not len(test_images):
        raise DataError(f"the {'training' if not len(images) else 'test'} file in "
                        f"{resolve_data_dir(data_dir)} holds no images; download MNIST again")
    if test_images.shape[1:] != images.shape[1:]:
        raise DataError(f"training images are {images.shape[1]}x{images.shape[2]} but test images "
                        f"are {test_images.shape[1]}x{test_images.shape[2]} in "
                        f"{resolve_data_dir(data_dir)}; the four files must come from one data set")
    n_train = split_at(len(images), val_size)
    images = apply_transform(images, transform, progress)
    stats = fit_stats(images[:n_train]) if preprocess_mode == "standardize" else None
    x = preprocess(images, preprocess_mode, stats)
    del images  # the uint8 copy is not needed any more: keep the peak memory down
    return Splits(
        x[:n_train], labels[:n_train], x[n_train:], labels[n_train:],
        preprocess(apply_transform(test_images, transform, progress), preprocess_mode, stats),
        test_labels,
        preprocess_mode, stats, transform,
    )
