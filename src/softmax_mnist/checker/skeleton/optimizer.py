"""optimizer.py: minibatch SGD with momentum. Fill in the TODOs.

Check it with: softmax-mnist check <this folder>
"""

import numpy as np


class SGD:
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model = model
        self.learning_rate = learning_rate
        self.momentum = momentum
        # TODO: one velocity for W and one for b: zeros of their shapes, kept between steps

    def step(self):
        """One update of model.W and model.b from model.grad_W and model.grad_b."""
        layer = self.model
        if layer.trainable:
            # TODO: for W and for b: v <- momentum * v - learning_rate * grad, then w <- w + v
            # (with momentum 0 that is plain SGD: w <- w - learning_rate * grad)
            raise NotImplementedError("TODO in step: the update with momentum")
