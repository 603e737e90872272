"""A student's course objects trained by the package's one loop (core.loop.train).

``CourseLearner`` is the learner that loop needs, made of the course's objects instead of a
SoftmaxRegression: the checker's train check runs the student's pair and the reference's side
by side on the same minibatches; ``study --impl`` trains one setting with the student's pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from softmax_mnist.core.data import NUM_CLASSES
from softmax_mnist.core.learner import Learner
from softmax_mnist.core.loop import evaluate


def first_float(value) -> float:
    """A loss or an accuracy as the course's forward may return it (a float, a 0-d or a
    one-element array) as a float."""
    return float(np.asarray(value).ravel()[0])


def loss_and_accuracy(out) -> tuple[float, float]:
    """forward's (loss, acc) as floats; an accuracy that is no number is NaN (the loop only
    averages it)."""
    loss, acc = out
    try:
        acc = first_float(acc)
    except (TypeError, ValueError, IndexError):
        acc = math.nan
    return first_float(loss), acc


def plain_call(what: str, fn, *args):
    return fn(*args)


class CourseLearner(Learner):
    """K pairs of course objects side by side for core.loop.train, one setting each.

    A pair is a loss object (the course's SoftmaxCrossEntropyLoss: ``forward(Input, labels) ->
    (loss, acc)``, ``gradient_computing()``, ``W``, ``b``) and its optimizer (the course's SGD:
    ``step()``, ``learning_rate``). ``step`` is the course's iteration for each pair in turn,
    each on its own copy of the batch (in ``dtype`` when given), so what one keeps or changes of
    its input reaches no other.

    ``settings``: core.optimizer.Setting per pair (the loop's divergence messages). ``schedule``:
    the learning rate of each epoch from the setting's (core.fit.schedule_of), set on the
    optimizer as ``learning_rate``; None leaves the optimizers alone. ``call(what, fn, *args)``
    makes every call into the objects (study --impl bounds them in time and names failures);
    ``pair(out)`` reads forward's answer as two floats. After a loss that is not finite a pair
    takes no gradient or update step, unless ``keep_going`` (the checker trains on to the end of
    the epoch, as the course's loop does); ``first_bad[k]`` is the iteration (from 1) of pair k's
    first loss that was not finite. The loop's ``drop`` masks nothing: the pairs train on.

    ``cores``: one SoftmaxRegression per pair, for ``copy_out`` (``copy(model, core)`` puts the
    pair's W and b in it) and ``evaluate``; needed only when the loop is given validation data.
    """

    num_classes = NUM_CLASSES

    def __init__(self, pairs: list[tuple], settings: list, schedule: Callable | None = None, *,
                 dtype=None, keep_going: bool = False, call: Callable = plain_call,
                 pair: Callable = loss_and_accuracy, cores: list | None = None,
                 copy: Callable | None = None):
        self.pairs, self.settings, self.schedule = pairs, settings, schedule
        self.size = len(pairs)
        self.dtype, self.keep_going, self.call, self.pair = dtype, keep_going, call, pair
        self.cores, self.copy = cores, copy
        self.steps = 0
        self.first_bad: list[int | None] = [None] * self.size

    def start_epoch(self, epoch: int) -> None:
        if self.schedule is not None:
            for (_, opt), setting in zip(self.pairs, self.settings):
                opt.learning_rate = self.schedule(setting.lr, epoch)

    def step(self, xb, yb):
        self.steps += 1
        losses, accs = np.empty(self.size), np.empty(self.size)
        for k, (model, opt) in enumerate(self.pairs):
            x = np.array(xb, dtype=self.dtype)  # a copy: theirs to keep or change
            losses[k], accs[k] = self.pair(self.call("forward", model.forward, x, yb))
            finite = math.isfinite(losses[k])
            if not finite and self.first_bad[k] is None:
                self.first_bad[k] = self.steps
            if finite or self.keep_going:
                self.call("gradient_computing", model.gradient_computing)
                self.call("step", opt.step)
        return losses, accs

    def drop(self, mask) -> None:
        """Nothing to mask: each pair trains on (one setting alone: the loop stops)."""

    def copy_out(self) -> None:
        for (model, _), core in zip(self.pairs, self.cores):
            self.copy(model, core)

    def evaluate(self, x, y):
        self.copy_out()
        found = [evaluate(core, x, y) for core in self.cores]
        return np.array([loss for loss, _ in found]), np.array([acc for _, acc in found])

    def arrays(self) -> dict:
        return {}  # the loop is given no checkpoint hook: course objects are not saved

    def load(self, arrays) -> None:
        """Nothing to load: never checkpointed, so never resumed."""
