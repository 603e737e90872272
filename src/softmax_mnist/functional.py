"""Pure math of softmax regression. N samples, C classes; no state, no I/O.

log_softmax(z)_ic = z_ic - max_k z_ik - log sum_k exp(z_ik - max_k z_ik)
cross_entropy     = -(1/N) sum_i log_softmax(z)_{i, y_i}
d loss / d z      = (softmax(z) - onehot(y)) / N
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (N, C) logits, stable for any finite input."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # largest entry becomes 0: exp cannot overflow
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits; every row sums to 1."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of (N, C) logits against integer labels y (N,), and its gradient.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) - onehot(y)) / N`` of shape (N, C).
    """
    n = logits.shape[0]
    rows = np.arange(n)
    logp = log_softmax(logits)
    loss = -float(logp[rows, y].mean(dtype=np.float64))
    dlogits = np.exp(logp, out=logp)  # reuse the buffer: softmax = exp(log_softmax)
    dlogits[rows, y] -= 1.0
    dlogits /= n
    return loss, dlogits


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is at the true label."""
    return float(np.mean(logits.argmax(axis=1) == y))
