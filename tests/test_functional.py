"""functional: log_softmax, softmax, cross_entropy, accuracy.

Exact values on small cases, dlogits against central differences in float64, and
hypothesis properties (rows sum to 1, shift invariance, extreme and zero logits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_mnist.core.functional import (
    accuracy,
    confusion_matrix,
    cross_entropy,
    init_std,
    log_softmax,
    softmax,
)

PROPS = settings(max_examples=60, deadline=None)


@st.composite
def logits_and_labels(draw, lo, hi, dtype=np.float64, max_n=8, max_c=12, min_c=2):
    """(logits (N, C) with entries in [lo, hi], labels (N,) in 0..C-1)."""
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(min_c, max_c))
    width = 32 if dtype == np.float32 else 64
    z = draw(hnp.arrays(dtype, (n, c), elements=st.floats(lo, hi, width=width)))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return z, y


def naive_loss(z: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula, no stabilisation: -mean log(exp(z_y) / sum exp(z))."""
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to the larger of the two arrays' largest entries."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def numeric_dlogits(z: np.ndarray, y: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of the cross-entropy loss with respect to each logit."""
    grad = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        grad[idx] = (cross_entropy(zp, y)[0] - cross_entropy(zm, y)[0]) / (2 * h)
    return grad


# ---- exact values -----------------------------------------------------------------------------


