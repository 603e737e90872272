"""This package's runs: one model, or K settings side by side, trained by the one loop.

    fit(config, data)            one run: its model and History (DivergenceError if it runs away)
    fit_stacked(configs, data)   K runs that differ only in their optimizer numbers, in one pass

Runs that share the data, the batch size, the epochs and the seed start from the same weights
and see the same batches in the same order, so K of them train as one model with K*C columns
(model.py): one (N, K*C) product per batch instead of K (N, C) ones, the cross-entropy over
(N, K, C) (functional.py), and one update with per-column numbers (optimizer.sgd_update).
``Stack`` is that learner (learner.Learner) for loop.train; one run is the case K = 1 of the
same code. Enough work is split in two halves of the settings (twocores.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.core import twocores
from softmax_mnist.core.data import NUM_CLASSES
from softmax_mnist.core.functional import correct, cross_entropy
from softmax_mnist.core.learner import Learner
from softmax_mnist.core.loop import History, Hooks, TrainState, all_finite, evaluate, train
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.optimizer import Setting, new_velocity, sgd_update
from softmax_mnist.errors import ConfigError, DivergenceError


@dataclass
class Result:
    """One setting's outcome: its model and History, or the reason it diverged."""

    setting: Setting
    model: SoftmaxRegression
    history: History
    diverged: str | None = None


def setting_of(config) -> Setting:
    return Setting(config.lr, config.momentum, config.nesterov, config.weight_decay)


def schedule_of(config) -> Callable[[float, int], float]:
    """The learning rate of epoch e (1 .. E) from the base rate: ``config.lr_decay`` "linear"
    scales it by (E - e + 1) / E (the full rate first, 1/E of it last), "none" keeps it."""
    epochs = config.epochs
    if config.lr_decay == "linear":
        return lambda lr, epoch: lr * (epochs - epoch + 1) / epochs
    return lambda lr, epoch: lr


class Stack(Learner):
    """K models side by side as one SoftmaxRegression (``copies=K``), with each model's
    optimizer numbers spread over its C columns; ``step`` trains all K on one minibatch.
    This is the learner ``train`` drives for this package's runs (K = 1 for one run)."""

    def __init__(self, model: SoftmaxRegression, settings: Sequence[Setting], schedule,
                 batch_size: int, x_dtype, velocity: dict | None = None):
        self.model, self.settings, self.schedule = model, list(settings), schedule
        self.size, self.num_classes = len(self.settings), model.num_classes
        if model.copies != self.size:
            raise ConfigError(f"a model of {model.copies} copies for {self.size} settings")
        if velocity is None:
            velocity = new_velocity(model.params, [s.momentum for s in self.settings])
        self.velocity = velocity
        self.live = np.ones(self.size, dtype=bool)
        W = model.params["W"]
        # one logits buffer for all batches: forward writes into it and cross_entropy turns it
        # into dlogits in place, so no (batch, K*C) array is allocated per step
        self.buf = np.empty((batch_size, W.shape[1]), dtype=np.result_type(x_dtype, W))
        self.start_epoch(1)

    def _per_column(self, values, dtype):
        """One value per setting (0 for a masked one): a scalar when all agree, else (1, K*C)."""
        values = [v if live else 0 for v, live in zip(values, self.live)]
        if all(v == values[0] for v in values):
            return values[0]
        return np.repeat(np.asarray(values, dtype=dtype), self.num_classes)[None, :]

    def start_epoch(self, epoch: int) -> None:
        S, dtype = self.settings, self.model.params["W"].dtype
        self.epoch = epoch
        self.lr = self._per_column([self.schedule(s.lr, epoch) for s in S], dtype)
        self.mu = self._per_column([s.momentum for s in S], dtype)
        self.wd = self._per_column([s.weight_decay for s in S], dtype)
        self.nesterov = self._per_column([s.nesterov for s in S], bool)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward, cross-entropy, backward and update of all K on one batch; their losses
        and accuracies (K,), floats for K = 1. A model whose loss is not finite gets no update,
        and is masked."""
        n, K, C = len(xb), self.size, self.num_classes
        logits = self.model.forward(xb, out=self.buf[:n])
        # a view: model k's logits are z[:, k, :]; one model keeps (N, C), and gets floats back
        z = logits if K == 1 else logits.reshape(n, K, C)
        top = logits.reshape(n * K, C).argmax(axis=1)  # once, for the accuracy and the row max
        accs = correct(z, yb, top) / n
        losses, dlogits = cross_entropy(z, yb, out=z, top=top)  # logits -> dlogits, in place
        if not all_finite(losses):
            bad = ~np.isfinite(np.atleast_1d(losses))
            dlogits.reshape(n, K, C)[:, bad, :] = 0  # no gradient from a runaway model
            self.drop(bad)
        self.model.backward(logits)
        for key, w in self.model.params.items():
            sgd_update(w, self.model.grads[key], self.velocity.get(key), self.lr, self.mu,
                       self.nesterov, 0.0 if key == "b" else self.wd)  # no decay on b
        return losses, accs

    def drop(self, mask: np.ndarray) -> None:
        """Mask the models in ``mask``: no more updates (lr, momentum and velocity 0)."""
        if not mask.any():
            return
        self.live &= ~mask
        C = self.num_classes
        for k in np.flatnonzero(mask):
            cols = slice(k * C, (k + 1) * C)
            for v in self.velocity.values():
                v[:, cols] = 0
            for w in self.model.params.values():  # 0 * NaN is NaN: frozen weights are finite
                w[:, cols] = np.nan_to_num(w[:, cols], nan=0.0, posinf=0.0, neginf=0.0)
        self.start_epoch(self.epoch)

    def evaluate(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        loss, acc = evaluate(self.model, x, y)
        return np.atleast_1d(loss), np.atleast_1d(acc)

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights and velocities, as views (for a checkpoint)."""
        return {**self.model.params, **{f"velocity_{k}": v for k, v in self.velocity.items()}}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        for key, target in self.arrays().items():
            target[...] = arrays[key]


