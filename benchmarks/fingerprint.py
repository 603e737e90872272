"""The same seed, the same bits: sha256 (first 16 hex digits) of the weights and the whole
history of seven training runs, to compare across versions of the package.

    python benchmarks/fingerprint.py [--data-dir DIR] [--src PATH]

``--src``: import the package from another checkout's ``src`` folder (for example a
``git worktree`` of an older commit) instead of the installed one. The package's layout
changed in issue 11 (softmax_mnist.runs -> softmax_mnist.study.run); both are found.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

CASES = {
    "course SGD": dict(epochs=2),
    "course momentum": dict(epochs=2, momentum=0.9),
    "Nesterov, weight decay, lr decay": dict(epochs=2, lr=0.05, momentum=0.9, nesterov=True,
                                             weight_decay=1e-4, lr_decay="linear"),
    "batch 1000": dict(epochs=2, batch_size=1000, lr=0.1, momentum=0.5),
    "batch 10": dict(epochs=1, batch_size=10, momentum=0.9),
    "batch 1": dict(epochs=1, batch_size=1, lr=0.001),
    "batch 37, weight decay": dict(epochs=2, batch_size=37, lr=0.02, weight_decay=1e-3),
}
HISTORY = ("iter_loss", "iter_acc", "train_loss", "train_acc", "val_loss", "val_acc")


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--src", type=Path, help="a checkout's src folder to import the package from")
    args = p.parse_args()
    if args.src:
        sys.path.insert(0, str(args.src.resolve()))
    try:
        from softmax_mnist.core.config import TrainConfig
        from softmax_mnist.core.data import load_splits
        from softmax_mnist.study.run import train_model
    except ImportError:  # the layout before issue 11
        from softmax_mnist.config import TrainConfig
        from softmax_mnist.datasets import load_splits
        from softmax_mnist.runs import train_model

    data = load_splits(args.data_dir, 5000, "course")
    print("| run | W | b | history |\n|---|---|---|---|")
    for name, settings in CASES.items():
        model, hist = train_model(TrainConfig(**settings), data)
        history = digest(*(np.asarray(getattr(hist, k), np.float64) for k in HISTORY))
        print(f"| {name} | {digest(model.W)} | {digest(model.b)} | {history} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
