"""Training time, measured so that a comparison holds on a shared, noisy machine.

``epoch_times``: every compared setting trains one epoch in turn, round after round (the
order rotating each round), after a warm-up round that is not counted; so a slow spell of the
machine hits all of them, and the median over rounds ignores the odd stalled epoch.
``step_cost``: the optimizer's update alone (no data, no products), timed the same way in
blocks of calls: what momentum adds to one step.

These are the only times the study reports: runs trained side by side in a stacked pass
have no time of their own.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES, Splits
from softmax_mnist.core.fit import fit
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.optimizer import new_velocity
from softmax_mnist.course.optimizer import SGD
from softmax_mnist.errors import DivergenceError, Interrupted

ROUNDS = 7
WARMUP = 1


def _spread(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return {"times": times, "median": statistics.median(times), "q1": q[0], "q3": q[2]}


def epoch_times(configs: dict[str, TrainConfig], data: Splits, rounds: int = ROUNDS,
                warmup: int = WARMUP, stop=None) -> dict:
    """{name: {"times": [s per round], "median", "q1", "q3"}}: seconds of one training epoch
    (no validation pass) of each config, interleaved round by round. A config that diverges
    (its epochs here run on past the study's, without decay) is left out of the answer.
    ``stop()`` true (Ctrl+C) ends the timing with Interrupted, between two epochs."""
    state = {}
    train_only = replace(data, x_val=data.x_val[:0], y_val=data.y_val[:0])
    for name, c in configs.items():
        rng = np.random.default_rng(c.seed)
        model = SoftmaxRegression(data.x_train.shape[1], NUM_CLASSES, rng=rng)
        velocity = new_velocity(model.params, [c.momentum])
        state[name] = (model, rng, velocity, replace(c, epochs=1, lr_decay="none"))
    names = list(configs)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:  # rotate, so no setting always runs first
            if stop is not None and stop():
                raise Interrupted("stopped while timing the epochs")
            model, rng, velocity, c = state[name]
            start = time.perf_counter()
            try:
                fit(c, train_only, model=model, rng=rng, velocity=velocity)  # one more epoch of it
            except DivergenceError:
                names.remove(name)
                del times[name]
                continue
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {n: _spread(t) for n, t in times.items()}


def step_cost(settings: dict[str, dict], shape=(NUM_FEATURES, NUM_CLASSES), calls: int = 200,
              blocks: int = 15) -> dict:
    """{name: {"median", "q1", "q3"} in microseconds}: one ``SGD.step`` on a (D, C) model
    with each setting (``{"momentum": 0.9, "nesterov": True}``), blocks interleaved."""
    rng = np.random.default_rng(0)
    opts = {}
    for name, s in settings.items():
        model = SoftmaxRegression(*shape, rng=rng)
        for g in model.grads.values():
            g[...] = rng.normal(0, 1e-3, g.shape)
        opts[name] = SGD(model, 0.01, **s)
    per_call: dict[str, list[float]] = {n: [] for n in opts}
    with threadpool_limits(1, user_api="blas"):
        for b in range(blocks + 1):
            for name, opt in opts.items():
                start = time.perf_counter()
                for _ in range(calls):
                    opt.step()
                if b:  # block 0 warms up
                    per_call[name].append((time.perf_counter() - start) / calls * 1e6)
    return {n: {k: v for k, v in _spread(t).items() if k != "times"} for n, t in per_call.items()}
