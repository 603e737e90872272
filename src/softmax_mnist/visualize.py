"""The course's import path ``softmax_mnist.visualize``: its names live in course/visualize.py."""

from softmax_mnist.course.visualize import plot_loss_and_acc

__all__ = ["plot_loss_and_acc"]
