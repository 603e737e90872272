"""SoftmaxRegression: shapes, init, forward/predict, and the analytic gradient of the whole
model + cross-entropy against central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_mnist.core.functional import cross_entropy, softmax
from softmax_mnist.core.model import SoftmaxRegression


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to the larger of the two arrays' largest entries."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def loss_of(model: SoftmaxRegression, X: np.ndarray, y: np.ndarray) -> float:
    return cross_entropy(model.forward(X), y)[0]


def numeric_grads(model: SoftmaxRegression, X, y, h: float = 1e-5) -> dict[str, np.ndarray]:
    """Central differences of the loss with respect to every entry of W and b."""
    out = {}
    for key, w in model.params.items():
        g = np.zeros_like(w)
        for idx in np.ndindex(*w.shape):
            old = w[idx]
            w[idx] = old + h
            up = loss_of(model, X, y)
            w[idx] = old - h
            down = loss_of(model, X, y)
            w[idx] = old
            g[idx] = (up - down) / (2 * h)
        out[key] = g
    return out


def analytic_grads(model: SoftmaxRegression, X, y) -> dict[str, np.ndarray]:
    _, dlogits = cross_entropy(model.forward(X), y)
    model.backward(dlogits)
    return {k: v.copy() for k, v in model.grads.items()}


SHAPES = [(1, 3, 2), (1, 7, 10), (2, 5, 2), (7, 4, 3), (16, 12, 10), (33, 6, 7), (5, 1, 4)]


@pytest.mark.parametrize("n, d, c", SHAPES)
def test_gradient_check(n, d, c):
    rng = np.random.default_rng(1000 * n + 10 * d + c)
    model = SoftmaxRegression(d, c, rng=rng, dtype=np.float64)
    X = rng.normal(0.0, 1.5, (n, d))
    y = rng.integers(0, c, n)
    analytic = analytic_grads(model, X, y)
    numeric = numeric_grads(model, X, y)
    assert analytic["W"].shape == (d, c) and analytic["b"].shape == (1, c)
    assert rel_error(analytic["W"], numeric["W"]) < 1e-6
    assert rel_error(analytic["b"], numeric["b"]) < 1e-6


def test_gradient_check_detects_a_broken_backward():
    """A backward that forgets the 1/N (or the bias sum) would be caught by the check."""
    rng = np.random.default_rng(3)
    model = SoftmaxRegression(4, 3, rng=rng, dtype=np.float64)
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    numeric = numeric_grads(model, X, y)
    analytic = analytic_grads(model, X, y)
    assert rel_error(analytic["W"] * 5, numeric["W"]) > 1e-6
    assert rel_error(analytic["b"] / 5, numeric["b"]) > 1e-6


def test_backward_matches_the_closed_form():
    rng = np.random.default_rng(4)
    model = SoftmaxRegression(6, 4, rng=rng, dtype=np.float64)
    X, y = rng.normal(size=(9, 6)), rng.integers(0, 4, 9)
    grads = analytic_grads(model, X, y)
    delta = softmax(X @ model.W + model.b)
    delta[np.arange(9), y] -= 1
    delta /= 9
    np.testing.assert_allclose(grads["W"], X.T @ delta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads["b"], delta.sum(axis=0, keepdims=True), rtol=1e-12, atol=1e-15)


def test_shapes_and_dtypes():
    model = SoftmaxRegression()
    assert model.W.shape == (784, 10) and model.b.shape == (1, 10)
    assert model.W.dtype == np.float32 and model.b.dtype == np.float32
    assert set(model.params) == set(model.grads) == {"W", "b"}
    for k in model.params:
        assert model.grads[k].shape == model.params[k].shape
        assert model.grads[k].dtype == model.params[k].dtype
    m64 = SoftmaxRegression(5, 3, dtype=np.float64)
    assert m64.W.dtype == np.float64 and m64.grads["W"].dtype == np.float64


def test_float32_training_step_stays_float32():
    rng = np.random.default_rng(5)
    model = SoftmaxRegression(8, 3, rng=rng)
    X = rng.normal(size=(4, 8)).astype(np.float32)
    logits = model.forward(X)
    assert logits.dtype == np.float32
    _, d = cross_entropy(logits, np.array([0, 1, 2, 0]))
    model.backward(d)
    assert model.grads["W"].dtype == np.float32 and model.grads["b"].dtype == np.float32


def test_init_follows_the_course():
    """W and b ~ Normal(0, sqrt(4 / (D + C))), seeded."""
    model = SoftmaxRegression(784, 10, rng=np.random.default_rng(0))
    std = np.sqrt(4 / 794)
    assert model.W.std() == pytest.approx(std, rel=0.02)
    assert abs(model.W.mean()) < 0.1 * std
    assert np.all(np.abs(model.b) < 5 * std)
    again = SoftmaxRegression(784, 10, rng=np.random.default_rng(0))
    assert np.array_equal(model.W, again.W) and np.array_equal(model.b, again.b)
    other = SoftmaxRegression(784, 10, rng=np.random.default_rng(1))
    assert not np.array_equal(model.W, other.W)
    assert np.array_equal(SoftmaxRegression().W, SoftmaxRegression().W)  # rng=None is seeded too


def test_forward_predict_and_predict_proba():
    rng = np.random.default_rng(6)
    model = SoftmaxRegression(5, 4, rng=rng, dtype=np.float64)
    X = rng.normal(size=(11, 5))
    logits = model.forward(X)
    np.testing.assert_allclose(logits, X @ model.W + model.b, rtol=1e-14)
    assert not np.shares_memory(logits, model.b) and not np.shares_memory(logits, model.W)
    assert np.array_equal(model.predict(X), logits.argmax(axis=1))
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(proba, softmax(logits), rtol=1e-14)
    b_before = model.b.copy()
    model.forward(X)
    assert np.array_equal(model.b, b_before)  # the in-place "+= b" must not touch b
