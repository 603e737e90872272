"""Course API: ``Dataset``, ``DataLoader`` and ``build_dataloader``, the course's names over
the core's minibatches (core/batches.py) and its one train/validation split (core/data.py)."""

from __future__ import annotations

import os

import numpy as np

from softmax_mnist.core.batches import check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.core.data import NUM_CLASSES, load_raw, preprocess, split_at
from softmax_mnist.errors import ConfigError


class Dataset:
    """Course API: ``Dataset(data_root, mode)`` with mode 'train' (first 55,000), 'val'
    (last 5,000) or 'test' (10,000); images preprocessed the course's way, labels int."""

    def __init__(self, data_root: str | os.PathLike | None, mode: str = "train"):
        if mode not in ("train", "val", "test"):
            raise ConfigError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
        images, labels = load_raw(data_root, "t10k" if mode == "test" else "train")
        cut = split_at(len(images)) if mode != "test" else 0
        part = {"train": slice(0, cut), "val": slice(cut, None), "test": slice(None)}[mode]
        self.images = preprocess(images[part], "course")
        self.labels = labels[part]
        self.num_classes = NUM_CLASSES

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


class DataLoader:
    """Course API: iterating it yields one epoch of (images (B, 784), labels (B,)) batches."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0):
        check_batch_size(batch_size, len(dataset))
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        return iterate_minibatches(
            self.dataset.images, self.dataset.labels, self.batch_size,
            self.rng if self.shuffle else None,
        )

    def __len__(self) -> int:
        return num_batches(len(self.dataset), self.batch_size)


def build_dataloader(data_root, max_epoch, batch_size, shuffle=False, mode="train", seed=0):
    """Course API. ``max_epoch`` is accepted for compatibility; each ``iter()`` is one epoch."""
    return DataLoader(Dataset(data_root, mode), batch_size, shuffle, seed)
