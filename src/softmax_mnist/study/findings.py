"""What the study's numbers show, before anything is said about them: the noise rule on two
settings (results.compare), on paired epoch times, the fit of a step's time to the batch size,
the most frequent confusions. Pure functions from numbers to small values, in no language;
discussion.py phrases what they find."""

from __future__ import annotations

import math
import statistics

import numpy as np

from softmax_mnist.study.results import Summary, beyond, compare

TIME_FLOOR = 0.10  # on a shared machine, time differences under 10% are not resolved


def gap(a: Summary, b: Summary, n_eval: int) -> tuple[float, float, bool]:
    """(b's mean validation accuracy minus a's, the rule's noise bound, whether the rule finds
    them apart): results.compare, paired by seed and by image."""
    c = compare(a, b, n_eval)
    return c.gain, c.noise, c.real


def time_ratio(a: dict, b: dict) -> tuple[float, float, bool]:
    """How much longer b's epochs take than a's (a fraction), the noise bound, and whether
    the difference is real: the noise rule on paired rounds.

    The epochs were interleaved, so round r of a and of b ran side by side: each round gives
    one paired difference b_r / a_r − 1. The rule: beyond two standard errors of their mean,
    the same sign in every round, and (a shared machine) at least TIME_FLOOR."""
    if a.get("times") and b.get("times") and len(a["times"]) == len(b["times"]):
        ratios = [y / x - 1 for x, y in zip(a["times"], b["times"])]
        mean = statistics.fmean(ratios)
        se = statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else math.inf
        return mean, max(TIME_FLOOR, 2 * se), beyond(mean, se, ratios) and abs(mean) >= TIME_FLOOR
    spread = max((x["q3"] - x["q1"]) / x["median"] for x in (a, b))
    rel = (b["median"] - a["median"]) / a["median"]
    tol = max(TIME_FLOOR, spread)
    return rel, tol, abs(rel) > tol


def step_fit(epoch: dict, n_train: int) -> tuple[float, float] | None:
    """The time of one training step t(B) = a + c B fitted over the batch sizes timed
    (``epoch``: batch -> {"median": seconds per epoch}): (a, c) in microseconds, the part of a
    step that does not grow with the batch and the cost per image. None for fewer than 5
    (a quick study's four sizes give too loose a line to speak of)."""
    sizes = sorted(epoch)
    if len(sizes) < 5:
        return None
    per_step = [epoch[b]["median"] / math.ceil(n_train / b) * 1e6 for b in sizes]
    per_image, fixed = np.polyfit(np.array(sizes, dtype=np.float64), np.array(per_step), 1)
    return float(fixed), float(per_image)


def confusions(cm, k: int = 3) -> list[tuple[int, int, int]]:
    """The ``k`` most frequent confusions of a confusion matrix: (true, predicted, count)."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    return [(int(i // off.shape[1]), int(i % off.shape[1]), int(off.flat[i])) for i in order
            if off.flat[i] > 0]
