"""Student submission with one mistake: momentum multiplies the gradient, not the previous step."""

import numpy as np


class SGD:
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model = model
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.diff_W = np.zeros_like(model.W)
        self.diff_b = np.zeros_like(model.b)

    def step(self):
        """One update of the weights, with momentum."""
        layer = self.model
        if layer.trainable:
            self.diff_W = self.momentum * layer.grad_W - self.learning_rate * layer.grad_W
            self.diff_b = self.momentum * layer.grad_b - self.learning_rate * layer.grad_b
            layer.W += self.diff_W
            layer.b += self.diff_b
