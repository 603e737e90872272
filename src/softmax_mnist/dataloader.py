"""The course's import path ``softmax_mnist.dataloader``: its names live in course/dataloader.py."""

from softmax_mnist.course.dataloader import DataLoader, Dataset, build_dataloader

__all__ = ["DataLoader", "Dataset", "build_dataloader"]
