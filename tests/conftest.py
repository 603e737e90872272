"""Shared fixtures. Real MNIST comes from $MNIST_DATA_DIR, else ../shared/data/mnist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mnist_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA_DIR") or ROOT.parent / "shared" / "data" / "mnist")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory of the four real MNIST IDX files; fails (never skips) when it is missing."""
    d = _mnist_dir()
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    missing = [n for n in names if not (d / f"{n}.gz").is_file() and not (d / n).is_file()]
    if missing:
        pytest.fail(
            f"real MNIST not found in {d} (missing {', '.join(missing)}): set MNIST_DATA_DIR "
            "to a directory with the four IDX files, or run `softmax-mnist download --data-dir DIR`",
            pytrace=False,
        )
    return d


@pytest.fixture(scope="session")
def mnist_splits(mnist_dir):
    """The course split (55k/5k/10k), course preprocessing, loaded once per session. Read-only."""
    from softmax_mnist.datasets import load_splits

    return load_splits(mnist_dir, 5000, "course")
