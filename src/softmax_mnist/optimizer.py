"""The course's import path ``softmax_mnist.optimizer``: its names live in course/optimizer.py."""

from softmax_mnist.course.optimizer import SGD

__all__ = ["SGD"]
