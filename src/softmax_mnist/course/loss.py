"""Course API: ``SoftmaxCrossEntropyLoss(num_input, num_output, trainable=True)``.

The course fuses the linear layer and the loss in one object; here it is a thin
shell over SoftmaxRegression and functional.cross_entropy, with the course's names:
``forward(Input, labels) -> (loss, acc)``, ``gradient_computing()``, ``W``, ``b``,
``grad_W``, ``grad_b``, ``trainable``, ``num_input``, ``num_output``,
``onehot_labels(labels)`` and ``XavierInit()``.
"""

from __future__ import annotations

import numpy as np

from softmax_mnist.core.functional import accuracy, cross_entropy
from softmax_mnist.core.model import SoftmaxRegression


class SoftmaxCrossEntropyLoss:
    """A linear layer and its softmax cross-entropy, as the course's loss.py has them."""

    def __init__(self, num_input: int, num_output: int, trainable: bool = True, rng=None):
        self.num_input, self.num_output = num_input, num_output
        self.rng = np.random.default_rng(0) if rng is None else rng
        self.core = SoftmaxRegression(num_input, num_output, rng=self.rng)
        self.trainable = trainable
        self._dlogits: np.ndarray | None = None

    @property
    def params(self):  # what SGD updates: nothing when frozen
        return self.core.params if self.trainable else {}

    @property
    def grads(self):
        return self.core.grads

    W = property(lambda self: self.core.params["W"], lambda self, v: self._set("W", v))
    b = property(lambda self: self.core.params["b"], lambda self, v: self._set("b", v))
    grad_W = property(lambda self: self.core.grads["W"])
    grad_b = property(lambda self: self.core.grads["b"])

    def _set(self, key, value):
        self.core.params[key][...] = value  # in place: the optimizer holds these arrays

    def XavierInit(self) -> None:  # noqa: N802 - the course's name
        """Draw W and b again, the course's way: Normal(0, sqrt(2 / (in + out)) * sqrt(2))."""
        std = np.sqrt(2.0 / (self.num_input + self.num_output)) * np.sqrt(2.0)
        self.W = self.rng.normal(0.0, std, self.W.shape)
        self.b = self.rng.normal(0.0, std, self.b.shape)

    def onehot_labels(self, labels: np.ndarray) -> np.ndarray:
        """Integer labels (N,) as one-hot rows (N, num_output), float32."""
        labels = np.asarray(labels)
        onehot = np.zeros((len(labels), self.num_output), dtype=np.float32)
        onehot[np.arange(len(labels)), labels] = 1.0
        return onehot

    def forward(self, Input: np.ndarray, labels: np.ndarray):
        """Loss and accuracy of a batch; labels as integers (N,) or one-hot (N, C)."""
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        logits = self.core.forward(Input)
        acc = accuracy(logits, labels)
        loss, self._dlogits = cross_entropy(logits, labels, out=logits)
        return loss, acc

    def gradient_computing(self) -> None:
        """Fill grad_W (D, C) and grad_b (1, C) from the last forward."""
        self.core.backward(self._dlogits)
