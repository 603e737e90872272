"""Course API: ``SGD(model, learning_rate, momentum).step()``, the course's optimizer object
over the core's one update (core/optimizer.sgd_update)."""

from __future__ import annotations

import numpy as np

from softmax_mnist.core.optimizer import check_settings, keeps_velocity, new_velocity, sgd_update


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
        self.velocity = new_velocity(self.params, [momentum])

    # read from the model at every step, so a layer frozen later (trainable=False) stays frozen
    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.model.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.model.grads

    def step(self) -> None:
        """Update every parameter in place from its gradient."""
        for key, w in self.params.items():
            v = self.velocity.get(key)
            if v is None and keeps_velocity([self.momentum]):  # a parameter unfrozen later
                v = self.velocity[key] = np.zeros_like(w)
            sgd_update(w, self.grads[key], v, self.learning_rate, self.momentum, self.nesterov,
                       0.0 if key in self.no_decay else self.weight_decay)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Optimizer state (the velocities), for checkpoints."""
        return {f"velocity_{k}": v for k, v in self.velocity.items()}
