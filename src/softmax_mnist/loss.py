"""Course API: ``SoftmaxCrossEntropyLoss(num_input, num_output, trainable=True)``.

The course fuses the linear layer and the loss in one object; here it is a thin
shell over SoftmaxRegression and functional.cross_entropy.
"""

from __future__ import annotations

import numpy as np

from softmax_mnist.functional import accuracy, cross_entropy
from softmax_mnist.model import SoftmaxRegression


class SoftmaxCrossEntropyLoss:
    """``forward(Input, labels) -> (loss, acc)``, ``gradient_computing()``; W, b, grad_W, grad_b."""

    def __init__(self, num_input: int, num_output: int, trainable: bool = True, rng=None):
        self.core = SoftmaxRegression(num_input, num_output, rng=rng)
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

    def forward(self, Input: np.ndarray, labels: np.ndarray):
        """Loss and accuracy of a batch; labels as integers (N,) or one-hot (N, C)."""
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        logits = self.core.forward(Input)
        loss, self._dlogits = cross_entropy(logits, labels)
        return loss, accuracy(logits, labels)

    def gradient_computing(self) -> None:
        """Fill grad_W (D, C) and grad_b (1, C) from the last forward."""
        self.core.backward(self._dlogits)
