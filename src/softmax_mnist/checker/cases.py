"""What every check works with: its verdict (CheckFailed), seeded weights and course-like
batches, the reference loss in float64, and the student's forward read as the pair (loss, acc)."""

from __future__ import annotations

import math

import numpy as np

from softmax_mnist.checker.folder import C, D
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss as RefLoss

SEED = 20240613


class DataProblem(Exception):
    """The MNIST files cannot be read: the check cannot run, for any student (exit status 2)."""


class CheckFailed(Exception):
    """A check's verdict: ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def reference(W, b):
    """This package's SoftmaxCrossEntropyLoss, in float64, holding copies of W and b."""
    ref = RefLoss(D, C)
    ref.core = SoftmaxRegression(D, C, dtype=np.float64)
    ref.W, ref.b = W, b
    return ref


def weights(rng, scale=0.05):
    return rng.normal(0.0, scale, (D, C)), rng.normal(0.0, scale, (1, C))


def batch(rng, n, W, b, noise=1.0):
    """n course-like inputs (row mean 0) and labels that the weights get right fairly often."""
    x = rng.random((n, D))
    x -= x.mean(axis=1, keepdims=True)
    y = (x @ W + b + rng.normal(0.0, noise * 0.3, (n, C))).argmax(axis=1).astype(np.int64)
    return x, y


def call_forward(model, x, y):
    out = model.forward(x.copy(), y.copy())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"forward returned {type(out).__name__}, not the pair (loss, acc)",
                          "end forward with `return loss, acc`")
    loss, acc = out
    return float(np.asarray(loss, dtype=np.float64).reshape(())), \
        float(np.asarray(acc, dtype=np.float64).reshape(()))


def close(a: float, b: float, rtol=1e-6, atol=1e-9) -> bool:
    return math.isfinite(a) and abs(a - b) <= atol + rtol * abs(b)


