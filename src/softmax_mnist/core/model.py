"""SoftmaxRegression: one linear layer, logits = X W + b.

Shapes: X (N, D), W (D, C), b (1, C), logits (N, C). ``params`` and ``grads`` are
dicts with the same keys; they are the whole contract with the optimizer.

K models side by side (a stacked sweep, fit.py) are one SoftmaxRegression with ``copies=K``:
W (D, K*C) and b (1, K*C), model k owning columns k*C .. k*C+C-1, so the K models' logits are
one (N, K*C) product. Column j of X W depends on column j of W only: the models stay apart.
"""

from __future__ import annotations

import numpy as np

from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES
from softmax_mnist.core.functional import init_std, softmax


class SoftmaxRegression:
    """Linear softmax classifier with the course's init: W, b ~ Normal(0, init_std(D, C)).

    ``copies``: K models side by side, all starting from the one init drawn from ``rng``.
    """

    def __init__(
        self,
        num_features: int = NUM_FEATURES,
        num_classes: int = NUM_CLASSES,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float32,
        copies: int = 1,
    ):
        rng = np.random.default_rng(0) if rng is None else rng
        std = init_std(num_features, num_classes)
        W = rng.normal(0.0, std, (num_features, num_classes)).astype(dtype)
        b = rng.normal(0.0, std, (1, num_classes)).astype(dtype)
        self.num_classes, self.copies = num_classes, copies
        self.params = {"W": np.tile(W, (1, copies)), "b": np.tile(b, (1, copies))}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._X: np.ndarray | None = None

    @property
    def W(self) -> np.ndarray:
        return self.params["W"]

    @property
    def b(self) -> np.ndarray:
        return self.params["b"]

    def forward(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Logits (N, C) = X (N, D) @ W (D, C) + b (1, C); keeps X for backward.

        ``out``: an (N, C) array to write the logits into (a training loop's reused buffer).
        """
        self._X = X
        logits = np.matmul(X, self.params["W"], out=out)
        logits += self.params["b"]
        return logits

    def backward(self, dlogits: np.ndarray) -> None:
        """From dL/dlogits (N, C): dW = X^T dlogits (D, C), db = sum over N (1, C)."""
        assert self._X is not None, "backward() needs a forward() first"
        X, dW = self._X, self.grads["W"]
        if X.dtype != dlogits.dtype or X.dtype != dW.dtype:
            np.matmul(X.T, dlogits, out=dW)  # mixed dtypes: cast into dW
        elif len(X) >= 64:
            # the same sums as dlogits^T X, transposed: OpenBLAS runs this layout ~10% faster
            dW[...] = np.dot(dlogits.T, X).T
        else:
            np.dot(X.T, dlogits, out=dW)  # as matmul, minus ~10 us of overhead at N = 1
        dlogits.sum(axis=0, keepdims=True, out=self.grads["b"])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C)."""
        return softmax(X @ self.params["W"] + self.params["b"])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most likely class (N,)."""
        return (X @ self.params["W"] + self.params["b"]).argmax(axis=1)

    def select(self, first: int, stop: int) -> SoftmaxRegression:
        """Models ``first`` .. ``stop - 1`` of a stacked model, as a new (copied) model."""
        C = self.num_classes
        part = SoftmaxRegression.__new__(SoftmaxRegression)
        part.num_classes, part.copies, part._X = C, stop - first, None
        part.params = {k: v[:, first * C:stop * C].copy() for k, v in self.params.items()}
        part.grads = {k: np.zeros_like(v) for k, v in part.params.items()}
        return part
