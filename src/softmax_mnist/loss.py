"""The course's import path ``softmax_mnist.loss``: its names live in course/loss.py."""

from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss

__all__ = ["SoftmaxCrossEntropyLoss"]
