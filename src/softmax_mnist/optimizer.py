"""Minibatch SGD with heavy-ball momentum, as the course writes it.

    v <- mu v - lr (g + wd w)        w <- w + v
Nesterov:  w <- w + mu v - lr (g + wd w)   (look-ahead form, same v)
With mu = 0 the velocity is never kept and the step is exactly w <- w - lr g.
"""

from __future__ import annotations

import numpy as np

from softmax_mnist.errors import ConfigError


def check_settings(learning_rate, momentum, nesterov, weight_decay) -> None:
    """Raise a one-line ConfigError for optimizer numbers that cannot train."""
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ConfigError(f"learning rate must be a positive number, got {learning_rate}")
    if not 0.0 <= momentum < 1.0:
        raise ConfigError(f"momentum must be in [0, 1), got {momentum}")
    if not np.isfinite(weight_decay) or weight_decay < 0:
        raise ConfigError(f"weight decay must be a finite number >= 0, got {weight_decay}")
    if nesterov and momentum == 0:
        raise ConfigError("Nesterov needs a momentum above 0, e.g. --momentum 0.9")


class SGD:
    """SGD over any object with ``params`` and ``grads`` dicts (same keys, arrays updated in place).

    ``SGD(model, learning_rate, momentum)`` is also the course's signature.
    Weight decay (L2) applies to every parameter except those named in ``no_decay``.
    """

    def __init__(
        self,
        model,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        no_decay: tuple[str, ...] = ("b",),
    ):
        check_settings(learning_rate, momentum, nesterov, weight_decay)
        self.model = model
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = nesterov
        self.weight_decay = float(weight_decay)
        self.no_decay = set(no_decay)
        self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()} if momentum else {}

    # read from the model at every step, so a layer frozen later (trainable=False) stays frozen
    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.model.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.model.grads

    def step(self) -> None:
        """Update every parameter in place from its gradient."""
        lr, mu = self.learning_rate, self.momentum
        for key, w in self.params.items():
            g = self.grads[key]
            if self.weight_decay and key not in self.no_decay:
                g = g + self.weight_decay * w
            if not mu:
                w -= lr * g
                continue
            v = self.velocity.get(key)
            if v is None:  # a parameter unfrozen after the optimizer was made
                v = self.velocity[key] = np.zeros_like(w)
            v *= mu
            v -= lr * g
            if self.nesterov:
                w += mu * v - lr * g
            else:
                w += v

    def state_dict(self) -> dict[str, np.ndarray]:
        """Optimizer state (the velocities), for checkpoints."""
        return {f"velocity_{k}": v for k, v in self.velocity.items()}
