"""The rest of the course's SoftmaxCrossEntropyLoss: num_input, num_output, onehot_labels and
XavierInit, as the course's loss.py has them, over the same core."""

from __future__ import annotations

import numpy as np

from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss


def test_sizes_are_the_constructor_arguments():
    layer = SoftmaxCrossEntropyLoss(784, 10)
    assert (layer.num_input, layer.num_output) == (784, 10)
    assert layer.W.shape == (784, 10) and layer.b.shape == (1, 10)


def test_onehot_labels_marks_each_row_at_its_label():
    layer = SoftmaxCrossEntropyLoss(5, 4)
    onehot = layer.onehot_labels(np.array([3, 0, 1, 3]))
    np.testing.assert_array_equal(onehot, np.eye(4, dtype=np.float32)[[3, 0, 1, 3]])
    assert onehot.dtype == np.float32
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    labels = np.array([3, 0, 1, 3])
    assert layer.forward(x, onehot) == layer.forward(x, labels)  # the course passes either


def test_xavier_init_draws_new_weights_in_place_at_the_course_scale():
    layer = SoftmaxCrossEntropyLoss(784, 10, rng=np.random.default_rng(1))
    W, b = layer.W, layer.b
    before = W.copy()
    layer.XavierInit()
    assert layer.W is W and layer.b is b  # in place: an SGD made before keeps training them
    assert not np.array_equal(layer.W, before)
    std = np.sqrt(2.0 / (784 + 10)) * np.sqrt(2.0)
    # 7,840 draws: the sample std within 5 and the mean within 4 standard errors
    assert abs(layer.W.std() - std) < 0.04 * std and abs(layer.W.mean()) < 0.05 * std
