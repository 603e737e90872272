"""The learner contract: what the training loop (loop.train) needs of whatever it trains.

A learner holds K settings side by side (K = 1 for one run) and does the steps; the loop owns
the epochs, the shuffled batches, the History, divergence, validation and the hooks. This
package's learner is fit.Stack (its own math); the checker's CourseLearner drives a student's
course objects through the same loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from softmax_mnist.core.optimizer import Setting


class Learner(Protocol):
    """K models trained on the same minibatches, one Setting each."""

    size: int  # K
    num_classes: int  # C, for the divergence limit (a multiple of a uniform guess's log C)
    settings: Sequence[Setting]  # one per model, named in a divergence message

    def start_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (from 1) begins: set its learning rates (the schedule)."""

    def step(self, xb: np.ndarray, yb: np.ndarray) -> tuple:
        """Train all K on one batch; their losses and accuracies, (K,) each (floats for K = 1)."""

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy of each model on (x, y): (K,) each."""

    def drop(self, mask: np.ndarray) -> None:
        """Stop training the models in the (K,) bool ``mask`` (they diverged)."""

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a checkpoint holds, as views (may be empty: nothing to save)."""

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Take up ``arrays`` (as ``arrays()`` gave them) to resume a run."""