STACK_FIELDS = ("epochs", "batch_size", "seed", "lr_decay")  # what K stacked runs must share


def fit_stacked(configs, data, hooks: Hooks | None = None, state: TrainState | None = None,
                processes: int | None = None, model: SoftmaxRegression | None = None,
                rng: np.random.Generator | None = None, velocity: dict | None = None,
                start: str | None = None) -> list[Result]:
    """Train one softmax regression per config, all in one pass over ``data``.

    The configs (validated TrainConfigs) may differ only in their optimizer numbers (lr,
    momentum, nesterov, weight_decay). Each result equals, to float32 rounding, ``fit`` of
    that config alone: the init is drawn from ``default_rng(seed)`` and the same generator then
    shuffles every epoch. Enough work is split into two halves of the settings (``halves``),
    trained side by side in two processes where that is faster on this machine (twocores;
    ``processes=1``: one after the other; ``processes=2``: two processes, started by ``start``,
    "fork" or "spawn", default the safe one here); the same bits either way. ``model``, ``rng``
    and ``velocity`` (one setting only): train these, in place, instead of a fresh init (the
    course's Solver and SGD).
    """
    configs = list(configs)
    if not configs:
        raise ConfigError("fit_stacked needs at least one setting")
    c0 = configs[0]
    for c in configs[1:]:
        for f in STACK_FIELDS:
            if getattr(c, f) != getattr(c0, f):
                raise ConfigError(f"stacked runs must share their {f}: {getattr(c0, f)!r} and "
                                  f"{getattr(c, f)!r}")
    if model is not None and len(configs) > 1:
        raise ConfigError("a given model trains one setting")
    parts = twocores.halves(len(configs), len(data.x_train) * c0.epochs)
    if len(parts) == 1:
        return fit_part(configs, data, hooks, state, model, rng, velocity)
    if processes == 1:
        method = None
    elif processes == 2 or start is not None:
        method = start or twocores.start_method()
    else:
        method = twocores.second_process(len(data.x_train) * c0.epochs, len(configs))
    return twocores.fit_halves(fit_part, configs, parts, data, hooks or Hooks(), state, method)


def fit_part(configs, data, hooks, state, model=None, rng=None, velocity=None) -> list[Result]:
    """fit_stacked's work in one process: all of ``configs`` as one Stack (a half's, when split)."""
    c0 = configs[0]
    settings = [setting_of(c) for c in configs]
    K, D = len(settings), data.x_train.shape[1]
    rng = np.random.default_rng(c0.seed) if rng is None else rng
    if model is None:
        model = SoftmaxRegression(D, NUM_CLASSES, rng=rng, copies=K)  # the init each would draw
    stack = Stack(model, settings, schedule_of(c0), c0.batch_size, data.x_train.dtype, velocity)
    # One BLAS thread: the products here are small (W is 784 x K*C), and waking a second
    # thread for each costs more than it saves; on a busy machine it stalled for a whole
    # scheduler time slice (12-16 ms per product at batch 1000, against 0.4 ms on one thread).
    with threadpool_limits(1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        hists, diverged = train(stack, data, c0.epochs, c0.batch_size, rng, hooks, state)
    models = [model] if K == 1 else [model.select(k, k + 1) for k in range(K)]
    return [Result(s, m, h, d) for s, m, h, d in zip(settings, models, hists, diverged)]


def fit(config, data, hooks: Hooks | None = None, state: TrainState | None = None,
        model: SoftmaxRegression | None = None, rng: np.random.Generator | None = None,
        velocity: dict | None = None) -> Result:
    """Train one run of ``config`` (a TrainConfig) on ``data``; its Result. Raises
    DivergenceError (with the History of the epochs before) when the run runs away."""
    r = fit_stacked([config], data, hooks, state, model=model, rng=rng, velocity=velocity)[0]
    if r.diverged:
        raise DivergenceError(r.diverged, history=r.history)
    return r
