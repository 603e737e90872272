"""Minibatch SGD with heavy-ball momentum: the update, written once.

    v <- mu v - lr (g + wd w)        w <- w + v
Nesterov:  w <- w + mu v - lr (g + wd w)   (look-ahead form, same v)
With mu = 0 the velocity is never kept and the step is exactly w <- w - lr g: the one rule
``keeps_velocity`` / ``new_velocity`` (the course's SGD, a stacked learner, a checkpoint's check).

``sgd_update`` is that step as a function of the arrays and the numbers, where each number
may be a scalar or one value per column (K stacked models, fit.py). The course's ``SGD``
object around it is in course/optimizer.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from softmax_mnist.errors import ConfigError, advice, is_real


def check_settings(learning_rate, momentum, nesterov, weight_decay) -> None:
    """Raise a one-line ConfigError for optimizer numbers that cannot train."""
    if not is_real(learning_rate) or learning_rate <= 0:
        raise ConfigError(f"learning rate must be a positive number, got {learning_rate!r}", setting="lr")
    if not is_real(momentum) or not 0 <= momentum < 1:
        raise ConfigError(f"momentum must be in [0, 1), got {momentum!r}", setting="momentum")
    if not isinstance(nesterov, bool):
        raise ConfigError(f"nesterov must be true or false, got {nesterov!r}", setting="nesterov")
    if not is_real(weight_decay) or weight_decay < 0:
        raise ConfigError(f"weight decay must be a number >= 0, got {weight_decay!r}", setting="weight_decay")
    if nesterov and momentum == 0:
        raise ConfigError(f"Nesterov needs a momentum above 0, e.g. {advice('momentum', 0.9)}",
                          setting="nesterov")


def keeps_velocity(momenta: Iterable) -> bool:
    """Whether an optimizer over these momenta keeps a velocity: only when one is set (a
    momentum of 0, or None, is plain SGD)."""
    return any(momenta)


def new_velocity(params: dict[str, np.ndarray], momenta: Iterable) -> dict[str, np.ndarray]:
    """A zero velocity like each of ``params`` when ``keeps_velocity(momenta)``, else none ({})."""
    return {k: np.zeros_like(v) for k, v in params.items()} if keeps_velocity(momenta) else {}


@dataclass(frozen=True)
class Setting:
    """The optimizer's numbers: what may differ between K models trained side by side. Built
    from numbers already validated (TrainConfig, the course's SGD: check_settings), so trusted."""

    lr: float
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0


def sgd_update(w, g, v, lr, mu=0.0, nesterov=False, wd=0.0) -> None:
    """One SGD step on ``w`` in place (and on the velocity ``v``, unused when mu is 0).

    ``lr``, ``mu``, ``wd`` and ``nesterov`` are scalars, or arrays that broadcast against w
    (one value per column, shape (1, K*C)); a model whose lr and mu are 0 stays where it is.
    """
    if _some(wd):
        g = g + wd * w
    if not _some(mu):
        w -= lr * g
        return
    v *= mu
    v -= lr * g
    if not _some(nesterov):
        w += v
    elif isinstance(nesterov, np.ndarray) and not nesterov.all():  # some columns heavy ball
        w += np.where(nesterov, mu * v - lr * g, v)
    else:
        w += mu * v - lr * g


def _some(x) -> bool:
    """Any nonzero value, of a scalar or of an array (cheaper than np.any on a scalar)."""
    return bool(x.any()) if isinstance(x, np.ndarray) else bool(x)
