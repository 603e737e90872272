"""Shared fixtures. Real MNIST is looked for where the CLI looks ($MNIST_DATA_DIR, else the
download cache ~/.cache/softmax-mnist/mnist), then in ../shared/data/mnist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mnist_candidates() -> list[Path]:
    """The folders searched, in order: the CLI's default (datasets.default_data_dir, which is
    $MNIST_DATA_DIR when set, else the download cache), then the steering repo's copy."""
    from softmax_mnist.core.data import default_data_dir

    if os.environ.get("MNIST_DATA_DIR"):
        return [Path(os.environ["MNIST_DATA_DIR"])]
    return [default_data_dir(), ROOT.parent / "shared" / "data" / "mnist"]


def _mnist_dir() -> Path:
    found = [d for d in mnist_candidates() if d.is_dir() and not missing_mnist_files(d)]
    return found[0] if found else mnist_candidates()[0]


def missing_mnist_files(d: Path) -> list[str]:
    """Which of the four MNIST files ``d`` lacks under every name the package accepts
    (.gz or raw, hyphenated or dotted: train-images-idx3-ubyte or train-images.idx3-ubyte)."""
    from softmax_mnist.core.data import FILES, file_names

    return [n for n in FILES.values() if not any((d / f).is_file() for f in file_names(n))]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory of the four real MNIST IDX files; fails (never skips) when it is missing."""
    d = _mnist_dir()
    missing = missing_mnist_files(d)
    if missing:
        pytest.fail(
            f"real MNIST not found in {' or '.join(map(str, mnist_candidates()))} (missing "
            f"{', '.join(missing)} in {d}): set MNIST_DATA_DIR "
            "to a directory with the four IDX files, or run `softmax-mnist download --data-dir DIR`",
            pytrace=False,
        )
    return d


@pytest.fixture(scope="session")
def mnist_splits(mnist_dir):
    """The course split (55k/5k/10k), course preprocessing, loaded once per session. Read-only."""
    from softmax_mnist.core.data import load_splits

    return load_splits(mnist_dir, 5000, "course")


def start_serve(*args: str, env: dict | None = None, cwd=None, timeout: float = 60):
    """`softmax-mnist serve ARGS` in a subprocess: (process, the URL's match, the first line).
    Fails the test, with the server's stderr, when no URL line comes within ``timeout`` s.
    The first line is read on a thread (select() takes no pipes on Windows)."""
    import re
    import subprocess
    import sys
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "softmax_mnist.apps.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace", env=env, cwd=cwd)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = first[0] if first else ""
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        pytest.fail(f"`softmax-mnist serve` did not start: {line!r} {proc.stderr.read()!r}")
    return proc, match, line
