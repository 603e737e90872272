"""The optimised training loop computes what the plain one does: the in-place, buffer-reusing
fit equals a straightforward NumPy reference (float32 tolerance), the same seed gives the
same bits, and the out=/top= fast paths equal the allocating ones bit for bit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.fit import fit
from softmax_mnist.core.functional import cross_entropy, log_softmax
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.course.optimizer import SGD


def blobs(n=230, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    x = 2.0 * np.eye(c, d)[y] + rng.normal(0.0, 1.0, (n, d))
    return x.astype(np.float32), y.astype(np.int64)


def reference_fit(x, y, epochs, batch_size, lr, momentum, weight_decay, nesterov, seed,
                  lr_decay="none"):
    """What fit does, written the obvious way: fresh arrays everywhere, float64 bookkeeping."""
    rng = np.random.default_rng(seed)
    c = int(y.max()) + 1
    std = np.sqrt(4.0 / (x.shape[1] + c))
    W = rng.normal(0.0, std, (x.shape[1], c)).astype(np.float32)
    b = rng.normal(0.0, std, (1, c)).astype(np.float32)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    losses, accs = [], []
    for epoch in range(1, epochs + 1):
        rate = lr * (epochs - epoch + 1) / epochs if lr_decay == "linear" else lr
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            logits = xb @ W + b
            accs.append(np.mean(logits.argmax(axis=1) == yb))
            z = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            losses.append(-np.mean(np.log(p[np.arange(len(yb)), yb].astype(np.float64))))
            d = (p - np.eye(c, dtype=np.float32)[yb]) / len(yb)
            gW = xb.T @ d + weight_decay * W
            gb = d.sum(axis=0, keepdims=True)
            vW = momentum * vW - rate * gW
            vb = momentum * vb - rate * gb
            if nesterov:
                W = W + momentum * vW - rate * gW
                b = b + momentum * vb - rate * gb
            else:
                W, b = W + vW, b + vb
    return W, b, np.array(losses), np.array(accs)


def package_fit(x, y, epochs, batch_size, lr, momentum, weight_decay, nesterov, seed,
                lr_decay="none"):
    rng = np.random.default_rng(seed)
    model = SoftmaxRegression(x.shape[1], int(y.max()) + 1, rng=rng)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
                         nesterov=nesterov, weight_decay=weight_decay, lr_decay=lr_decay)
    r = fit(config, train_only(x, y), model=model, rng=rng)
    hist = r.history
    return model.W, model.b, np.array(hist.iter_loss), np.array(hist.iter_acc), r


def train_only(x, y) -> SimpleNamespace:
    return SimpleNamespace(x_train=x, y_train=y, x_val=None, y_val=None)


CASES = [  # batch size, lr, momentum, weight decay, nesterov, lr decay
    (1, 0.05, 0.0, 0.0, False, "none"),
    (7, 0.1, 0.9, 0.0, False, "none"),
    (32, 0.2, 0.9, 1e-3, True, "linear"),
    (100, 0.5, 0.5, 0.0, False, "linear"),
    (230, 1.0, 0.9, 0.0, False, "none"),  # the whole set in one batch
]


@pytest.mark.parametrize("batch_size, lr, momentum, wd, nesterov, decay", CASES)
def test_fit_equals_the_straightforward_reference(batch_size, lr, momentum, wd, nesterov, decay):
    x, y = blobs()
    ref = reference_fit(x, y, 3, batch_size, lr, momentum, wd, nesterov, seed=5, lr_decay=decay)
    got = package_fit(x, y, 3, batch_size, lr, momentum, wd, nesterov, seed=5, lr_decay=decay)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(got[3], ref[3])  # accuracies: the same argmax every batch
    assert got[4].setting.lr == lr  # the base rate is reported, not the last decayed one


@pytest.mark.parametrize("batch_size", [1, 10, 100, 230])
def test_same_seed_same_bits(batch_size):
    x, y = blobs(seed=1)
    a = package_fit(x, y, 2, batch_size, 0.1, 0.9, 1e-4, False, seed=3)
    b = package_fit(x, y, 2, batch_size, 0.1, 0.9, 1e-4, False, seed=3)
    for u, v in zip(a[:4], b[:4]):
        np.testing.assert_array_equal(u, v)


def test_linear_decay_is_epochs_at_decreasing_rates():
    """lr_decay='linear' over E epochs equals E one-epoch fits at lr (E - e + 1) / E."""
    x, y = blobs(seed=2)
    W, b, _, _, _ = package_fit(x, y, 4, 16, 0.2, 0.9, 0.0, False, seed=4, lr_decay="linear")
    rng = np.random.default_rng(4)
    model = SoftmaxRegression(x.shape[1], int(y.max()) + 1, rng=rng)
    velocity = SGD(model, 0.2, 0.9).velocity  # carried from one epoch's fit to the next
    for e in range(1, 5):
        config = TrainConfig(epochs=1, batch_size=16, lr=0.2 * (4 - e + 1) / 4, momentum=0.9)
        fit(config, train_only(x, y), model=model, rng=rng, velocity=velocity)
    np.testing.assert_array_equal(model.W, W)
    np.testing.assert_array_equal(model.b, b)


@pytest.mark.parametrize("n", [1, 3, 50])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_cross_entropy_equals_the_allocating_one(n, dtype):
    rng = np.random.default_rng(n)
    z = (rng.normal(size=(n, 10)) * 5).astype(dtype)
    y = rng.integers(0, 10, n)
    loss, d = cross_entropy(z, y)
    buf = z.copy()
    loss2, d2 = cross_entropy(buf, y, out=buf, top=z.argmax(axis=1))
    # written into buf itself (the result is buf, or a view of all of it), nothing allocated
    assert d2.shape == buf.shape and np.shares_memory(d2, buf) and loss2 == loss
    assert d2 is buf or d2.base is buf
    np.testing.assert_array_equal(d2, d)
    np.testing.assert_array_equal(buf, d)
    np.testing.assert_array_equal(log_softmax(z), log_softmax(z.copy(), out=np.empty_like(z)))


def test_forward_into_a_buffer_equals_forward():
    rng = np.random.default_rng(0)
    model = SoftmaxRegression(20, 5, rng=rng)
    x = rng.normal(size=(7, 20)).astype(np.float32)
    buf = np.empty((7, 5), np.float32)
    out = model.forward(x, out=buf)
    assert out is buf
    np.testing.assert_array_equal(out, model.forward(x))


def test_backward_with_mixed_dtypes_still_casts_into_the_gradient():
    """float64 inputs to a float32 model: the np.dot fast path does not apply, matmul casts."""
    rng = np.random.default_rng(0)
    model = SoftmaxRegression(20, 5, rng=rng)
    x = rng.normal(size=(6, 20))
    _, d = cross_entropy(model.forward(x), rng.integers(0, 5, 6))
    model.backward(d)
    assert model.grads["W"].dtype == np.float32
    np.testing.assert_allclose(model.grads["W"], x.T @ d, rtol=1e-6)
