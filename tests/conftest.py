"""Shared fixtures. Real MNIST comes from $MNIST_DATA_DIR, else ../shared/data/mnist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mnist_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA_DIR") or ROOT.parent / "shared" / "data" / "mnist")


def missing_mnist_files(d: Path) -> list[str]:
    """Which of the four MNIST files ``d`` lacks under every name the package accepts
    (.gz or raw, hyphenated or dotted: train-images-idx3-ubyte or train-images.idx3-ubyte)."""
    from softmax_mnist.datasets import FILES, file_names

    return [n for n in FILES.values() if not any((d / f).is_file() for f in file_names(n))]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory of the four real MNIST IDX files; fails (never skips) when it is missing."""
    d = _mnist_dir()
    missing = missing_mnist_files(d)
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
