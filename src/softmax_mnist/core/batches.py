"""Minibatches: one seeded permutation per epoch, batches gathered by fancy indexing.

Any batch size from 1 to N works; the last, smaller batch is kept (the course's
loader crashes when the batch size does not divide N). The course's Dataset, DataLoader
and build_dataloader over these are in course/dataloader.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from softmax_mnist.errors import ConfigError


def check_batch_size(batch_size: int, n: int) -> None:
    if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n:
        raise ConfigError(f"batch size must be a whole number from 1 to {n:,}, got {batch_size}")


def iterate_minibatches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    first_batch: int = 0,
    reuse: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (x_batch, y_batch); shuffled with ``rng``, in order when ``rng`` is None.

    ``first_batch``: skip the batches before it (resuming mid-epoch; the shuffle is the same).
    ``reuse``: gather every shuffled batch into the same two buffers (a training loop that is
    done with a batch before it asks for the next): no allocation, and np.take into a buffer
    copies large batches ~20% faster than fancy indexing.
    """
    n = len(x)
    check_batch_size(batch_size, n)
    if rng is None:
        for start in range(first_batch * batch_size, n, batch_size):  # views, no copy
            yield x[start : start + batch_size], y[start : start + batch_size]
        return
    order = rng.permutation(n)
    if reuse:
        xbuf = np.empty((batch_size, *x.shape[1:]), dtype=x.dtype)
        ybuf = np.empty((batch_size, *y.shape[1:]), dtype=y.dtype)
    for start in range(first_batch * batch_size, n, batch_size):
        idx = order[start : start + batch_size]
        if reuse:  # mode="clip" skips the bounds check (a permutation is in range) and is faster
            k = len(idx)
            yield (np.take(x, idx, axis=0, out=xbuf[:k], mode="clip"),
                   np.take(y, idx, axis=0, out=ybuf[:k], mode="clip"))
        else:
            yield x[idx], y[idx]


def num_batches(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def batch_lengths(n: int, batch_size: int) -> np.ndarray:
    """The length of each batch of an epoch, float64: all ``batch_size`` but maybe the last."""
    sizes = np.full(num_batches(n, batch_size), batch_size, dtype=np.float64)
    sizes[-1] = n - batch_size * (len(sizes) - 1)
    return sizes
