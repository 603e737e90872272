"""Central differences: the numerical gradient that analytic ones are checked against.

One helper for every gradient check in the package (the checker's check of a student's
loss.py, the report's check of the cross-entropy gradient):

    d f / d a[i]  ~  (f(a[i] + h) - f(a[i] - h)) / (2 h)

with an error of order h^2 from the formula and about eps * |f| / h from rounding, so the
arrays should be float64 (with h = 1e-5 the rounding part is near 1e-11 for a loss near 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def central_differences(f: Callable[[], float], entries: Iterable[tuple[np.ndarray, tuple]],
                        h: float = 1e-5) -> np.ndarray:
    """The central difference of the scalar ``f()`` at each ``(array, index)`` of ``entries``.

    ``f`` takes no arguments: it reads the arrays, which are changed in place one entry at a
    time (to a[i] + h, then a[i] - h) and given back their old value before the next entry.
    Returns one float64 number per entry, in order."""
    out = []
    for array, index in entries:
        old = array[index]
        array[index] = old + h
        up = f()
        array[index] = old - h
        down = f()
        array[index] = old
        out.append((up - down) / (2 * h))
    return np.array(out, dtype=np.float64)
