"""Pure math of softmax regression. N samples, C classes; no state, no I/O.

log_softmax(z)_ic = z_ic - max_k z_ik - log sum_k exp(z_ik - max_k z_ik)
cross_entropy     = -(1/N) sum_i log_softmax(z)_{i, y_i}
d loss / d z      = (softmax(z) - onehot(y)) / N

init_std(D, C)    = sqrt(4 / (D + C)), the course's init scale

cross_entropy and accuracy also take (N, K, C) logits: K models scoring the same N samples
(a stacked sweep, fit.py), each with its own mean over N. The math is the same; the
(N, K, C) array is read as N*K rows of C scores, row (i, k) with label y_i.
"""

from __future__ import annotations

import math

import numpy as np


def init_std(num_features: int, num_classes: int) -> float:
    """The course's init scale for W and b, Normal(0, sqrt(4 / (D + C))) (Xavier-style)."""
    return math.sqrt(4.0 / (num_features + num_classes))


def log_softmax(
    logits: np.ndarray, out: np.ndarray | None = None, top: np.ndarray | None = None
) -> np.ndarray:
    """Row-wise log-softmax of (N, C) logits, stable for any finite input.

    ``out``: where to write the (N, C) result; may be ``logits`` itself (overwritten).
    ``top``: ``logits.argmax(axis=1)`` when the caller has it already (for the accuracy).
    """
    if top is None:
        top = logits.argmax(axis=1)
    # the row max, read at the argmax: on rows of 10, NumPy's argmax is ~10x faster than max
    rowmax = logits[np.arange(len(logits)), top][:, None]
    shifted = np.subtract(logits, rowmax, out=out)  # largest entry becomes 0: exp cannot overflow
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits; every row sums to 1."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p


def _rows(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(N, C) or (N, K, C) logits as (N*K, C) rows (a view), their labels, and K."""
    flat = logits if logits.ndim == 2 else logits.reshape(-1, logits.shape[-1])
    k = len(flat) // len(logits)
    return flat, (y if k == 1 else np.repeat(y, k)), k


def cross_entropy(
    logits: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
    top: np.ndarray | None = None,
):
    """Mean cross-entropy of logits against integer labels y (N,), and its gradient.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) - onehot(y)) / N``, the shape
    of ``logits``. ``loss``: a float for (N, C) logits; for (N, K, C), one per model (K,).
    ``out``: where to write dlogits, the shape of ``logits``; may be ``logits`` itself, so that
    a training loop allocates nothing per batch (the logits are then overwritten).
    ``top``: the argmax of each of the N*K rows of C, when the caller has it already.
    """
    n = len(logits)
    flat, labels, k = _rows(logits, y)
    rows = np.arange(len(flat))
    logp = log_softmax(flat, out=None if out is None else out.reshape(flat.shape), top=top)
    picked = logp[rows, labels]
    if k == 1:  # the mean, summed in float64
        loss = -float(picked.sum(dtype=np.float64)) / n
    else:  # each model's mean
        loss = -picked.reshape(n, k).sum(axis=0, dtype=np.float64) / n
    dlogits = np.exp(logp, out=logp)  # reuse the buffer: softmax = exp(log_softmax)
    dlogits[rows, labels] -= 1.0
    dlogits /= n
    if logits.ndim == 2:
        return loss, dlogits
    return np.atleast_1d(loss), dlogits.reshape(logits.shape)


def correct(logits: np.ndarray, y: np.ndarray, top: np.ndarray | None = None):
    """How many rows have their largest logit at the true label: an int for (N, C) logits,
    one count per model (K,) for (N, K, C). ``top``: the rows' argmax, as in cross_entropy."""
    flat, labels, k = _rows(logits, y)
    top = flat.argmax(axis=1) if top is None else top
    if logits.ndim == 2:
        return int(np.count_nonzero(top == labels))
    return np.count_nonzero((top == labels).reshape(len(logits), k), axis=0)


def accuracy(logits: np.ndarray, y: np.ndarray, top: np.ndarray | None = None):
    """The fraction of rows ``correct``: a float for (N, C) logits, (K,) for (N, K, C)."""
    return correct(logits, y, top) / len(logits)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (C, C) int64: entry [i, j] is how many samples of true class i were predicted j."""
    y, pred = np.asarray(y, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    counts = np.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64, copy=False)
