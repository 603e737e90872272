"""The course's import path ``softmax_mnist.solver``: its names live in course/solver.py."""

from softmax_mnist.course.solver import Solver

__all__ = ["Solver"]
