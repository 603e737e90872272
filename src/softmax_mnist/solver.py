"""Training and evaluation: ``fit`` runs minibatch SGD and returns a History.

The test split is never touched here during training; ``evaluate`` on it is the
caller's explicit choice (``Solver.test()`` in the course API).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from softmax_mnist.dataloader import check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.datasets import PREPROCESS_MODES, load_splits
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.functional import accuracy, cross_entropy
from softmax_mnist.loss import SoftmaxCrossEntropyLoss
from softmax_mnist.model import SoftmaxRegression
from softmax_mnist.optimizer import SGD


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run; validated on creation, written next to the results."""

    epochs: int = 10
    batch_size: int = 100
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    preprocess: str = "course"
    val_size: int = 5000
    seed: int = 0

    def __post_init__(self):
        def need(ok: bool, what: str):
            if not ok:
                raise ConfigError(what)

        need(isinstance(self.epochs, int) and self.epochs >= 1,
             f"epochs must be a whole number >= 1, got {self.epochs!r}")
        need(isinstance(self.batch_size, int) and self.batch_size >= 1,
             f"batch size must be a whole number >= 1, got {self.batch_size!r}")
        need(isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0,
             f"learning rate must be a positive number, got {self.lr!r}")
        need(isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1,
             f"momentum must be in [0, 1), got {self.momentum!r}")
        need(not self.nesterov or self.momentum > 0,
             "Nesterov needs a momentum above 0, e.g. --momentum 0.9")
        need(isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0,
             f"weight decay must be >= 0, got {self.weight_decay!r}")
        need(self.preprocess in PREPROCESS_MODES,
             f"preprocess must be one of {', '.join(PREPROCESS_MODES)}, got {self.preprocess!r}")
        need(isinstance(self.val_size, int) and 0 <= self.val_size < 60000,
             f"validation size must be a whole number in 0..59999, got {self.val_size!r}")
        need(isinstance(self.seed, int) and self.seed >= 0,
             f"seed must be a whole number >= 0, got {self.seed!r}")

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """What training measured: per iteration, and per epoch (train, validation, seconds)."""

    iter_loss: list[float] = field(default_factory=list)
    iter_acc: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)

    def epoch_rows(self) -> list[dict]:
        """One dict per epoch, for history.csv."""
        rows = []
        for e in range(len(self.train_loss)):
            rows.append({
                "epoch": e + 1,
                "train_loss": self.train_loss[e],
                "train_acc": self.train_acc[e],
                "val_loss": self.val_loss[e] if self.val_loss else float("nan"),
                "val_acc": self.val_acc[e] if self.val_acc else float("nan"),
                "seconds": self.epoch_time[e],
            })
        return rows


def evaluate(model: SoftmaxRegression, x: np.ndarray, y: np.ndarray, chunk: int = 10000):
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in chunks to bound memory."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), chunk):
        logits = x[start : start + chunk] @ model.params["W"] + model.params["b"]
        yb = y[start : start + chunk]
        loss, _ = cross_entropy(logits, yb)
        total_loss += loss * len(yb)
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(x), correct / len(x)


def fit(
    model: SoftmaxRegression,
    optimizer: SGD,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 100,
    rng: np.random.Generator | None = None,
    log: Callable[[str], None] | None = None,
    display_freq: int = 0,
) -> History:
    """Train ``model`` with ``optimizer`` for ``epochs`` passes over shuffled minibatches.

    ``log`` gets a line per epoch (and every ``display_freq`` iterations when > 0).
    Raises DivergenceError as soon as the loss is not finite.
    """
    check_batch_size(batch_size, len(x_train))
    rng = np.random.default_rng(0) if rng is None else rng
    hist = History()
    n_iter = num_batches(len(x_train), batch_size)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        losses = np.empty(n_iter)
        accs = np.empty(n_iter)
        for it, (xb, yb) in enumerate(iterate_minibatches(x_train, y_train, batch_size, rng)):
            logits = model.forward(xb)
            accs[it] = accuracy(logits, yb)
            losses[it], dlogits = cross_entropy(logits, yb)
            if not math.isfinite(losses[it]):
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, iteration {it + 1}: loss is "
                    f"{losses[it]} with learning rate {optimizer.learning_rate:g}; "
                    f"try a smaller one, e.g. --lr {optimizer.learning_rate / 10:g}"
                )
            model.backward(dlogits)
            optimizer.step()
            if log and display_freq and (it + 1) % display_freq == 0:
                log(f"epoch {epoch} iter {it + 1}/{n_iter}  loss {losses[it]:.4f}  acc {accs[it]:.4f}")
        hist.epoch_time.append(time.perf_counter() - start)
        hist.iter_loss.extend(losses.tolist())
        hist.iter_acc.extend(accs.tolist())
        # weight each batch by its size so a smaller last batch counts for what it is
        sizes = np.full(n_iter, batch_size, dtype=np.float64)
        sizes[-1] = len(x_train) - batch_size * (n_iter - 1)
        hist.train_loss.append(float(np.average(losses, weights=sizes)))
        hist.train_acc.append(float(np.average(accs, weights=sizes)))
        line = (f"epoch {epoch}/{epochs}  train loss {hist.train_loss[-1]:.4f}  "
                f"acc {hist.train_acc[-1]:.4f}")
        if x_val is not None and len(x_val):
            vl, va = evaluate(model, x_val, y_val)
            hist.val_loss.append(vl)
            hist.val_acc.append(va)
            line += f"  val loss {vl:.4f}  acc {va:.4f}"
        if log:
            log(f"{line}  {hist.epoch_time[-1]:.2f}s")
    return hist


# ---- the course's Solver --------------------------------------------------------------------

COURSE_KEYS = ("data_root", "max_epoch", "batch_size", "learning_rate", "momentum", "display_freq")


class Solver:
    """Course API: ``Solver(cfg)``; ``train() -> (epoch_losses, epoch_accs)``; ``test() -> (loss, acc)``.

    cfg keys: data_root, max_epoch, batch_size, learning_rate, momentum, display_freq
    (optional: seed, default 0; verbose, default True).
    """

    def __init__(self, cfg: dict):
        missing = [k for k in COURSE_KEYS if k not in cfg]
        if missing:
            raise ConfigError(f"Solver cfg is missing {', '.join(missing)}")
        self.cfg = cfg
        self.config = TrainConfig(
            epochs=int(cfg["max_epoch"]), batch_size=int(cfg["batch_size"]),
            lr=float(cfg["learning_rate"]), momentum=float(cfg["momentum"]),
            seed=int(cfg.get("seed", 0)),
        )
        self.data = load_splits(cfg["data_root"], 5000, "course")
        self.rng = np.random.default_rng(self.config.seed)
        self.model = SoftmaxCrossEntropyLoss(784, 10, rng=self.rng)
        self.optimizer = SGD(self.model, self.config.lr, self.config.momentum)
        self.history: History | None = None

    def train(self):
        d = self.data
        self.history = fit(
            self.model.core, self.optimizer, d.x_train, d.y_train, d.x_val, d.y_val,
            epochs=self.config.epochs, batch_size=self.config.batch_size, rng=self.rng,
            log=print if self.cfg.get("verbose", True) else None,
            display_freq=int(self.cfg["display_freq"] or 0),
        )
        return self.history.train_loss, self.history.train_acc

    def test(self):
        return evaluate(self.model.core, self.data.x_test, self.data.y_test)