def test_known_values():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    e = np.exp([1.0, 2.0, 3.0])
    expected_p0 = e / e.sum()
    np.testing.assert_allclose(softmax(z)[0], expected_p0, rtol=1e-14)
    np.testing.assert_allclose(softmax(z)[1], [1 / 3] * 3, rtol=1e-14)
    np.testing.assert_allclose(log_softmax(z)[0], np.log(expected_p0), rtol=1e-14)
    loss, d = cross_entropy(z, y)
    assert loss == pytest.approx(-(np.log(expected_p0[2]) + np.log(1 / 3)) / 2, rel=1e-14)
    expected_d = np.array([expected_p0 - [0, 0, 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2
    np.testing.assert_allclose(d, expected_d, rtol=1e-13, atol=1e-16)


def test_zero_logits_give_log_10():
    loss, d = cross_entropy(np.zeros((4, 10)), np.array([0, 3, 9, 3]))
    assert loss == pytest.approx(math.log(10), rel=1e-15)
    assert d[0, 0] == pytest.approx((0.1 - 1) / 4)
    assert d[0, 1] == pytest.approx(0.1 / 4)


def test_cross_entropy_leaves_logits_alone_and_keeps_dtype():
    for dtype in (np.float32, np.float64):
        z = np.random.default_rng(0).normal(size=(5, 4)).astype(dtype)
        before = z.copy()
        loss, d = cross_entropy(z, np.array([0, 1, 2, 3, 0]))
        assert np.array_equal(z, before)
        assert d.dtype == dtype and d.shape == z.shape
        assert isinstance(loss, float)
        assert log_softmax(z).dtype == dtype and softmax(z).dtype == dtype


def test_accuracy():
    z = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(z, np.array([1, 0, 1, 0])) == 1.0
    assert accuracy(z, np.array([1, 1, 1, 1])) == 0.5
    assert accuracy(z, np.array([0, 1, 0, 1])) == 0.0
    assert isinstance(accuracy(z, np.array([0, 1, 0, 1])), float)


# ---- gradient check -----------------------------------------------------------------------------


@pytest.mark.parametrize("n, c", [(1, 2), (1, 10), (3, 2), (7, 5), (16, 10)])
def test_dlogits_matches_central_differences(n, c):
    rng = np.random.default_rng(100 * n + c)
    z = rng.normal(0.0, 2.0, (n, c))
    y = rng.integers(0, c, n)
    _, d = cross_entropy(z, y)
    assert rel_error(d, numeric_dlogits(z, y)) < 1e-6


def test_gradient_check_catches_a_wrong_gradient():
    """The check above is not vacuous: a gradient off by 0.1 % (or missing /N) fails it."""
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    _, d = cross_entropy(z, y)
    num = numeric_dlogits(z, y)
    assert rel_error(d * 1.001, num) > 1e-6
    assert rel_error(d * 6, num) > 1e-6


# ---- properties -------------------------------------------------------------------------------


@PROPS
@given(logits_and_labels(-1e4, 1e4))
def test_softmax_rows_sum_to_one(zy):
    z, _ = zy
    p = softmax(z)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@PROPS
@given(logits_and_labels(-1e4, 1e4, dtype=np.float32))
def test_softmax_rows_sum_to_one_float32(zy):
    z, _ = zy
    np.testing.assert_allclose(softmax(z).sum(axis=1), 1.0, rtol=0, atol=1e-5)


@PROPS
@given(
    logits_and_labels(-100, 100),
    st.lists(st.floats(-1e3, 1e3), min_size=8, max_size=8),
)
def test_adding_a_constant_per_row_changes_nothing(zy, consts):
    z, y = zy
    shifted = z + np.array(consts[: len(z)])[:, None]
    np.testing.assert_allclose(log_softmax(shifted), log_softmax(z), rtol=0, atol=1e-9)
    np.testing.assert_allclose(softmax(shifted), softmax(z), rtol=0, atol=1e-12)
    loss_a, d_a = cross_entropy(z, y)
    loss_b, d_b = cross_entropy(shifted, y)
    assert loss_b == pytest.approx(loss_a, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(d_b, d_a, rtol=0, atol=1e-12)


@st.composite
def extreme_logits(draw):
    """float32 or float64 logits whose entries are +-1e4 or small, with labels."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, c = draw(st.integers(1, 8)), draw(st.integers(2, 12))
    entries = st.one_of(st.sampled_from([-1e4, 1e4]), st.floats(-10, 10))
    z = draw(hnp.arrays(dtype, (n, c), elements=entries))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return z, y


@PROPS
@given(extreme_logits())
def test_extreme_logits_give_finite_loss_and_gradient(zy):
    """Logits of +-1e4 (mixed with small ones): no overflow, no nan, gradient rows sum to 0."""
    z, y = zy
    loss, d = cross_entropy(z, y)
    assert math.isfinite(loss) and loss >= 0
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-6)
    assert np.all(np.isfinite(log_softmax(z)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plus_minus_1e4_exactly(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype)
    loss, d = cross_entropy(z, np.array([1, 2]))
    assert loss == pytest.approx(2e4 / 2, rel=1e-6)  # row 0 costs 2e4, row 1 costs 0
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(d, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


@PROPS
@given(st.integers(1, 20), st.integers(2, 30), st.data())
def test_zero_logits_give_log_c(n, c, data):
    y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        loss, d = cross_entropy(np.zeros((n, c), dtype=dtype), y)
        assert loss == pytest.approx(math.log(c), rel=tol)
        expected = np.full((n, c), 1 / c)
        expected[np.arange(n), y] -= 1
        np.testing.assert_allclose(d, expected / n, rtol=tol, atol=tol / n)


@PROPS
@given(logits_and_labels(-1e6, 1e6))
def test_log_softmax_is_never_positive(zy):
    z, _ = zy
    assert np.all(log_softmax(z) <= 0)
    # and its largest entry per row is -log(sum exp(shifted)), within [-log C, 0]
    top = log_softmax(z).max(axis=1)
    assert np.all(top >= -math.log(z.shape[1]) - 1e-12)


@PROPS
@given(logits_and_labels(-30, 30))
def test_loss_equals_naive_formula_on_moderate_logits(zy):
    z, y = zy
    assert cross_entropy(z, y)[0] == pytest.approx(naive_loss(z, y), rel=1e-10, abs=1e-12)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    m = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3)
    assert m.dtype == np.int64 and m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_init_std_is_the_courses_scale():
    assert init_std(784, 10) == math.sqrt(4 / 794)
