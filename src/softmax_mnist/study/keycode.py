"""The course's three functions as the report shows them: ``forward``, ``gradient_computing``
and ``step``, written the course's way (plain NumPy, Chinese comments) in about 20 lines.

The training itself runs on the engine (core/functional.cross_entropy, core/model,
core/optimizer.sgd_update), which is faster and shares one code path with the stacked
sweeps, but longer and harder to read. This module is the readable version of the same
mathematics; tests/test_keycode.py holds it equal to the engine (loss, accuracy, gradients
and a few momentum steps) to float32 rounding, so the code in the report is code that works.
report.py reads the three methods from this file's source when it builds the report.
"""

from __future__ import annotations

import numpy as np


class SoftmaxCrossEntropyLoss:
    """The course's loss layer: W (D, C), b (1, C); forward, then gradient_computing."""

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b
        self.trainable = True

    def forward(self, Input, labels):
        self.X = Input                                        # 留给反向传播
        Z = Input @ self.W + self.b                           # logit，形状 (N, C)
        Z = Z - Z.max(axis=1, keepdims=True)                  # 每行减去最大值，exp 不会溢出
        log_P = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))  # 稳定的 log-softmax
        self.P = np.exp(log_P)                                # 各类概率
        self.Y = np.eye(self.W.shape[1], dtype=Input.dtype)[labels]  # one-hot 标签
        loss = -np.mean(log_P[np.arange(len(labels)), labels])  # 平均交叉熵
        acc = np.mean(log_P.argmax(axis=1) == labels)
        return loss, acc

    def gradient_computing(self):
        dZ = (self.P - self.Y) / len(self.X)                  # ∂L/∂Z = (P − Y)/N
        self.grad_W = self.X.T @ dZ                           # ∂L/∂W = Xᵀ(P − Y)/N
        self.grad_b = dZ.sum(axis=0, keepdims=True)           # ∂L/∂b：各列求和


class SGD:
    """The course's optimizer: heavy-ball momentum; momentum 0 is plain SGD."""

    def __init__(self, model: SoftmaxCrossEntropyLoss, learning_rate: float, momentum: float = 0.0):
        self.model, self.learning_rate, self.momentum = model, learning_rate, momentum
        self.v_W, self.v_b = np.zeros_like(model.W), np.zeros_like(model.b)

    def step(self):
        m, lr, mu = self.model, self.learning_rate, self.momentum
        self.v_W = mu * self.v_W - lr * m.grad_W              # v ← μv − ηg，速度跨步保留
        self.v_b = mu * self.v_b - lr * m.grad_b
        m.W += self.v_W                                       # w ← w + v
        m.b += self.v_b
