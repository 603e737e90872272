"""loss.py: softmax regression's forward pass, loss and gradient. Fill in the TODOs.

Shapes: Input (N, 784), labels (N,) integers 0..9, W (784, 10), b (1, 10), logits (N, 10).
Check it with: softmax-mnist check <this folder>
"""

import numpy as np


class SoftmaxCrossEntropyLoss:
    def __init__(self, num_input, num_output, trainable=True):
        self.num_input = num_input
        self.num_output = num_output
        self.trainable = trainable
        self.XavierInit()

    def forward(self, Input, labels):
        """The batch's mean cross-entropy loss and its accuracy: return (loss, acc)."""
        # TODO: logits = Input W + b. Subtract each row's largest logit before exp (exp of a large
        # logit overflows; softmax does not change). loss = the mean over the batch of
        # -log softmax(logits)[row, label]; acc = the fraction of rows whose largest logit is at
        # the label. Keep what gradient_computing needs (the Input, the softmax, the labels).
        raise NotImplementedError("TODO in forward: the loss and the accuracy")

    def gradient_computing(self):
        """Set self.grad_W (784, 10) and self.grad_b (1, 10) from the last forward."""
        # TODO: dlogits = (softmax - onehot(labels)) / N, with N the batch size;
        # grad_W = Input^T dlogits; grad_b = dlogits summed over the batch, shape (1, 10).
        # Whole-batch array operations: no Python loop over the samples.
        raise NotImplementedError("TODO in gradient_computing: grad_W and grad_b")

    def XavierInit(self):
        """W and b drawn from Normal(0, sqrt(4 / (num_input + num_output)))."""
        std = (4 / (self.num_input + self.num_output)) ** 0.5
        self.W = np.random.normal(0, std, (self.num_input, self.num_output))
        self.b = np.random.normal(0, std, (1, self.num_output))
